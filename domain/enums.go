package domain

import (
	"fmt"
	"strings"
)

// Enum types are structs around an unexported slug: the zero value is invalid (IsZero) and
// other packages can only use the declared values or Parse one. They marshal as their slug.

// slugEnum is every enum type of this file.
type slugEnum interface{ ~struct{ slug string } }

// parseSlug returns the value of values whose slug is s.
func parseSlug[T slugEnum](values []T, s string) (T, error) {
	for _, v := range values {
		if struct{ slug string }(v).slug == s {
			return v, nil
		}
	}
	slugs := make([]string, len(values))
	for i, v := range values {
		slugs[i] = struct{ slug string }(v).slug
	}
	var zero T
	return zero, fmt.Errorf("must be one of %s", strings.Join(slugs, ", "))
}

// marshalSlug is the text of v, an enum named name; the zero value is never valid data.
func marshalSlug[T slugEnum](name string, v T) ([]byte, error) {
	slug := struct{ slug string }(v).slug
	if slug == "" {
		return nil, fmt.Errorf("marshal zero %s", name)
	}
	return []byte(slug), nil
}

// unmarshalSlug sets *dst to the value of values whose slug is b.
func unmarshalSlug[T slugEnum](name string, values []T, b []byte, dst *T) error {
	p, err := parseSlug(values, string(b))
	if err != nil {
		return fmt.Errorf("%s %q: %w", name, strings.TrimSpace(string(b)), err)
	}
	*dst = p
	return nil
}

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
	return parseSlug(employmentTypeValues, s)
}

// String returns the slug ("" for the zero value).
func (v EmploymentType) String() string { return v.slug }

// IsZero reports whether v is the invalid zero value.
func (v EmploymentType) IsZero() bool { return v.slug == "" }

// MarshalText refuses the zero value, which is never valid data.
func (v EmploymentType) MarshalText() ([]byte, error) {
	return marshalSlug("EmploymentType", v)
}

// UnmarshalText accepts the slugs only.
func (v *EmploymentType) UnmarshalText(b []byte) error {
	return unmarshalSlug("EmploymentType", employmentTypeValues, b, v)
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
	return parseSlug(seniorityValues, s)
}

// String returns the slug ("" for the zero value).
func (v Seniority) String() string { return v.slug }

// IsZero reports whether v is the invalid zero value.
func (v Seniority) IsZero() bool { return v.slug == "" }

// MarshalText refuses the zero value, which is never valid data.
func (v Seniority) MarshalText() ([]byte, error) {
	return marshalSlug("Seniority", v)
}

// UnmarshalText accepts the slugs only.
func (v *Seniority) UnmarshalText(b []byte) error {
	return unmarshalSlug("Seniority", seniorityValues, b, v)
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
	return parseSlug(salaryPeriodValues, s)
}

// String returns the slug ("" for the zero value).
func (v SalaryPeriod) String() string { return v.slug }

// IsZero reports whether v is the invalid zero value.
func (v SalaryPeriod) IsZero() bool { return v.slug == "" }

// MarshalText refuses the zero value, which is never valid data.
func (v SalaryPeriod) MarshalText() ([]byte, error) {
	return marshalSlug("SalaryPeriod", v)
}

// UnmarshalText accepts the slugs only.
func (v *SalaryPeriod) UnmarshalText(b []byte) error {
	return unmarshalSlug("SalaryPeriod", salaryPeriodValues, b, v)
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
	return parseSlug(listingPlanValues, s)
}

// String returns the slug ("" for the zero value).
func (v ListingPlan) String() string { return v.slug }

// IsZero reports whether v is the invalid zero value.
func (v ListingPlan) IsZero() bool { return v.slug == "" }

// MarshalText refuses the zero value, which is never valid data.
func (v ListingPlan) MarshalText() ([]byte, error) {
	return marshalSlug("ListingPlan", v)
}

// UnmarshalText accepts the slugs only.
func (v *ListingPlan) UnmarshalText(b []byte) error {
	return unmarshalSlug("ListingPlan", listingPlanValues, b, v)
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
	return parseSlug(jobStatusValues, s)
}

// String returns the slug ("" for the zero value).
func (v JobStatus) String() string { return v.slug }

// IsZero reports whether v is the invalid zero value.
func (v JobStatus) IsZero() bool { return v.slug == "" }

// MarshalText refuses the zero value, which is never valid data.
func (v JobStatus) MarshalText() ([]byte, error) {
	return marshalSlug("JobStatus", v)
}

// UnmarshalText accepts the slugs only.
func (v *JobStatus) UnmarshalText(b []byte) error {
	return unmarshalSlug("JobStatus", jobStatusValues, b, v)
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
	return parseSlug(applicationStatusValues, s)
}

// String returns the slug ("" for the zero value).
func (v ApplicationStatus) String() string { return v.slug }

// IsZero reports whether v is the invalid zero value.
func (v ApplicationStatus) IsZero() bool { return v.slug == "" }

// MarshalText refuses the zero value, which is never valid data.
func (v ApplicationStatus) MarshalText() ([]byte, error) {
	return marshalSlug("ApplicationStatus", v)
}

// UnmarshalText accepts the slugs only.
func (v *ApplicationStatus) UnmarshalText(b []byte) error {
	return unmarshalSlug("ApplicationStatus", applicationStatusValues, b, v)
}

// PaymentStatus is where a listing payment is.
type PaymentStatus struct{ slug string }

// Values of PaymentStatus.
var (
	PaymentStatusRequested = PaymentStatus{"requested"}
	PaymentStatusPaid      = PaymentStatus{"paid"}
	PaymentStatusFailed    = PaymentStatus{"failed"}
	// PaymentStatusCanceled: another plan was asked for and this payment's intent was
	// canceled; should it still succeed, it is refunded.
	PaymentStatusCanceled = PaymentStatus{"canceled"}
	// PaymentStatusRefunded: the payment succeeded when nothing was due and was refunded.
	PaymentStatusRefunded = PaymentStatus{"refunded"}
)

var paymentStatusValues = []PaymentStatus{
	PaymentStatusRequested, PaymentStatusPaid, PaymentStatusFailed, PaymentStatusCanceled, PaymentStatusRefunded,
}

// PaymentStatusValues returns every valid PaymentStatus.
func PaymentStatusValues() []PaymentStatus {
	return append([]PaymentStatus(nil), paymentStatusValues...)
}

// ParsePaymentStatus returns the PaymentStatus whose slug is s.
func ParsePaymentStatus(s string) (PaymentStatus, error) {
	return parseSlug(paymentStatusValues, s)
}

// String returns the slug ("" for the zero value).
func (v PaymentStatus) String() string { return v.slug }

// IsZero reports whether v is the invalid zero value.
func (v PaymentStatus) IsZero() bool { return v.slug == "" }

// MarshalText refuses the zero value, which is never valid data.
func (v PaymentStatus) MarshalText() ([]byte, error) {
	return marshalSlug("PaymentStatus", v)
}

// UnmarshalText accepts the slugs only.
func (v *PaymentStatus) UnmarshalText(b []byte) error {
	return unmarshalSlug("PaymentStatus", paymentStatusValues, b, v)
}
