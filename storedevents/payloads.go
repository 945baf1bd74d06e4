package storedevents

import "time"

// The stored payloads: one Go type per stored event name and schema version, whose JSON is
// what the events table holds (and Kafka carries, and analysts export) forever. Field order
// is the order written. Never change a field here: add a new schema version, its type and an
// upcaster instead. Older versions are read through their upcasters (upcasters.go), which
// work on the JSON itself so that fields this code does not know are kept.

// CompanyRegisteredV1 is "company.registered" v1.
type CompanyRegisteredV1 struct {
	CompanyID    string    `json:"company_id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	Website      string    `json:"website,omitempty"`
	Description  string    `json:"description,omitempty"`
	RegisteredAt time.Time `json:"registered_at"`
}

// CandidateRegisteredV1 is "candidate.registered" v1.
type CandidateRegisteredV1 struct {
	CandidateID  string    `json:"candidate_id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	RegisteredAt time.Time `json:"registered_at"`
}

// CompanyTokenRotatedV1 is "company.token_rotated" v1.
type CompanyTokenRotatedV1 struct {
	CompanyID string    `json:"company_id"`
	RotatedAt time.Time `json:"rotated_at"`
}

// CandidateTokenRotatedV1 is "candidate.token_rotated" v1.
type CandidateTokenRotatedV1 struct {
	CandidateID string    `json:"candidate_id"`
	RotatedAt   time.Time `json:"rotated_at"`
}

