package application

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/readmodels"
	"github.com/jobboard/jobboard/storedevents"
)

// Admin are the operators' handlers: projection status and rebuilds over projections/, and
// the event history — raw, or one stream folded as of a time by the domain's own Load
// functions, so the state shown is exactly what a command would see. Each returns
// *apperr.Error for what the caller should see: NotFound for an unknown projection,
// rebuild or stream, Conflict for a rebuild already in progress.
type Admin struct {
	// Projections reports every projection that has a live version.
	Projections Handler[ListProjections, []ProjectionStatus]
	// StartRebuild starts building the next version of a projection in the background of
	// this process and returns at once. The rebuild is not bound to ctx: it runs until it
	// is promoted, fails, or the process closes.
	StartRebuild Handler[StartRebuild, RebuildStarted]
	// Rebuild reports a rebuild of a projection; a rebuild of another projection is NotFound.
	Rebuild Handler[GetRebuild, RebuildStatus]
	// Stream is a stream's events recorded at or before AsOf (all when zero) and the state
	// folded from them; a stream without events by then is NotFound.
	Stream Handler[GetStream, StreamAsOf]
	// Events pages through the raw history in commit-safe order.
	Events Handler[ReadEvents, EventsPage]
	// DeadLetters lists a projection's dead letters (open ones, oldest first), DeadLetter
	// shows one, ReplayDeadLetters feeds open ones back through the live projector
	// (admin_deadletters.go).
	DeadLetters       Handler[ListDeadLetters, []DeadLetter]
	DeadLetter        Handler[GetDeadLetter, DeadLetter]
	ReplayDeadLetters Handler[ReplayDeadLetters, ReplayResult]
}

// ListProjections asks for the status of every projection.
type ListProjections struct{}

// StartRebuild names the projection to rebuild.
type StartRebuild struct{ Projection string }

// RebuildStarted is the id of the rebuild StartRebuild started.
type RebuildStarted struct {
	RebuildID string `json:"rebuild_id"`
}

// GetRebuild names one rebuild of one projection.
type GetRebuild struct {
	Projection string
	RebuildID  string
}

// GetStream names a stream and the time to show it as of (zero: now).
type GetStream struct {
	StreamID string
	AsOf     time.Time
}

// ReadEvents is a page of the raw history after a global position.
type ReadEvents struct {
	// After is a global position (0: from the start); the page starts after that event.
	After  int64
	Limit  int
	Filter EventFilter
}

// EventFilter keeps some events of the history; zero values keep all.
type EventFilter struct {
	StreamID   string
	StreamType string
	Types      []string
	// Since keeps events recorded at or after it, Until those recorded before it.
	Since, Until time.Time
}

// Event is one stored event as operators see it.
type Event struct {
	GlobalPosition int64               `json:"global_position"`
	StreamID       string              `json:"stream_id"`
	StreamType     string              `json:"stream_type"`
	Version        int64               `json:"version"`
	Type           string              `json:"type"`
	SchemaVersion  int                 `json:"schema_version"`
	Data           json.RawMessage     `json:"data"`
	Metadata       eventstore.Metadata `json:"metadata"`
	RecordedAt     time.Time           `json:"recorded_at"`
}

func eventOf(e eventstore.Event) Event {
	return Event{
		GlobalPosition: e.GlobalPosition, StreamID: e.StreamID, StreamType: e.StreamType, Version: e.StreamVersion,
		Type: e.Type, SchemaVersion: e.SchemaVersion, Data: e.Data, Metadata: e.Metadata, RecordedAt: e.RecordedAt.UTC(),
	}
}

// EventsPage is a page of the raw history.
type EventsPage struct {
	Items []Event `json:"items"`
	// NextAfter is the After of the next page: the last item's global position, or the
	// query's After when the page is empty (poll again later).
	NextAfter int64 `json:"next_after"`
}

// ProjectionStatus is the state of one projection (GET /v1/admin/projections), as
// projections.Status reports it.
type ProjectionStatus = projections.ProjectionStatus

// RebuildStatus is the progress of one rebuild, as projections' bookkeeping records it.
type RebuildStatus = projections.RebuildStatus

// RebuildDone is the state of a rebuild whose version was promoted and serves.
const RebuildDone = projections.RebuildDone

// StreamAsOf is one stream as of a time.
type StreamAsOf struct {
	StreamID   string
	StreamType string
	// Version is the stream version of the last event returned.
	Version int64
	Events  []Event
	State   StreamState
}

