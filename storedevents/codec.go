package storedevents

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
)

// codec is how one stored event name is written and read at its current schema version.
type codec struct {
	version   int
	upcasters map[int]eventstore.Upcaster
	encode    func(domain.Event) (any, error)
	decode    func(json.RawMessage) (domain.Event, error)
	// decodeEnvelope decodes an envelope whose payload is of this type at version.
	decodeEnvelope func([]byte) (eventstore.Event, domain.Event, error)
}

// typed builds the codec of the domain event type E stored as payload type P.
func typed[E domain.Event, P any](version int, toStored func(E) (P, error), fromStored func(P) (E, error)) codec {
	return codec{
		version: version,
		encode: func(e domain.Event) (any, error) {
			te, ok := e.(E)
			if !ok {
				return nil, fmt.Errorf("%T is not a %T", e, te)
			}
			return toStored(te)
		},
		decode: func(data json.RawMessage) (domain.Event, error) {
			var p P
			if err := json.Unmarshal(data, &p); err != nil {
				return nil, err
			}
			return fromStored(p)
		},
		decodeEnvelope: func(envelope []byte) (eventstore.Event, domain.Event, error) {
			// The outer Data hides the embedded event's json.RawMessage one: the payload
			// is decoded straight into P, in the envelope's one pass.
			var env struct {
				eventstore.Event
				Data P `json:"data"`
			}
			if err := json.Unmarshal(envelope, &env); err != nil {
				return eventstore.Event{}, nil, err
			}
			out, err := fromStored(env.Data)
			return env.Event, out, err
		},
	}
}

