package domain

import (
	"fmt"
	"strings"
)

// Enum types are structs around an unexported slug: the zero value is invalid (IsZero) and
// other packages can only use the declared values or Parse one. They marshal as their slug.

// EmploymentType is the kind of contract a job offers.
type EmploymentType struct{ slug string }

// Values of EmploymentType.
var (
	EmploymentTypeFullTime   = EmploymentType{"full_time"}
	EmploymentTypePartTime   = EmploymentType{"part_time"}
	EmploymentTypeContract   = EmploymentType{"contract"}
	EmploymentTypeInternship = EmploymentType{"internship"}
)

var employmentTypeValues = []EmploymentType{EmploymentTypeFullTime, EmploymentTypePartTime, EmploymentTypeContract, EmploymentTypeInternship}

// ParseEmploymentType returns the EmploymentType whose slug is s.
func ParseEmploymentType(s string) (EmploymentType, error) {
	for _, v := range employmentTypeValues {
		if v.slug == s {
			return v, nil
		}
	}
	return EmploymentType{}, fmt.Errorf("must be one of full_time, part_time, contract, internship")
}

// String returns the slug ("" for the zero value).
func (v EmploymentType) String() string { return v.slug }

// IsZero reports whether v is the invalid zero value.
func (v EmploymentType) IsZero() bool { return v.slug == "" }

// MarshalText refuses the zero value, which is never valid data.
func (v EmploymentType) MarshalText() ([]byte, error) {
	if v.IsZero() {
		return nil, fmt.Errorf("marshal zero EmploymentType")
	}
	return []byte(v.slug), nil
}

// UnmarshalText accepts the slugs only.
func (v *EmploymentType) UnmarshalText(b []byte) error {
	p, err := ParseEmploymentType(string(b))
	if err != nil {
		return fmt.Errorf("EmploymentType %q: %w", strings.TrimSpace(string(b)), err)
	}
	*v = p
	return nil
}

// Seniority is the level of experience a job asks for.
type Seniority struct{ slug string }

// Values of Seniority.
var (
	SeniorityJunior    = Seniority{"junior"}
	SeniorityMid       = Seniority{"mid"}
	SenioritySenior    = Seniority{"senior"}
	SeniorityLead      = Seniority{"lead"}
	SeniorityPrincipal = Seniority{"principal"}
)

var seniorityValues = []Seniority{SeniorityJunior, SeniorityMid, SenioritySenior, SeniorityLead, SeniorityPrincipal}

// SeniorityValues returns every valid Seniority.
func SeniorityValues() []Seniority { return append([]Seniority(nil), seniorityValues...) }

// ParseSeniority returns the Seniority whose slug is s.
func ParseSeniority(s string) (Seniority, error) {
	for _, v := range seniorityValues {
		if v.slug == s {
			return v, nil
		}
	}
	return Seniority{}, fmt.Errorf("must be one of junior, mid, senior, lead, principal")
}

// String returns the slug ("" for the zero value).
func (v Seniority) String() string { return v.slug }

// IsZero reports whether v is the invalid zero value.
func (v Seniority) IsZero() bool { return v.slug == "" }

// MarshalText refuses the zero value, which is never valid data.
func (v Seniority) MarshalText() ([]byte, error) {
	if v.IsZero() {
		return nil, fmt.Errorf("marshal zero Seniority")
	}
	return []byte(v.slug), nil
}

// UnmarshalText accepts the slugs only.
func (v *Seniority) UnmarshalText(b []byte) error {
	p, err := ParseSeniority(string(b))
	if err != nil {
		return fmt.Errorf("Seniority %q: %w", strings.TrimSpace(string(b)), err)
	}
	*v = p
	return nil
}

// SalaryPeriod is what a salary amount is paid for.
type SalaryPeriod struct{ slug string }

// Values of SalaryPeriod.
var (
	SalaryPeriodYear  = SalaryPeriod{"year"}
	SalaryPeriodMonth = SalaryPeriod{"month"}
	SalaryPeriodHour  = SalaryPeriod{"hour"}
)

var salaryPeriodValues = []SalaryPeriod{SalaryPeriodYear, SalaryPeriodMonth, SalaryPeriodHour}

// SalaryPeriodValues returns every valid SalaryPeriod.
func SalaryPeriodValues() []SalaryPeriod { return append([]SalaryPeriod(nil), salaryPeriodValues...) }

