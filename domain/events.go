package domain

import (
	"slices"
	"time"
)

// Event is something that happened to one aggregate. EventType is the stable stored name
// ("job.published") and SchemaVersion the version of its stored shape; neither depends on the
// Go type name, so types can be renamed without touching stored history. Events are
// recorded and decoded as pointers (*JobPublished). They carry no JSON: what is stored is
// storedevents' payload types, mapped to and from these in one place, so a change here
// cannot silently change stored history.
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
	StreamTypeSignInLink  = "sign_in"
	StreamTypeAlert       = "alert"
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
	EventSignInLinkRequested      = "sign_in.link_requested"
	EventSignInLinkUsed           = "sign_in.link_used"
	EventAlertCreated             = "alert.created"
	EventAlertDeleted             = "alert.deleted"
	EventCandidateEmailPrefsSet   = "candidate.email_preferences_set"
	EventCompanyEmailPrefsSet     = "company.email_preferences_set"
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
	EventSignInLinkRequested:      {StreamTypeSignInLink, func() Event { return &SignInLinkRequested{} }},
	EventSignInLinkUsed:           {StreamTypeSignInLink, func() Event { return &SignInLinkUsed{} }},
	EventAlertCreated:             {StreamTypeAlert, func() Event { return &AlertCreated{} }},
	EventAlertDeleted:             {StreamTypeAlert, func() Event { return &AlertDeleted{} }},
	EventCandidateEmailPrefsSet:   {StreamTypeCandidate, func() Event { return &CandidateEmailPreferencesSet{} }},
	EventCompanyEmailPrefsSet:     {StreamTypeCompany, func() Event { return &CompanyEmailPreferencesSet{} }},
}

// NewEvent returns a pointer to a zero event of the stored type; false for a type this
// version of the code does not know.
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
	CompanyID    string
	Name         string
	Email        string
	Website      string
	Description  string
	RegisteredAt time.Time
}

// CandidateRegistered: a candidate signed up. Stored as "candidate.registered" v1.
type CandidateRegistered struct {
	CandidateID  string
	Name         string
	Email        string
	RegisteredAt time.Time
}

// CompanyTokenRotated: the company replaced its bearer token; the previous one no longer
// authenticates. It records when, never the token nor its hash: events are exported to
// analysts. Stored as "company.token_rotated" v1.
type CompanyTokenRotated struct {
	CompanyID string
	RotatedAt time.Time
}

// CandidateTokenRotated: the candidate replaced its bearer token, as CompanyTokenRotated.
// Stored as "candidate.token_rotated" v1.
type CandidateTokenRotated struct {
	CandidateID string
	RotatedAt   time.Time
}

// JobPosted: a company drafted a job; it awaits payment. Stored as "job.posted" v2.
// v2 stores the time as "drafted_at" (v1: "posted_at", which readers took for the time
// the job went public — that is job.published). The Go field keeps its name so callers
// are unaffected.
type JobPosted struct {
	JobID     string
	CompanyID string
	Details   JobDetails
	PostedAt  time.Time
}

// JobDetailsChanged: the company edited the job. Details are the full new details;
// ChangedFields names the top-level fields that differ ("title", "salary", …).
// Stored as "job.details_changed" v1.
type JobDetailsChanged struct {
	JobID         string
	CompanyID     string
	Details       JobDetails
	ChangedFields []string
	ChangedAt     time.Time
}

// ListingPaymentRequested: the company started paying for a listing (first publication or
// renewal); the job awaits this payment. The price and listing duration are the terms
// quoted at that moment. Stored as "job.listing_payment_requested" v1.
type ListingPaymentRequested struct {
	JobID           string
	CompanyID       string
	PaymentID       string
	Plan            ListingPlan
	Amount          int64
	Currency        Currency
	DurationSeconds int64
	RequestedAt     time.Time
	// PaymentIntentID is the payment provider's id of the charge (a Stripe PaymentIntent),
	// "" when it was not known. An optional field added to v1: older events decode with "".
	PaymentIntentID string
}

// ListingPaid: the payment provider confirmed a listing payment. Stored as
// "job.listing_paid" v1.
type ListingPaid struct {
	JobID     string
	CompanyID string
	PaymentID string
	Plan      ListingPlan
	Amount    int64
	Currency  Currency
	PaidAt    time.Time
}

// ListingPaymentFailed: the payment provider reported a failed attempt. The payment may
// still succeed later (a retried PaymentIntent). Stored as "job.listing_payment_failed" v1.
type ListingPaymentFailed struct {
	JobID     string
	CompanyID string
	PaymentID string
	Reason    string
	FailedAt  time.Time
}