// StreamState is the state of one aggregate, folded from its events: *JobState,
// *ApplicationState, *CompanyState or *CandidateState.
type StreamState interface{ streamState() }

// JobState is a job's state as the domain folds it.
type JobState struct {
	ID          string            `json:"id"`
	CompanyID   string            `json:"company_id"`
	Status      string            `json:"status"`
	Details     JobDetailsState   `json:"details"`
	Plan        string            `json:"plan"`
	Featured    bool              `json:"featured"`
	PostedAt    time.Time         `json:"posted_at"`
	PublishedAt *time.Time        `json:"published_at"`
	ExpiresAt   *time.Time        `json:"expires_at"`
	ClosedAt    *time.Time        `json:"closed_at"`
	ExpiredAt   *time.Time        `json:"expired_at"`
	Payments    []JobPaymentState `json:"payments"`
}

// JobDetailsState is what a job says about itself.
type JobDetailsState struct {
	Title          string              `json:"title"`
	Description    string              `json:"description"`
	EmploymentType string              `json:"employment_type"`
	Seniority      string              `json:"seniority"`
	Location       readmodels.Location `json:"location"`
	Salary         *readmodels.Salary  `json:"salary"`
	Tags           []string            `json:"tags"`
	ApplyURL       string              `json:"apply_url"`
}

// JobPaymentState is one listing payment of a job.
type JobPaymentState struct {
	PaymentID       string     `json:"payment_id"`
	PaymentIntentID string     `json:"payment_intent_id"`
	Plan            string     `json:"plan"`
	Amount          int64      `json:"amount"`
	Currency        string     `json:"currency"`
	Status          string     `json:"status"`
	RequestedAt     time.Time  `json:"requested_at"`
	PaidAt          *time.Time `json:"paid_at"`
	FailedAt        *time.Time `json:"failed_at"`
}

// ApplicationState is an application's state.
type ApplicationState struct {
	ID          string    `json:"id"`
	JobID       string    `json:"job_id"`
	CompanyID   string    `json:"company_id"`
	CandidateID string    `json:"candidate_id"`
	Status      string    `json:"status"`
	ResumeURL   string    `json:"resume_url"`
	CoverLetter string    `json:"cover_letter"`
	SubmittedAt time.Time `json:"submitted_at"`
}

// CompanyState is a company's state.
type CompanyState struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	Website      string    `json:"website"`
	Description  string    `json:"description"`
	RegisteredAt time.Time `json:"registered_at"`
}

// CandidateState is a candidate's state.
type CandidateState struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	RegisteredAt time.Time `json:"registered_at"`
}

// AlertState is an alert stream folded (GET /v1/admin/streams/{id}).
type AlertState struct {
	ID          string `json:"id"`
	CandidateID string `json:"candidate_id"`
	Frequency   string `json:"frequency"`
	Deleted     bool   `json:"deleted"`
}

func (*AlertState) streamState() {}

func (*JobState) streamState()         {}
func (*ApplicationState) streamState() {}
func (*CompanyState) streamState()     {}
func (*CandidateState) streamState()   {}

// AdminConfig is what the operators' handlers read.
type AdminConfig struct {
	Pool   *pgxpool.Pool
	Events *eventstore.Store
	// Rebuilder runs the rebuilds started here, in this process.
	Rebuilder *projections.Rebuilder
	// Closing is set when the rebuilder is being closed: a start refused then is "try again
	// elsewhere", not an internal error.
	Closing *atomic.Bool
	// LiveProjector builds the live projector of a projection, which dead-letter replays go
	// through.
	LiveProjector func(projection string) (projections.Projector, error)
}

// NewAdmin builds the operators' handlers.
func NewAdmin(c AdminConfig) (*Admin, error) {
	if c.Pool == nil || c.Events == nil || c.Rebuilder == nil || c.Closing == nil || c.LiveProjector == nil {
		return nil, errors.New("application: admin: Pool, Events, Rebuilder, Closing and LiveProjector are required")
	}
	a := admin(c)
	dead, err := projections.NewDeadLetters(c.Pool)
	if err != nil {
		return nil, err
	}
	out := &Admin{
		Projections:  HandlerFunc[ListProjections, []ProjectionStatus](a.projections),
		StartRebuild: HandlerFunc[StartRebuild, RebuildStarted](a.startRebuild),
		Rebuild:      HandlerFunc[GetRebuild, RebuildStatus](a.rebuild),
		Stream:       HandlerFunc[GetStream, StreamAsOf](a.stream),
		Events:       HandlerFunc[ReadEvents, EventsPage](a.events),
	}
	out.DeadLetters, out.DeadLetter, out.ReplayDeadLetters = deadLetters(dead, c.LiveProjector)
	return out, nil
}