// codecs holds every stored event name. A domain event without a codec cannot be appended.
var codecs = map[string]codec{
	domain.EventCompanyRegistered: typed(1,
		func(e *domain.CompanyRegistered) (CompanyRegisteredV1, error) {
			return CompanyRegisteredV1(*e), nil
		},
		func(p CompanyRegisteredV1) (*domain.CompanyRegistered, error) {
			e := domain.CompanyRegistered(p)
			return &e, nil
		}),
	domain.EventCandidateRegistered: typed(1,
		func(e *domain.CandidateRegistered) (CandidateRegisteredV1, error) {
			return CandidateRegisteredV1(*e), nil
		},
		func(p CandidateRegisteredV1) (*domain.CandidateRegistered, error) {
			e := domain.CandidateRegistered(p)
			return &e, nil
		}),
	domain.EventCompanyTokenRotated: typed(1,
		func(e *domain.CompanyTokenRotated) (CompanyTokenRotatedV1, error) {
			return CompanyTokenRotatedV1(*e), nil
		},
		func(p CompanyTokenRotatedV1) (*domain.CompanyTokenRotated, error) {
			e := domain.CompanyTokenRotated(p)
			return &e, nil
		}),
	domain.EventCandidateTokenRotated: typed(1,
		func(e *domain.CandidateTokenRotated) (CandidateTokenRotatedV1, error) {
			return CandidateTokenRotatedV1(*e), nil
		},
		func(p CandidateTokenRotatedV1) (*domain.CandidateTokenRotated, error) {
			e := domain.CandidateTokenRotated(p)
			return &e, nil
		}),
	domain.EventSignInLinkRequested: typed(1,
		func(e *domain.SignInLinkRequested) (SignInLinkRequestedV1, error) {
			return SignInLinkRequestedV1(*e), nil
		},
		func(p SignInLinkRequestedV1) (*domain.SignInLinkRequested, error) {
			e := domain.SignInLinkRequested(p)
			return &e, nil
		}),
	domain.EventSignInLinkUsed: typed(1,
		func(e *domain.SignInLinkUsed) (SignInLinkUsedV1, error) {
			return SignInLinkUsedV1(*e), nil
		},
		func(p SignInLinkUsedV1) (*domain.SignInLinkUsed, error) {
			e := domain.SignInLinkUsed(p)
			return &e, nil
		}),
	domain.EventJobPosted: withUpcasters(typed(2,
		func(e *domain.JobPosted) (JobPostedV2, error) {
			return JobPostedV2{JobID: e.JobID, CompanyID: e.CompanyID, Details: storedDetails(e.Details), DraftedAt: e.PostedAt}, nil
		},
		func(p JobPostedV2) (*domain.JobPosted, error) {
			d, err := domain.RestoreJobDetails(p.Details.input())
			return &domain.JobPosted{JobID: p.JobID, CompanyID: p.CompanyID, Details: d, PostedAt: p.DraftedAt}, err
		}), map[int]eventstore.Upcaster{1: UpcastJobPostedV1}),
	domain.EventJobDetailsChanged: typed(1,
		func(e *domain.JobDetailsChanged) (JobDetailsChangedV1, error) {
			return JobDetailsChangedV1{JobID: e.JobID, CompanyID: e.CompanyID, Details: storedDetails(e.Details),
				ChangedFields: e.ChangedFields, ChangedAt: e.ChangedAt}, nil
		},
		func(p JobDetailsChangedV1) (*domain.JobDetailsChanged, error) {
			d, err := domain.RestoreJobDetails(p.Details.input())
			return &domain.JobDetailsChanged{JobID: p.JobID, CompanyID: p.CompanyID, Details: d,
				ChangedFields: p.ChangedFields, ChangedAt: p.ChangedAt}, err
		}),
	domain.EventListingPaymentRequested: typed(1,
		func(e *domain.ListingPaymentRequested) (ListingPaymentRequestedV1, error) {
			plan, cur, err := planAndCurrency(e.Plan, e.Currency)
			return ListingPaymentRequestedV1{JobID: e.JobID, CompanyID: e.CompanyID, PaymentID: e.PaymentID, Plan: plan,
				Amount: e.Amount, Currency: cur, DurationSeconds: e.DurationSeconds, RequestedAt: e.RequestedAt,
				PaymentIntentID: e.PaymentIntentID}, err
		},
		func(p ListingPaymentRequestedV1) (*domain.ListingPaymentRequested, error) {
			plan, cur, err := parsePlanAndCurrency(p.Plan, p.Currency)
			return &domain.ListingPaymentRequested{JobID: p.JobID, CompanyID: p.CompanyID, PaymentID: p.PaymentID, Plan: plan,
				Amount: p.Amount, Currency: cur, DurationSeconds: p.DurationSeconds, RequestedAt: p.RequestedAt,
				PaymentIntentID: p.PaymentIntentID}, err
		}),
	domain.EventListingPaid: typed(1,
		func(e *domain.ListingPaid) (ListingPaidV1, error) {
			plan, cur, err := planAndCurrency(e.Plan, e.Currency)
			return ListingPaidV1{JobID: e.JobID, CompanyID: e.CompanyID, PaymentID: e.PaymentID, Plan: plan,
				Amount: e.Amount, Currency: cur, PaidAt: e.PaidAt}, err
		},
		func(p ListingPaidV1) (*domain.ListingPaid, error) {
			plan, cur, err := parsePlanAndCurrency(p.Plan, p.Currency)
			return &domain.ListingPaid{JobID: p.JobID, CompanyID: p.CompanyID, PaymentID: p.PaymentID, Plan: plan,
				Amount: p.Amount, Currency: cur, PaidAt: p.PaidAt}, err
		}),
	domain.EventListingPaymentFailed: typed(1,
		func(e *domain.ListingPaymentFailed) (ListingPaymentFailedV1, error) {
			return ListingPaymentFailedV1(*e), nil
		},
		func(p ListingPaymentFailedV1) (*domain.ListingPaymentFailed, error) {
			e := domain.ListingPaymentFailed(p)
			return &e, nil
		}),
	domain.EventListingPaymentCanceled: typed(1,
		func(e *domain.ListingPaymentCanceled) (ListingPaymentCanceledV1, error) {
			return ListingPaymentCanceledV1(*e), nil
		},
		func(p ListingPaymentCanceledV1) (*domain.ListingPaymentCanceled, error) {
			e := domain.ListingPaymentCanceled(p)
			return &e, nil
		}),
	domain.EventListingPaymentRefunded: typed(1,
		func(e *domain.ListingPaymentRefunded) (ListingPaymentRefundedV1, error) {
			cur, err := slug("Currency", e.Currency)
			return ListingPaymentRefundedV1{JobID: e.JobID, CompanyID: e.CompanyID, PaymentID: e.PaymentID,
				PaymentIntentID: e.PaymentIntentID, RefundID: e.RefundID, Amount: e.Amount, Currency: cur,
				Reason: e.Reason, PaidAt: e.PaidAt, RefundedAt: e.RefundedAt}, err
		},
		func(p ListingPaymentRefundedV1) (*domain.ListingPaymentRefunded, error) {
			cur, err := parse("currency", p.Currency, domain.ParseCurrency)
			return &domain.ListingPaymentRefunded{JobID: p.JobID, CompanyID: p.CompanyID, PaymentID: p.PaymentID,
				PaymentIntentID: p.PaymentIntentID, RefundID: p.RefundID, Amount: p.Amount, Currency: cur,
				Reason: p.Reason, PaidAt: p.PaidAt, RefundedAt: p.RefundedAt}, err
		}),
	domain.EventJobPublished: typed(1,
		func(e *domain.JobPublished) (JobPublishedV1, error) {
			plan, err := slug("ListingPlan", e.Plan)
			return JobPublishedV1{JobID: e.JobID, CompanyID: e.CompanyID, PaymentID: e.PaymentID, Plan: plan,
				Featured: e.Featured, PublishedAt: e.PublishedAt, ExpiresAt: e.ExpiresAt}, err
		},
		func(p JobPublishedV1) (*domain.JobPublished, error) {
			plan, err := parse("listing plan", p.Plan, domain.ParseListingPlan)
			return &domain.JobPublished{JobID: p.JobID, CompanyID: p.CompanyID, PaymentID: p.PaymentID, Plan: plan,
				Featured: p.Featured, PublishedAt: p.PublishedAt, ExpiresAt: p.ExpiresAt}, err
		}),
	domain.EventJobClosed: typed(1,
		func(e *domain.JobClosed) (JobClosedV1, error) { return JobClosedV1(*e), nil },
		func(p JobClosedV1) (*domain.JobClosed, error) {
			e := domain.JobClosed(p)
			return &e, nil
		}),
	domain.EventJobExpired: typed(1,
		func(e *domain.JobExpired) (JobExpiredV1, error) { return JobExpiredV1(*e), nil },
		func(p JobExpiredV1) (*domain.JobExpired, error) {
			e := domain.JobExpired(p)
			return &e, nil
		}),
	domain.EventApplicationSubmitted: typed(1,
		func(e *domain.ApplicationSubmitted) (ApplicationSubmittedV1, error) {
			return ApplicationSubmittedV1(*e), nil
		},
		func(p ApplicationSubmittedV1) (*domain.ApplicationSubmitted, error) {
			e := domain.ApplicationSubmitted(p)
			return &e, nil
		}),
	domain.EventApplicationStatusChanged: typed(1,
		func(e *domain.ApplicationStatusChanged) (ApplicationStatusChangedV1, error) {
			from, err1 := slug("ApplicationStatus", e.From)
			to, err2 := slug("ApplicationStatus", e.To)
			return ApplicationStatusChangedV1{ApplicationID: e.ApplicationID, JobID: e.JobID, CompanyID: e.CompanyID,
				CandidateID: e.CandidateID, From: from, To: to, ChangedAt: e.ChangedAt}, errors.Join(err1, err2)
		},
		func(p ApplicationStatusChangedV1) (*domain.ApplicationStatusChanged, error) {
			from, err1 := parse("application status", p.From, domain.ParseApplicationStatus)
			to, err2 := parse("application status", p.To, domain.ParseApplicationStatus)
			return &domain.ApplicationStatusChanged{ApplicationID: p.ApplicationID, JobID: p.JobID, CompanyID: p.CompanyID,
				CandidateID: p.CandidateID, From: from, To: to, ChangedAt: p.ChangedAt}, errors.Join(err1, err2)
		}),
	domain.EventApplicationWithdrawn: typed(1,
		func(e *domain.ApplicationWithdrawn) (ApplicationWithdrawnV1, error) {
			from, err := slug("ApplicationStatus", e.From)
			return ApplicationWithdrawnV1{ApplicationID: e.ApplicationID, JobID: e.JobID, CompanyID: e.CompanyID,
				CandidateID: e.CandidateID, From: from, WithdrawnAt: e.WithdrawnAt}, err
		},
		func(p ApplicationWithdrawnV1) (*domain.ApplicationWithdrawn, error) {
			from, err := parse("application status", p.From, domain.ParseApplicationStatus)
			return &domain.ApplicationWithdrawn{ApplicationID: p.ApplicationID, JobID: p.JobID, CompanyID: p.CompanyID,
				CandidateID: p.CandidateID, From: from, WithdrawnAt: p.WithdrawnAt}, err
		}),
	domain.EventAlertCreated: typed(1,
		func(e *domain.AlertCreated) (AlertCreatedV1, error) {
			freq, err := slug("AlertFrequency", e.Frequency)
			return AlertCreatedV1{AlertID: e.AlertID, CandidateID: e.CandidateID, Criteria: AlertCriteriaV1(e.Criteria),
				Frequency: freq, CreatedAt: e.CreatedAt}, err
		},
		func(p AlertCreatedV1) (*domain.AlertCreated, error) {
			freq, err := parse("alert frequency", p.Frequency, domain.ParseAlertFrequency)
			return &domain.AlertCreated{AlertID: p.AlertID, CandidateID: p.CandidateID, Criteria: domain.AlertCriteria(p.Criteria),
				Frequency: freq, CreatedAt: p.CreatedAt}, err
		}),
	domain.EventAlertDeleted: typed(1,
		func(e *domain.AlertDeleted) (AlertDeletedV1, error) { return AlertDeletedV1(*e), nil },
		func(p AlertDeletedV1) (*domain.AlertDeleted, error) {
			e := domain.AlertDeleted(p)
			return &e, nil
		}),
	domain.EventCandidateEmailPrefsSet: typed(1,
		func(e *domain.CandidateEmailPreferencesSet) (CandidateEmailPreferencesSetV1, error) {
			return CandidateEmailPreferencesSetV1{CandidateID: e.CandidateID, Off: categoryNames(e.Off), SetAt: e.SetAt}, nil
		},
		func(p CandidateEmailPreferencesSetV1) (*domain.CandidateEmailPreferencesSet, error) {
			return &domain.CandidateEmailPreferencesSet{CandidateID: p.CandidateID, Off: categories(p.Off), SetAt: p.SetAt}, nil
		}),
	domain.EventCompanyEmailPrefsSet: typed(1,
		func(e *domain.CompanyEmailPreferencesSet) (CompanyEmailPreferencesSetV1, error) {
			return CompanyEmailPreferencesSetV1{CompanyID: e.CompanyID, Off: categoryNames(e.Off), SetAt: e.SetAt}, nil
		},
		func(p CompanyEmailPreferencesSetV1) (*domain.CompanyEmailPreferencesSet, error) {
			return &domain.CompanyEmailPreferencesSet{CompanyID: p.CompanyID, Off: categories(p.Off), SetAt: p.SetAt}, nil
		}),
}