// SignInLinkRequestedV1 is "sign_in.link_requested" v1: the link's id is its nonce; the
// signature of the e-mailed link is never stored.
type SignInLinkRequestedV1 struct {
	LinkID      string    `json:"link_id"`
	Role        string    `json:"role"`
	AccountID   string    `json:"account_id"`
	Email       string    `json:"email"`
	RequestedAt time.Time `json:"requested_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// SignInLinkUsedV1 is "sign_in.link_used" v1.
type SignInLinkUsedV1 struct {
	LinkID string    `json:"link_id"`
	UsedAt time.Time `json:"used_at"`
}

// JobDetailsV1 is a job's details inside job.posted v1 and v2 and job.details_changed v1.
type JobDetailsV1 struct {
	Title          string     `json:"title"`
	Description    string     `json:"description"`
	EmploymentType string     `json:"employment_type"`
	Seniority      string     `json:"seniority"`
	Location       LocationV1 `json:"location"`
	Salary         *SalaryV1  `json:"salary,omitempty"`
	Tags           []string   `json:"tags"`
	ApplyURL       string     `json:"apply_url,omitempty"`
}

// LocationV1 is JobDetailsV1's location.
type LocationV1 struct {
	Remote    bool         `json:"remote"`
	Regions   []string     `json:"regions"`
	Countries []string     `json:"countries"`
	Timezones *TimezonesV1 `json:"timezones,omitempty"`
}

// TimezonesV1 is LocationV1's range of UTC offsets, in hours.
type TimezonesV1 struct {
	MinUTCOffset float64 `json:"min_utc_offset"`
	MaxUTCOffset float64 `json:"max_utc_offset"`
}

// SalaryV1 is JobDetailsV1's salary range, in minor units.
type SalaryV1 struct {
	Min      int64  `json:"min"`
	Max      int64  `json:"max"`
	Currency string `json:"currency"`
	Period   string `json:"period"`
}

// JobPostedV2 is "job.posted" v2. v1 named the time "posted_at" (UpcastJobPostedV1).
type JobPostedV2 struct {
	JobID     string       `json:"job_id"`
	CompanyID string       `json:"company_id"`
	Details   JobDetailsV1 `json:"details"`
	DraftedAt time.Time    `json:"drafted_at"`
}

// JobDetailsChangedV1 is "job.details_changed" v1.
type JobDetailsChangedV1 struct {
	JobID         string       `json:"job_id"`
	CompanyID     string       `json:"company_id"`
	Details       JobDetailsV1 `json:"details"`
	ChangedFields []string     `json:"changed_fields"`
	ChangedAt     time.Time    `json:"changed_at"`
}

// ListingPaymentRequestedV1 is "job.listing_payment_requested" v1. PaymentIntentID was
// added later as an optional field: older events have none.
type ListingPaymentRequestedV1 struct {
	JobID           string    `json:"job_id"`
	CompanyID       string    `json:"company_id"`
	PaymentID       string    `json:"payment_id"`
	Plan            string    `json:"plan"`
	Amount          int64     `json:"amount"`
	Currency        string    `json:"currency"`
	DurationSeconds int64     `json:"duration_seconds"`
	RequestedAt     time.Time `json:"requested_at"`
	PaymentIntentID string    `json:"payment_intent_id,omitempty"`
}

// ListingPaidV1 is "job.listing_paid" v1.
type ListingPaidV1 struct {
	JobID     string    `json:"job_id"`
	CompanyID string    `json:"company_id"`
	PaymentID string    `json:"payment_id"`
	Plan      string    `json:"plan"`
	Amount    int64     `json:"amount"`
	Currency  string    `json:"currency"`
	PaidAt    time.Time `json:"paid_at"`
}

// ListingPaymentFailedV1 is "job.listing_payment_failed" v1.
type ListingPaymentFailedV1 struct {
	JobID     string    `json:"job_id"`
	CompanyID string    `json:"company_id"`
	PaymentID string    `json:"payment_id"`
	Reason    string    `json:"reason,omitempty"`
	FailedAt  time.Time `json:"failed_at"`
}

// ListingPaymentCanceledV1 is "job.listing_payment_canceled" v1.
type ListingPaymentCanceledV1 struct {
	JobID           string    `json:"job_id"`
	CompanyID       string    `json:"company_id"`
	PaymentID       string    `json:"payment_id"`
	PaymentIntentID string    `json:"payment_intent_id,omitempty"`
	ReplacedBy      string    `json:"replaced_by"`
	CanceledAt      time.Time `json:"canceled_at"`
}

// ListingPaymentRefundedV1 is "job.listing_payment_refunded" v1.
type ListingPaymentRefundedV1 struct {
	JobID           string    `json:"job_id"`
	CompanyID       string    `json:"company_id"`
	PaymentID       string    `json:"payment_id"`
	PaymentIntentID string    `json:"payment_intent_id,omitempty"`
	RefundID        string    `json:"refund_id"`
	Amount          int64     `json:"amount"`
	Currency        string    `json:"currency"`
	Reason          string    `json:"reason"`
	PaidAt          time.Time `json:"paid_at"`
	RefundedAt      time.Time `json:"refunded_at"`
}

// JobPublishedV1 is "job.published" v1.
type JobPublishedV1 struct {
	JobID       string    `json:"job_id"`
	CompanyID   string    `json:"company_id"`
	PaymentID   string    `json:"payment_id"`
	Plan        string    `json:"plan"`
	Featured    bool      `json:"featured"`
	PublishedAt time.Time `json:"published_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// JobClosedV1 is "job.closed" v1.
type JobClosedV1 struct {
	JobID     string    `json:"job_id"`
	CompanyID string    `json:"company_id"`
	ClosedAt  time.Time `json:"closed_at"`
}

// JobExpiredV1 is "job.expired" v1.
type JobExpiredV1 struct {
	JobID     string    `json:"job_id"`
	CompanyID string    `json:"company_id"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiredAt time.Time `json:"expired_at"`
}

// ApplicationSubmittedV1 is "application.submitted" v1.
type ApplicationSubmittedV1 struct {
	ApplicationID string    `json:"application_id"`
	JobID         string    `json:"job_id"`
	CompanyID     string    `json:"company_id"`
	CandidateID   string    `json:"candidate_id"`
	ResumeURL     string    `json:"resume_url"`
	CoverLetter   string    `json:"cover_letter,omitempty"`
	SubmittedAt   time.Time `json:"submitted_at"`
}

// ApplicationStatusChangedV1 is "application.status_changed" v1.
type ApplicationStatusChangedV1 struct {
	ApplicationID string    `json:"application_id"`
	JobID         string    `json:"job_id"`
	CompanyID     string    `json:"company_id"`
	CandidateID   string    `json:"candidate_id"`
	From          string    `json:"from"`
	To            string    `json:"to"`
	ChangedAt     time.Time `json:"changed_at"`
}

// ApplicationWithdrawnV1 is "application.withdrawn" v1.
type ApplicationWithdrawnV1 struct {
	ApplicationID string    `json:"application_id"`
	JobID         string    `json:"job_id"`
	CompanyID     string    `json:"company_id"`
	CandidateID   string    `json:"candidate_id"`
	From          string    `json:"from"`
	WithdrawnAt   time.Time `json:"withdrawn_at"`
}

// AlertCriteriaV1 is the saved search inside alert.created v1: the parameters of
// GET /v1/jobs by their query-string names.
type AlertCriteriaV1 struct {
	Q              string   `json:"q,omitempty"`
	Tags           []string `json:"tags,omitempty"`
	Remote         *bool    `json:"remote,omitempty"`
	Region         string   `json:"region,omitempty"`
	Country        string   `json:"country,omitempty"`
	EmploymentType string   `json:"employment_type,omitempty"`
	Seniority      string   `json:"seniority,omitempty"`
	SalaryMin      int64    `json:"salary_min,omitempty"`
	Currency       string   `json:"currency,omitempty"`
	CompanyID      string   `json:"company_id,omitempty"`
	Sort           string   `json:"sort,omitempty"`
}

// AlertCreatedV1 is "alert.created" v1.
type AlertCreatedV1 struct {
	AlertID     string          `json:"alert_id"`
	CandidateID string          `json:"candidate_id"`
	Criteria    AlertCriteriaV1 `json:"criteria"`
	Frequency   string          `json:"frequency"`
	CreatedAt   time.Time       `json:"created_at"`
}

// AlertDeletedV1 is "alert.deleted" v1.
type AlertDeletedV1 struct {
	AlertID     string    `json:"alert_id"`
	CandidateID string    `json:"candidate_id"`
	Reason      string    `json:"reason"`
	DeletedAt   time.Time `json:"deleted_at"`
}

// CandidateEmailPreferencesSetV1 is "candidate.email_preferences_set" v1.
type CandidateEmailPreferencesSetV1 struct {
	CandidateID string    `json:"candidate_id"`
	Off         []string  `json:"off"`
	SetAt       time.Time `json:"set_at"`
}

// CompanyEmailPreferencesSetV1 is "company.email_preferences_set" v1.
type CompanyEmailPreferencesSetV1 struct {
	CompanyID string    `json:"company_id"`
	Off       []string  `json:"off"`
	SetAt     time.Time `json:"set_at"`
}