type admin AdminConfig

func (a admin) projections(ctx context.Context, _ ListProjections) ([]ProjectionStatus, error) {
	return projections.Status(ctx, a.Pool, projections.StatusConfig{})
}

func (a admin) startRebuild(ctx context.Context, q StartRebuild) (RebuildStarted, error) {
	// The rebuild outlives the request: net/http cancels r.Context() as soon as the 202 is
	// written. Start detaches its goroutine itself; WithoutCancel also keeps a client that
	// hangs up mid-start from leaving half a start behind.
	id, err := a.Rebuilder.Start(context.WithoutCancel(ctx), q.Projection)
	switch {
	case errors.Is(err, projections.ErrUnknownProjection):
		return RebuildStarted{}, apperr.Wrap(apperr.NotFound, err, "no projection named %q", q.Projection)
	case errors.Is(err, projections.ErrRebuildInProgress):
		return RebuildStarted{}, apperr.Wrap(apperr.Conflict, err, "a rebuild of %s is in progress; GET /v1/admin/projections shows it", q.Projection)
	case err != nil && a.Closing.Load():
		return RebuildStarted{}, apperr.Wrap(apperr.Unavailable, err, "this instance is shutting down; retry")
	case err != nil:
		return RebuildStarted{}, err
	}
	return RebuildStarted{RebuildID: id.String()}, nil
}

func (a admin) rebuild(ctx context.Context, q GetRebuild) (RebuildStatus, error) {
	notFound := func(err error) error {
		return apperr.Wrap(apperr.NotFound, err, "no rebuild %s of projection %q", q.RebuildID, q.Projection)
	}
	id, err := uuid.Parse(q.RebuildID)
	if err != nil {
		return RebuildStatus{}, notFound(err)
	}
	s, err := a.Rebuilder.Status(ctx, id)
	if errors.Is(err, projections.ErrRebuildNotFound) {
		return RebuildStatus{}, notFound(err)
	}
	if err != nil {
		return RebuildStatus{}, err
	}
	if s.Projection != q.Projection {
		return RebuildStatus{}, notFound(fmt.Errorf("rebuild %s is of %s", id, s.Projection))
	}
	return s, nil
}

func (a admin) events(ctx context.Context, q ReadEvents) (EventsPage, error) {
	after, err := a.Events.PositionOf(ctx, q.After)
	if errors.Is(err, eventstore.ErrPositionNotFound) {
		return EventsPage{}, apperr.InvalidFields(apperr.FieldError{Field: "after", Message: "no event has this global position; use a next_after this route returned"})
	}
	if err != nil {
		return EventsPage{}, err
	}
	f := q.Filter
	events, err := a.Events.ReadAll(ctx, after, q.Limit, eventstore.ReadFilter{
		Types: f.Types, StreamType: f.StreamType, StreamID: f.StreamID, Since: f.Since, Until: f.Until,
	})
	if err != nil {
		return EventsPage{}, err
	}
	page := EventsPage{Items: make([]Event, len(events)), NextAfter: q.After}
	for i, e := range events {
		page.Items[i] = eventOf(e)
		page.NextAfter = e.GlobalPosition
	}
	return page, nil
}

func (a admin) stream(ctx context.Context, q GetStream) (StreamAsOf, error) {
	streamID, asOf := q.StreamID, q.AsOf
	events, err := a.Events.LoadStream(ctx, streamID, eventstore.LoadOptions{AsOf: asOf})
	if err != nil {
		return StreamAsOf{}, err
	}
	if len(events) == 0 {
		if asOf.IsZero() {
			return StreamAsOf{}, apperr.New(apperr.NotFound, "no stream %s", streamID)
		}
		return StreamAsOf{}, apperr.New(apperr.NotFound, "stream %s has no event recorded at or before %s", streamID, asOf.UTC().Format(time.RFC3339Nano))
	}
	history := make([]domain.Event, len(events))
	shown := make([]Event, len(events))
	for i, e := range events {
		// The store's registry has upcast e to the domain's current schema version.
		if history[i], err = storedevents.Decode(e); err != nil {
			return StreamAsOf{}, fmt.Errorf("stream %s: %w", streamID, err)
		}
		shown[i] = eventOf(e)
	}
	last := events[len(events)-1]
	state, err := foldState(last.StreamType, streamID, history)
	if err != nil {
		return StreamAsOf{}, fmt.Errorf("fold stream %s: %w", streamID, err)
	}
	return StreamAsOf{StreamID: streamID, StreamType: last.StreamType, Version: last.StreamVersion, Events: shown, State: state}, nil
}