// categoryNames stores e-mail categories as their names (an empty list as [], not null).
func categoryNames(cs []domain.EmailCategory) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

// categories reads stored e-mail categories; a name this code no longer offers is kept,
// so that history reads back as recorded.
func categories(names []string) []domain.EmailCategory {
	out := make([]domain.EmailCategory, len(names))
	for i, n := range names {
		out[i] = domain.EmailCategory(n)
	}
	return out
}

func withUpcasters(c codec, ups map[int]eventstore.Upcaster) codec {
	c.upcasters = ups
	return c
}

// upcaster is the codecs' registry: Decode upcasts with it, so every reader gets the same
// current shapes whether or not the events came through a store configured with NewRegistry.
var upcaster = func() *eventstore.Registry {
	reg, err := NewRegistry()
	if err != nil {
		panic(err)
	}
	return reg
}()

// EventTypes describes every stored event for the event store's registry: its name, its
// current schema version and the upcasters from older versions.
func EventTypes() []eventstore.EventType {
	names := domain.EventTypes()
	out := make([]eventstore.EventType, 0, len(names))
	for _, name := range names {
		c := codecs[name]
		out = append(out, eventstore.EventType{Name: name, SchemaVersion: c.version, Upcasters: c.upcasters})
	}
	return out
}

// NewRegistry returns a registry that knows every stored event, for eventstore.StoreConfig
// and the history's replays.
func NewRegistry() (*eventstore.Registry, error) {
	reg := eventstore.NewRegistry()
	for _, t := range EventTypes() {
		if err := reg.Register(t); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// Encode turns a domain event and its metadata into the event to append, at the current
// schema version of its type.
func Encode(e domain.Event, meta eventstore.Metadata) (eventstore.EventData, error) {
	c, ok := codecs[e.EventType()]
	if !ok || c.version != e.SchemaVersion() {
		return eventstore.EventData{}, fmt.Errorf("encode %s v%d: no stored payload: %w", e.EventType(), e.SchemaVersion(), domain.ErrUnknownEvent)
	}
	p, err := c.encode(e)
	if err != nil {
		return eventstore.EventData{}, fmt.Errorf("encode %s: %w", e.EventType(), err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		return eventstore.EventData{}, fmt.Errorf("encode %s: %w", e.EventType(), err)
	}
	return eventstore.EventData{Type: e.EventType(), SchemaVersion: c.version, Data: data, Metadata: meta}, nil
}

// Known reports whether this version of the code knows the stored event name: readers that
// may meet events of a newer deploy (the projectors) skip the unknown ones.
func Known(eventType string) bool {
	_, ok := codecs[eventType]
	return ok
}

// DecodeEnvelope decodes an event envelope as the relay publishes it (eventstore.Event's JSON
// encoding) together with its payload, in one pass of the JSON decoder instead of two (the
// envelope, then its data), when the envelope holds an event of eventType at that type's
// current schema version: the relay's event_type and schema_version headers say so before
// the envelope is read. ok is false for anything else (an older version to upcast, an
// unknown type, headers that do not match the envelope, a malformed envelope or payload):
// the caller then decodes in two steps, eventstore.DecodeEnvelope and Decode, which also
// report any error. The returned event's Data is nil: its payload went straight into its
// type.
func DecodeEnvelope(envelope []byte, eventType string, schemaVersion int) (e eventstore.Event, payload domain.Event, ok bool) {
	c, known := codecs[eventType]
	if !known || schemaVersion != c.version {
		return eventstore.Event{}, nil, false
	}
	e, payload, err := c.decodeEnvelope(envelope)
	if err != nil || e.Type != eventType || e.SchemaVersion != schemaVersion {
		return eventstore.Event{}, nil, false
	}
	return e, payload, true
}

// Decode upcasts a stored event to its type's current schema version and decodes it into the
// domain event. An unknown type, or a schema version above the current one (written by a
// newer deploy), is an error wrapping domain.ErrUnknownEvent.
func Decode(e eventstore.Event) (domain.Event, error) {
	c, ok := codecs[e.Type]
	if !ok {
		return nil, fmt.Errorf("decode event %s: type %q: %w", e.EventID, e.Type, domain.ErrUnknownEvent)
	}
	up, err := upcaster.Upcast(e)
	if err != nil {
		return nil, fmt.Errorf("decode event %s: %w", e.EventID, err)
	}
	if up.SchemaVersion != c.version {
		return nil, fmt.Errorf("decode event %s: %s schema version %d, want %d: %w",
			e.EventID, e.Type, up.SchemaVersion, c.version, domain.ErrUnknownEvent)
	}
	out, err := c.decode(up.Data)
	if err != nil {
		return nil, fmt.Errorf("decode event %s (%s): %w", e.EventID, e.Type, err)
	}
	return out, nil
}

// storedDetails is the stored shape of a job's details.
func storedDetails(d domain.JobDetails) JobDetailsV1 {
	in := d.Input()
	out := JobDetailsV1{
		Title: in.Title, Description: in.Description, EmploymentType: in.EmploymentType, Seniority: in.Seniority,
		Location: LocationV1{Remote: in.Location.Remote, Regions: in.Location.Regions, Countries: in.Location.Countries},
		Tags:     in.Tags, ApplyURL: in.ApplyURL,
	}
	if tz := in.Location.Timezones; tz != nil {
		out.Location.Timezones = &TimezonesV1{MinUTCOffset: tz.MinUTCOffset, MaxUTCOffset: tz.MaxUTCOffset}
	}
	if s := in.Salary; s != nil {
		out.Salary = &SalaryV1{Min: s.Min, Max: s.Max, Currency: s.Currency, Period: s.Period}
	}
	return out
}

// input is the plain shape domain.RestoreJobDetails takes.
func (d JobDetailsV1) input() domain.JobDetailsInput {
	in := domain.JobDetailsInput{
		Title: d.Title, Description: d.Description, EmploymentType: d.EmploymentType, Seniority: d.Seniority,
		Location: domain.LocationInput{Remote: d.Location.Remote, Regions: d.Location.Regions, Countries: d.Location.Countries},
		Tags:     d.Tags, ApplyURL: d.ApplyURL,
	}
	if tz := d.Location.Timezones; tz != nil {
		in.Location.Timezones = &domain.TimezonesInput{MinUTCOffset: tz.MinUTCOffset, MaxUTCOffset: tz.MaxUTCOffset}
	}
	if s := d.Salary; s != nil {
		in.Salary = &domain.SalaryInput{Min: s.Min, Max: s.Max, Currency: s.Currency, Period: s.Period}
	}
	return in
}

// enum is what the domain's enums and Currency have in common.
type enum interface {
	String() string
	IsZero() bool
}

// slug is v as stored; the zero value is never valid data.
func slug(name string, v enum) (string, error) {
	if v.IsZero() {
		return "", fmt.Errorf("zero %s", name)
	}
	return v.String(), nil
}

// parse reads a stored enum value.
func parse[T any](name, s string, p func(string) (T, error)) (T, error) {
	v, err := p(s)
	if err != nil {
		return v, fmt.Errorf("%s %q: %w", name, s, err)
	}
	return v, nil
}

func planAndCurrency(plan domain.ListingPlan, cur domain.Currency) (string, string, error) {
	p, err1 := slug("ListingPlan", plan)
	c, err2 := slug("Currency", cur)
	return p, c, errors.Join(err1, err2)
}

func parsePlanAndCurrency(plan, cur string) (domain.ListingPlan, domain.Currency, error) {
	p, err1 := parse("listing plan", plan, domain.ParseListingPlan)
	c, err2 := parse("currency", cur, domain.ParseCurrency)
	return p, c, errors.Join(err1, err2)
}