// ParseSalaryPeriod returns the SalaryPeriod whose slug is s.
func ParseSalaryPeriod(s string) (SalaryPeriod, error) {
	for _, v := range salaryPeriodValues {
		if v.slug == s {
			return v, nil
		}
	}
	return SalaryPeriod{}, fmt.Errorf("must be one of year, month, hour")
}

// String returns the slug ("" for the zero value).
func (v SalaryPeriod) String() string { return v.slug }

// IsZero reports whether v is the invalid zero value.
func (v SalaryPeriod) IsZero() bool { return v.slug == "" }

// MarshalText refuses the zero value, which is never valid data.
func (v SalaryPeriod) MarshalText() ([]byte, error) {
	if v.IsZero() {
		return nil, fmt.Errorf("marshal zero SalaryPeriod")
	}
	return []byte(v.slug), nil
}

// UnmarshalText accepts the slugs only.
func (v *SalaryPeriod) UnmarshalText(b []byte) error {
	p, err := ParseSalaryPeriod(string(b))
	if err != nil {
		return fmt.Errorf("SalaryPeriod %q: %w", strings.TrimSpace(string(b)), err)
	}
	*v = p
	return nil
}

// ListingPlan is what a company buys to publish a job: standard, or featured (pinned on top).
type ListingPlan struct{ slug string }

// Values of ListingPlan.
var (
	ListingPlanStandard = ListingPlan{"standard"}
	ListingPlanFeatured = ListingPlan{"featured"}
)

var listingPlanValues = []ListingPlan{ListingPlanStandard, ListingPlanFeatured}

// ParseListingPlan returns the ListingPlan whose slug is s.
func ParseListingPlan(s string) (ListingPlan, error) {
	for _, v := range listingPlanValues {
		if v.slug == s {
			return v, nil
		}
	}
	return ListingPlan{}, fmt.Errorf("must be one of standard, featured")
}

// String returns the slug ("" for the zero value).
func (v ListingPlan) String() string { return v.slug }

// IsZero reports whether v is the invalid zero value.
func (v ListingPlan) IsZero() bool { return v.slug == "" }

// MarshalText refuses the zero value, which is never valid data.
func (v ListingPlan) MarshalText() ([]byte, error) {
	if v.IsZero() {
		return nil, fmt.Errorf("marshal zero ListingPlan")
	}
	return []byte(v.slug), nil
}

// UnmarshalText accepts the slugs only.
func (v *ListingPlan) UnmarshalText(b []byte) error {
	p, err := ParseListingPlan(string(b))
	if err != nil {
		return fmt.Errorf("ListingPlan %q: %w", strings.TrimSpace(string(b)), err)
	}
	*v = p
	return nil
}

// JobStatus is where a job is in its life.
type JobStatus struct{ slug string }

// Values of JobStatus.
var (
	JobStatusAwaitingPayment = JobStatus{"awaiting_payment"}
	JobStatusPublished       = JobStatus{"published"}
	JobStatusClosed          = JobStatus{"closed"}
	JobStatusExpired         = JobStatus{"expired"}
)

var jobStatusValues = []JobStatus{JobStatusAwaitingPayment, JobStatusPublished, JobStatusClosed, JobStatusExpired}

// JobStatusValues returns every valid JobStatus.
func JobStatusValues() []JobStatus { return append([]JobStatus(nil), jobStatusValues...) }

// ParseJobStatus returns the JobStatus whose slug is s.
func ParseJobStatus(s string) (JobStatus, error) {
	for _, v := range jobStatusValues {
		if v.slug == s {
			return v, nil
		}
	}
	return JobStatus{}, fmt.Errorf("must be one of awaiting_payment, published, closed, expired")
}

// String returns the slug ("" for the zero value).
func (v JobStatus) String() string { return v.slug }

// IsZero reports whether v is the invalid zero value.
func (v JobStatus) IsZero() bool { return v.slug == "" }

// MarshalText refuses the zero value, which is never valid data.
func (v JobStatus) MarshalText() ([]byte, error) {
	if v.IsZero() {
		return nil, fmt.Errorf("marshal zero JobStatus")
	}
	return []byte(v.slug), nil
}

// UnmarshalText accepts the slugs only.
func (v *JobStatus) UnmarshalText(b []byte) error {
	p, err := ParseJobStatus(string(b))
	if err != nil {
		return fmt.Errorf("JobStatus %q: %w", strings.TrimSpace(string(b)), err)
	}
	*v = p
	return nil
}