// foldState folds a history with the aggregate's own Load function and shows the result
// through its getters.
func foldState(streamType, id string, history []domain.Event) (StreamState, error) {
	switch streamType {
	case domain.StreamTypeJob:
		j, err := domain.LoadJob(id, history)
		if err != nil {
			return nil, err
		}
		return jobState(j), nil
	case domain.StreamTypeApplication:
		a, err := domain.LoadApplication(id, history)
		if err != nil {
			return nil, err
		}
		return &ApplicationState{
			ID: a.ID(), JobID: a.JobID(), CompanyID: a.CompanyID(), CandidateID: a.CandidateID(),
			Status: a.Status().String(), ResumeURL: a.ResumeURL(), CoverLetter: a.CoverLetter(), SubmittedAt: a.SubmittedAt().UTC(),
		}, nil
	case domain.StreamTypeCompany:
		c, err := domain.LoadCompany(id, history)
		if err != nil {
			return nil, err
		}
		return &CompanyState{
			ID: c.ID(), Name: c.Name(), Email: c.Email(), Website: c.Website(), Description: c.Description(),
			RegisteredAt: c.RegisteredAt().UTC(),
		}, nil
	case domain.StreamTypeCandidate:
		c, err := domain.LoadCandidate(id, history)
		if err != nil {
			return nil, err
		}
		return &CandidateState{ID: c.ID(), Name: c.Name(), Email: c.Email(), RegisteredAt: c.RegisteredAt().UTC()}, nil
	case domain.StreamTypeAlert:
		a, err := domain.LoadAlert(id, history)
		if err != nil {
			return nil, err
		}
		return &AlertState{ID: a.ID(), CandidateID: a.CandidateID(), Frequency: a.Frequency().String(), Deleted: a.Deleted()}, nil
	default:
		return nil, fmt.Errorf("unknown stream type %q", streamType)
	}
}

func jobState(j *domain.Job) *JobState {
	d := j.Details().Input()
	out := &JobState{
		ID: j.ID(), CompanyID: j.CompanyID(), Status: j.Status().String(), Plan: j.Plan().String(), Featured: j.Featured(),
		PostedAt: j.PostedAt().UTC(), PublishedAt: optionalTime(j.PublishedAt()), ExpiresAt: optionalTime(j.ExpiresAt()),
		ClosedAt: optionalTime(j.ClosedAt()), ExpiredAt: optionalTime(j.ExpiredAt()),
		Details: JobDetailsState{
			Title: d.Title, Description: d.Description, EmploymentType: d.EmploymentType, Seniority: d.Seniority,
			Location: readmodels.Location{Remote: d.Location.Remote, Regions: nonNil(d.Location.Regions), Countries: nonNil(d.Location.Countries)},
			Tags:     nonNil(d.Tags), ApplyURL: d.ApplyURL,
		},
		Payments: []JobPaymentState{},
	}
	if tz := d.Location.Timezones; tz != nil {
		out.Details.Location.Timezones = &readmodels.Timezones{MinUTCOffset: tz.MinUTCOffset, MaxUTCOffset: tz.MaxUTCOffset}
	}
	if s := d.Salary; s != nil {
		out.Details.Salary = &readmodels.Salary{Min: s.Min, Max: s.Max, Currency: s.Currency, Period: s.Period}
	}
	for _, p := range j.Payments() {
		out.Payments = append(out.Payments, JobPaymentState{
			PaymentID: p.ID, PaymentIntentID: p.IntentID, Plan: p.Plan.String(), Amount: p.Price.Amount(),
			Currency: p.Price.Currency().String(), Status: p.Status.String(), RequestedAt: p.RequestedAt.UTC(),
			PaidAt: optionalTime(p.PaidAt), FailedAt: optionalTime(p.FailedAt),
		})
	}
	return out
}

// optionalTime shows a zero time (not happened) as null.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
