package domain

import (
	"slices"
	"time"
)

// Event is something that happened to one aggregate. EventType is the stable stored name
// ("job.published") and SchemaVersion the version of its JSON shape; neither depends on the
// Go type name, so types can be renamed without touching stored history. Events are
// recorded and decoded as pointers (*JobPublished).
type Event interface {
	EventType() string
	SchemaVersion() int
}

// Stream types: the stream_type column of the event store, one per aggregate.
const (
	StreamTypeCompany     = "company"
	StreamTypeCandidate   = "candidate"
	StreamTypeJob         = "job"
	StreamTypeApplication = "application"
)

// Stored event names. Never change one: add a new name or a new schema version instead.
const (
	EventCompanyRegistered        = "company.registered"
	EventCandidateRegistered      = "candidate.registered"
	EventJobPosted                = "job.posted"
	EventJobDetailsChanged        = "job.details_changed"
	EventListingPaymentRequested  = "job.listing_payment_requested"
	EventListingPaid              = "job.listing_paid"
	EventListingPaymentFailed     = "job.listing_payment_failed"
	EventListingPaymentCanceled   = "job.listing_payment_canceled"
	EventListingPaymentRefunded   = "job.listing_payment_refunded"
	EventJobPublished             = "job.published"
	EventJobClosed                = "job.closed"
	EventJobExpired               = "job.expired"
	EventApplicationSubmitted     = "application.submitted"
	EventApplicationStatusChanged = "application.status_changed"
	EventApplicationWithdrawn     = "application.withdrawn"
	EventCompanyTokenRotated      = "company.token_rotated"
	EventCandidateTokenRotated    = "candidate.token_rotated"
)

type eventKind struct {
	streamType string
	newEvent   func() Event
}

var eventKinds = map[string]eventKind{
	EventCompanyRegistered:        {StreamTypeCompany, func() Event { return &CompanyRegistered{} }},
	EventCandidateRegistered:      {StreamTypeCandidate, func() Event { return &CandidateRegistered{} }},
	EventJobPosted:                {StreamTypeJob, func() Event { return &JobPosted{} }},
	EventJobDetailsChanged:        {StreamTypeJob, func() Event { return &JobDetailsChanged{} }},
	EventListingPaymentRequested:  {StreamTypeJob, func() Event { return &ListingPaymentRequested{} }},
	EventListingPaid:              {StreamTypeJob, func() Event { return &ListingPaid{} }},
	EventListingPaymentFailed:     {StreamTypeJob, func() Event { return &ListingPaymentFailed{} }},
	EventListingPaymentCanceled:   {StreamTypeJob, func() Event { return &ListingPaymentCanceled{} }},
	EventListingPaymentRefunded:   {StreamTypeJob, func() Event { return &ListingPaymentRefunded{} }},
	EventJobPublished:             {StreamTypeJob, func() Event { return &JobPublished{} }},
	EventJobClosed:                {StreamTypeJob, func() Event { return &JobClosed{} }},
	EventJobExpired:               {StreamTypeJob, func() Event { return &JobExpired{} }},
	EventApplicationSubmitted:     {StreamTypeApplication, func() Event { return &ApplicationSubmitted{} }},
	EventApplicationStatusChanged: {StreamTypeApplication, func() Event { return &ApplicationStatusChanged{} }},
	EventApplicationWithdrawn:     {StreamTypeApplication, func() Event { return &ApplicationWithdrawn{} }},
	EventCompanyTokenRotated:      {StreamTypeCompany, func() Event { return &CompanyTokenRotated{} }},
	EventCandidateTokenRotated:    {StreamTypeCandidate, func() Event { return &CandidateTokenRotated{} }},
}

// NewEvent returns a pointer to a zero event of the stored type, to json.Unmarshal the
// stored data into; false for a type this version of the code does not know.
func NewEvent(eventType string) (Event, bool) {
	k, ok := eventKinds[eventType]
	if !ok {
		return nil, false
	}
	return k.newEvent(), true
}