// ListingPaymentCanceled: the company asked for another plan while this payment was open;
// its PaymentIntent was canceled at the provider and ReplacedBy is the new payment. Stored
// as "job.listing_payment_canceled" v1.
type ListingPaymentCanceled struct {
	JobID           string
	CompanyID       string
	PaymentID       string
	PaymentIntentID string
	ReplacedBy      string
	CanceledAt      time.Time
}

// ListingPaymentRefunded: a payment succeeded at the provider when nothing was due for it
// (Reason: RefundReasonCanceled, RefundReasonAlreadyPaid or RefundReasonJobClosed) and was
// refunded in full (RefundID is the provider's refund). It never paid for a listing.
// Stored as "job.listing_payment_refunded" v1.
type ListingPaymentRefunded struct {
	JobID           string
	CompanyID       string
	PaymentID       string
	PaymentIntentID string
	RefundID        string
	Amount          int64
	Currency        Currency
	Reason          string
	PaidAt          time.Time
	RefundedAt      time.Time
}

// JobPublished: the job is live and takes applications until ExpiresAt. Stored as
// "job.published" v1.
type JobPublished struct {
	JobID       string
	CompanyID   string
	PaymentID   string
	Plan        ListingPlan
	Featured    bool
	PublishedAt time.Time
	ExpiresAt   time.Time
}

// JobClosed: the company closed the job; it leaves search. Stored as "job.closed" v1.
type JobClosed struct {
	JobID     string
	CompanyID string
	ClosedAt  time.Time
}

// JobExpired: the listing ran out; the job leaves search. Stored as "job.expired" v1.
type JobExpired struct {
	JobID     string
	CompanyID string
	ExpiresAt time.Time
	ExpiredAt time.Time
}

// ApplicationSubmitted: a candidate applied to a published job. Stored as
// "application.submitted" v1.
type ApplicationSubmitted struct {
	ApplicationID string
	JobID         string
	CompanyID     string
	CandidateID   string
	ResumeURL     string
	CoverLetter   string
	SubmittedAt   time.Time
}

// ApplicationStatusChanged: the employer moved the application on (or rejected it).
// Stored as "application.status_changed" v1.
type ApplicationStatusChanged struct {
	ApplicationID string
	JobID         string
	CompanyID     string
	CandidateID   string
	From          ApplicationStatus
	To            ApplicationStatus
	ChangedAt     time.Time
}

// ApplicationWithdrawn: the candidate withdrew the application. Stored as
// "application.withdrawn" v1.
type ApplicationWithdrawn struct {
	ApplicationID string
	JobID         string
	CompanyID     string
	CandidateID   string
	From          ApplicationStatus
	WithdrawnAt   time.Time
}

// AlertCreated: a candidate saved a search to be emailed about. Stored as "alert.created" v1.
type AlertCreated struct {
	AlertID     string
	CandidateID string
	Criteria    AlertCriteria
	Frequency   AlertFrequency
	CreatedAt   time.Time
}

// AlertDeleted: the alert ended, deleted by its candidate or unsubscribed from an e-mail
// (Reason). Stored as "alert.deleted" v1.
type AlertDeleted struct {
	AlertID     string
	CandidateID string
	Reason      string
	DeletedAt   time.Time
}

// CandidateEmailPreferencesSet: the candidate chose which optional e-mails to receive; Off
// is every category turned off (the whole set, sorted). Stored as
// "candidate.email_preferences_set" v1.
type CandidateEmailPreferencesSet struct {
	CandidateID string
	Off         []EmailCategory
	SetAt       time.Time
}

// CompanyEmailPreferencesSet: as CandidateEmailPreferencesSet, for a company. Stored as
// "company.email_preferences_set" v1.
type CompanyEmailPreferencesSet struct {
	CompanyID string
	Off       []EmailCategory
	SetAt     time.Time
}

func (*AlertCreated) EventType() string                  { return EventAlertCreated }
func (*AlertDeleted) EventType() string                  { return EventAlertDeleted }
func (*CandidateEmailPreferencesSet) EventType() string  { return EventCandidateEmailPrefsSet }
func (*CompanyEmailPreferencesSet) EventType() string    { return EventCompanyEmailPrefsSet }
func (*AlertCreated) SchemaVersion() int                 { return 1 }
func (*AlertDeleted) SchemaVersion() int                 { return 1 }
func (*CandidateEmailPreferencesSet) SchemaVersion() int { return 1 }
func (*CompanyEmailPreferencesSet) SchemaVersion() int   { return 1 }

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