// ApplicationStatus is where an application is in the hiring process.
type ApplicationStatus struct{ slug string }

// Values of ApplicationStatus.
var (
	ApplicationStatusSubmitted    = ApplicationStatus{"submitted"}
	ApplicationStatusReviewing    = ApplicationStatus{"reviewing"}
	ApplicationStatusInterviewing = ApplicationStatus{"interviewing"}
	ApplicationStatusOffered      = ApplicationStatus{"offered"}
	ApplicationStatusHired        = ApplicationStatus{"hired"}
	ApplicationStatusRejected     = ApplicationStatus{"rejected"}
	ApplicationStatusWithdrawn    = ApplicationStatus{"withdrawn"}
)

var applicationStatusValues = []ApplicationStatus{ApplicationStatusSubmitted, ApplicationStatusReviewing, ApplicationStatusInterviewing, ApplicationStatusOffered, ApplicationStatusHired, ApplicationStatusRejected, ApplicationStatusWithdrawn}

// ApplicationStatusValues returns every valid ApplicationStatus.
func ApplicationStatusValues() []ApplicationStatus {
	return append([]ApplicationStatus(nil), applicationStatusValues...)
}

// ParseApplicationStatus returns the ApplicationStatus whose slug is s.
func ParseApplicationStatus(s string) (ApplicationStatus, error) {
	for _, v := range applicationStatusValues {
		if v.slug == s {
			return v, nil
		}
	}
	return ApplicationStatus{}, fmt.Errorf("must be one of submitted, reviewing, interviewing, offered, hired, rejected, withdrawn")
}

// String returns the slug ("" for the zero value).
func (v ApplicationStatus) String() string { return v.slug }

// IsZero reports whether v is the invalid zero value.
func (v ApplicationStatus) IsZero() bool { return v.slug == "" }

// MarshalText refuses the zero value, which is never valid data.
func (v ApplicationStatus) MarshalText() ([]byte, error) {
	if v.IsZero() {
		return nil, fmt.Errorf("marshal zero ApplicationStatus")
	}
	return []byte(v.slug), nil
}

// UnmarshalText accepts the slugs only.
func (v *ApplicationStatus) UnmarshalText(b []byte) error {
	p, err := ParseApplicationStatus(string(b))
	if err != nil {
		return fmt.Errorf("ApplicationStatus %q: %w", strings.TrimSpace(string(b)), err)
	}
	*v = p
	return nil
}

// PaymentStatus is where a listing payment is.
type PaymentStatus struct{ slug string }

// Values of PaymentStatus.
var (
	PaymentStatusRequested = PaymentStatus{"requested"}
	PaymentStatusPaid      = PaymentStatus{"paid"}
	PaymentStatusFailed    = PaymentStatus{"failed"}
)

var paymentStatusValues = []PaymentStatus{PaymentStatusRequested, PaymentStatusPaid, PaymentStatusFailed}

// PaymentStatusValues returns every valid PaymentStatus.
func PaymentStatusValues() []PaymentStatus {
	return append([]PaymentStatus(nil), paymentStatusValues...)
}

// ParsePaymentStatus returns the PaymentStatus whose slug is s.
func ParsePaymentStatus(s string) (PaymentStatus, error) {
	for _, v := range paymentStatusValues {
		if v.slug == s {
			return v, nil
		}
	}
	return PaymentStatus{}, fmt.Errorf("must be one of requested, paid, failed")
}

// String returns the slug ("" for the zero value).
func (v PaymentStatus) String() string { return v.slug }

// IsZero reports whether v is the invalid zero value.
func (v PaymentStatus) IsZero() bool { return v.slug == "" }

// MarshalText refuses the zero value, which is never valid data.
func (v PaymentStatus) MarshalText() ([]byte, error) {
	if v.IsZero() {
		return nil, fmt.Errorf("marshal zero PaymentStatus")
	}
	return []byte(v.slug), nil
}

// UnmarshalText accepts the slugs only.
func (v *PaymentStatus) UnmarshalText(b []byte) error {
	p, err := ParsePaymentStatus(string(b))
	if err != nil {
		return fmt.Errorf("PaymentStatus %q: %w", strings.TrimSpace(string(b)), err)
	}
	*v = p
	return nil
}