// EventTypes returns every known stored event name, sorted.
func EventTypes() []string {
	out := make([]string, 0, len(eventKinds))
	for t := range eventKinds {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// StreamTypeOf returns the stream type whose streams hold events of eventType.
func StreamTypeOf(eventType string) (string, bool) {
	k, ok := eventKinds[eventType]
	return k.streamType, ok
}

// CompanyRegistered: a company signed up. Stored as "company.registered" v1.
type CompanyRegistered struct {
	CompanyID    string    `json:"company_id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	Website      string    `json:"website,omitempty"`
	Description  string    `json:"description,omitempty"`
	RegisteredAt time.Time `json:"registered_at"`
}

// CandidateRegistered: a candidate signed up. Stored as "candidate.registered" v1.
type CandidateRegistered struct {
	CandidateID  string    `json:"candidate_id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	RegisteredAt time.Time `json:"registered_at"`
}

// CompanyTokenRotated: the company replaced its bearer token; the previous one no longer
// authenticates. It records when, never the token nor its hash: events are exported to
// analysts. Stored as "company.token_rotated" v1.
type CompanyTokenRotated struct {
	CompanyID string    `json:"company_id"`
	RotatedAt time.Time `json:"rotated_at"`
}

// CandidateTokenRotated: the candidate replaced its bearer token, as CompanyTokenRotated.
// Stored as "candidate.token_rotated" v1.
type CandidateTokenRotated struct {
	CandidateID string    `json:"candidate_id"`
	RotatedAt   time.Time `json:"rotated_at"`
}

// JobPosted: a company drafted a job; it awaits payment. Stored as "job.posted" v2.
// v2 stores the time as "drafted_at" (v1: "posted_at", which readers took for the time
// the job went public — that is job.published); UpcastJobPostedV1 turns v1 data into v2.
// The Go field keeps its name so callers are unaffected.
type JobPosted struct {
	JobID     string     `json:"job_id"`
	CompanyID string     `json:"company_id"`
	Details   JobDetails `json:"details"`
	PostedAt  time.Time  `json:"drafted_at"`
}

// JobDetailsChanged: the company edited the job. Details are the full new details;
// ChangedFields names the top-level fields that differ ("title", "salary", …).
// Stored as "job.details_changed" v1.
type JobDetailsChanged struct {
	JobID         string     `json:"job_id"`
	CompanyID     string     `json:"company_id"`
	Details       JobDetails `json:"details"`
	ChangedFields []string   `json:"changed_fields"`
	ChangedAt     time.Time  `json:"changed_at"`
}

// ListingPaymentRequested: the company started paying for a listing (first publication or
// renewal); the job awaits this payment. The price and listing duration are the terms
// quoted at that moment. Stored as "job.listing_payment_requested" v1.
type ListingPaymentRequested struct {
	JobID           string      `json:"job_id"`
	CompanyID       string      `json:"company_id"`
	PaymentID       string      `json:"payment_id"`
	Plan            ListingPlan `json:"plan"`
	Amount          int64       `json:"amount"`
	Currency        Currency    `json:"currency"`
	DurationSeconds int64       `json:"duration_seconds"`
	RequestedAt     time.Time   `json:"requested_at"`
	// PaymentIntentID is the payment provider's id of the charge (a Stripe PaymentIntent),
	// "" when it was not known. An optional field added to v1: older events decode with "".
	PaymentIntentID string `json:"payment_intent_id,omitempty"`
}

// ListingPaid: the payment provider confirmed a listing payment. Stored as
// "job.listing_paid" v1.
type ListingPaid struct {
	JobID     string      `json:"job_id"`
	CompanyID string      `json:"company_id"`
	PaymentID string      `json:"payment_id"`
	Plan      ListingPlan `json:"plan"`
	Amount    int64       `json:"amount"`
	Currency  Currency    `json:"currency"`
	PaidAt    time.Time   `json:"paid_at"`
}

// ListingPaymentFailed: the payment provider reported a failed attempt. The payment may
// still succeed later (a retried PaymentIntent). Stored as "job.listing_payment_failed" v1.
type ListingPaymentFailed struct {
	JobID     string    `json:"job_id"`
	CompanyID string    `json:"company_id"`
	PaymentID string    `json:"payment_id"`
	Reason    string    `json:"reason,omitempty"`
	FailedAt  time.Time `json:"failed_at"`
}

// ListingPaymentCanceled: the company asked for another plan while this payment was open;
// its PaymentIntent was canceled at the provider and ReplacedBy is the new payment. Stored
// as "job.listing_payment_canceled" v1.
type ListingPaymentCanceled struct {
	JobID           string    `json:"job_id"`
	CompanyID       string    `json:"company_id"`
	PaymentID       string    `json:"payment_id"`
	PaymentIntentID string    `json:"payment_intent_id,omitempty"`
	ReplacedBy      string    `json:"replaced_by"`
	CanceledAt      time.Time `json:"canceled_at"`
}

// ListingPaymentRefunded: a payment succeeded at the provider when nothing was due for it
// (Reason: RefundReasonCanceled, RefundReasonAlreadyPaid or RefundReasonJobClosed) and was
// refunded in full (RefundID is the provider's refund). It never paid for a listing.
// Stored as "job.listing_payment_refunded" v1.
type ListingPaymentRefunded struct {
	JobID           string    `json:"job_id"`
	CompanyID       string    `json:"company_id"`
	PaymentID       string    `json:"payment_id"`
	PaymentIntentID string    `json:"payment_intent_id,omitempty"`
	RefundID        string    `json:"refund_id"`
	Amount          int64     `json:"amount"`
	Currency        Currency  `json:"currency"`
	Reason          string    `json:"reason"`
	PaidAt          time.Time `json:"paid_at"`
	RefundedAt      time.Time `json:"refunded_at"`
}

// JobPublished: the job is live and takes applications until ExpiresAt. Stored as
// "job.published" v1.
type JobPublished struct {
	JobID       string      `json:"job_id"`
	CompanyID   string      `json:"company_id"`
	PaymentID   string      `json:"payment_id"`
	Plan        ListingPlan `json:"plan"`
	Featured    bool        `json:"featured"`
	PublishedAt time.Time   `json:"published_at"`
	ExpiresAt   time.Time   `json:"expires_at"`
}

// JobClosed: the company closed the job; it leaves search. Stored as "job.closed" v1.
type JobClosed struct {
	JobID     string    `json:"job_id"`
	CompanyID string    `json:"company_id"`
	ClosedAt  time.Time `json:"closed_at"`
}

// JobExpired: the listing ran out; the job leaves search. Stored as "job.expired" v1.
type JobExpired struct {
	JobID     string    `json:"job_id"`
	CompanyID string    `json:"company_id"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiredAt time.Time `json:"expired_at"`
}

// ApplicationSubmitted: a candidate applied to a published job. Stored as
// "application.submitted" v1.
type ApplicationSubmitted struct {
	ApplicationID string    `json:"application_id"`
	JobID         string    `json:"job_id"`
	CompanyID     string    `json:"company_id"`
	CandidateID   string    `json:"candidate_id"`
	ResumeURL     string    `json:"resume_url"`
	CoverLetter   string    `json:"cover_letter,omitempty"`
	SubmittedAt   time.Time `json:"submitted_at"`
}

// ApplicationStatusChanged: the employer moved the application on (or rejected it).
// Stored as "application.status_changed" v1.
type ApplicationStatusChanged struct {
	ApplicationID string            `json:"application_id"`
	JobID         string            `json:"job_id"`
	CompanyID     string            `json:"company_id"`
	CandidateID   string            `json:"candidate_id"`
	From          ApplicationStatus `json:"from"`
	To            ApplicationStatus `json:"to"`
	ChangedAt     time.Time         `json:"changed_at"`
}

// ApplicationWithdrawn: the candidate withdrew the application. Stored as
// "application.withdrawn" v1.
type ApplicationWithdrawn struct {
	ApplicationID string            `json:"application_id"`
	JobID         string            `json:"job_id"`
	CompanyID     string            `json:"company_id"`
	CandidateID   string            `json:"candidate_id"`
	From          ApplicationStatus `json:"from"`
	WithdrawnAt   time.Time         `json:"withdrawn_at"`
}

func (*CompanyRegistered) EventType() string        { return EventCompanyRegistered }
func (*CandidateRegistered) EventType() string      { return EventCandidateRegistered }
func (*JobPosted) EventType() string                { return EventJobPosted }
func (*JobDetailsChanged) EventType() string        { return EventJobDetailsChanged }
func (*ListingPaymentRequested) EventType() string  { return EventListingPaymentRequested }
func (*ListingPaid) EventType() string              { return EventListingPaid }
func (*ListingPaymentFailed) EventType() string     { return EventListingPaymentFailed }
func (*ListingPaymentCanceled) EventType() string   { return EventListingPaymentCanceled }
func (*ListingPaymentRefunded) EventType() string   { return EventListingPaymentRefunded }
func (*JobPublished) EventType() string             { return EventJobPublished }
func (*JobClosed) EventType() string                { return EventJobClosed }
func (*JobExpired) EventType() string               { return EventJobExpired }
func (*ApplicationSubmitted) EventType() string     { return EventApplicationSubmitted }
func (*ApplicationStatusChanged) EventType() string { return EventApplicationStatusChanged }
func (*ApplicationWithdrawn) EventType() string     { return EventApplicationWithdrawn }
func (*CompanyTokenRotated) EventType() string      { return EventCompanyTokenRotated }
func (*CandidateTokenRotated) EventType() string    { return EventCandidateTokenRotated }

func (*CompanyRegistered) SchemaVersion() int        { return 1 }
func (*CandidateRegistered) SchemaVersion() int      { return 1 }
func (*JobPosted) SchemaVersion() int                { return 2 }
func (*JobDetailsChanged) SchemaVersion() int        { return 1 }
func (*ListingPaymentRequested) SchemaVersion() int  { return 1 }
func (*ListingPaid) SchemaVersion() int              { return 1 }
func (*ListingPaymentFailed) SchemaVersion() int     { return 1 }
func (*ListingPaymentCanceled) SchemaVersion() int   { return 1 }
func (*ListingPaymentRefunded) SchemaVersion() int   { return 1 }
func (*JobPublished) SchemaVersion() int             { return 1 }
func (*JobClosed) SchemaVersion() int                { return 1 }
func (*JobExpired) SchemaVersion() int               { return 1 }
func (*ApplicationSubmitted) SchemaVersion() int     { return 1 }
func (*ApplicationStatusChanged) SchemaVersion() int { return 1 }
func (*ApplicationWithdrawn) SchemaVersion() int     { return 1 }
func (*CompanyTokenRotated) SchemaVersion() int      { return 1 }
func (*CandidateTokenRotated) SchemaVersion() int    { return 1 }
