package app

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/api"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/repository"
)

// adminPort implements api.Admin: projection status and rebuilds over projections/, and a
// stream as of a time over the event store, folded by the domain's own Load functions so
// the state shown is exactly what a command would see.
type adminPort struct {
	pool      *pgxpool.Pool
	store     *eventstore.Store
	rebuilder *projections.Rebuilder
	// closing is set when Main closes the rebuilder: a start refused then is "try again
	// elsewhere", not an internal error.
	closing *atomic.Bool
}

var _ api.Admin = adminPort{}

func (a adminPort) Projections(ctx context.Context) ([]api.ProjectionStatus, error) {
	all, err := projections.Status(ctx, a.pool, projections.StatusConfig{})
	if err != nil {
		return nil, err
	}
	out := make([]api.ProjectionStatus, len(all))
	for i, s := range all {
		out[i] = api.ProjectionStatus{
			Name: s.Name, Version: s.Version, State: s.State, LagEvents: s.LagEvents, LagSeconds: s.LagSeconds,
			LastError: s.LastError, DeadLetters: s.DeadLetters,
		}
		if s.Rebuild != nil {
			r := rebuildStatus(*s.Rebuild)
			out[i].Rebuild = &r
		}
	}
	return out, nil
}

func (a adminPort) StartRebuild(ctx context.Context, projection string) (string, error) {
	// The rebuild outlives the request: net/http cancels r.Context() as soon as the 202 is
	// written. Start detaches its goroutine itself; WithoutCancel also keeps a client that
	// hangs up mid-start from leaving half a start behind.
	id, err := a.rebuilder.Start(context.WithoutCancel(ctx), projection)
	switch {
	case errors.Is(err, projections.ErrUnknownProjection):
		return "", apperr.Wrap(apperr.NotFound, err, "no projection named %q", projection)
	case errors.Is(err, projections.ErrRebuildInProgress):
		return "", apperr.Wrap(apperr.Conflict, err, "a rebuild of %s is in progress; GET /v1/admin/projections shows it", projection)
	case err != nil && a.closing.Load():
		return "", apperr.Wrap(apperr.Unavailable, err, "this instance is shutting down; retry")
	case err != nil:
		return "", err
	}
	return id.String(), nil
}

func (a adminPort) Rebuild(ctx context.Context, projection, rebuildID string) (api.RebuildStatus, error) {
	notFound := func(err error) error {
		return apperr.Wrap(apperr.NotFound, err, "no rebuild %s of projection %q", rebuildID, projection)
	}
	id, err := uuid.Parse(rebuildID)
	if err != nil {
		return api.RebuildStatus{}, notFound(err)
	}
	s, err := a.rebuilder.Status(ctx, id)
	if errors.Is(err, projections.ErrRebuildNotFound) {
		return api.RebuildStatus{}, notFound(err)
	}
	if err != nil {
		return api.RebuildStatus{}, err
	}
	if s.Projection != projection {
		return api.RebuildStatus{}, notFound(fmt.Errorf("rebuild %s is of %s", id, s.Projection))
	}
	return rebuildStatus(s), nil
}

func rebuildStatus(s projections.RebuildStatus) api.RebuildStatus {
	out := api.RebuildStatus{
		ID: s.ID.String(), Projection: s.Projection, FromVersion: s.FromVersion, ToVersion: s.ToVersion,
		State: s.State, EventsDone: s.EventsDone, EventsTotal: s.EventsTotal, EventsPerSecond: s.EventsPerSecond,
		StartedAt: s.StartedAt.UTC(), Error: s.Error,
	}
	if !s.Finished() {
		out.ETASeconds = s.ETA().Seconds()
	}
	if s.FinishedAt != nil {
		t := s.FinishedAt.UTC()
		out.FinishedAt = &t
	}
	return out
}

func (a adminPort) Stream(ctx context.Context, streamID string, asOf time.Time) (api.StreamAsOf, error) {
	events, err := a.store.LoadStream(ctx, streamID, eventstore.LoadOptions{AsOf: asOf})
	if err != nil {
		return api.StreamAsOf{}, err
	}
	if len(events) == 0 {
		if asOf.IsZero() {
			return api.StreamAsOf{}, apperr.New(apperr.NotFound, "no stream %s", streamID)
		}
		return api.StreamAsOf{}, apperr.New(apperr.NotFound, "stream %s has no event recorded at or before %s", streamID, asOf.UTC().Format(time.RFC3339Nano))
	}
	history := make([]domain.Event, len(events))
	for i, e := range events {
		// The store's registry has upcast e to the domain's current schema version.
		if history[i], err = repository.Decode(e); err != nil {
			return api.StreamAsOf{}, fmt.Errorf("stream %s: %w", streamID, err)
		}
	}
	last := events[len(events)-1]
	state, err := foldState(last.StreamType, streamID, history)
	if err != nil {
		return api.StreamAsOf{}, fmt.Errorf("fold stream %s: %w", streamID, err)
	}
	return api.StreamAsOf{StreamID: streamID, StreamType: last.StreamType, Version: last.StreamVersion, Events: events, State: state}, nil
}

// foldState folds a history with the aggregate's own Load function and shows the result
// through its getters.
func foldState(streamType, id string, history []domain.Event) (api.StreamState, error) {
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
		return &api.ApplicationState{
			ID: a.ID(), JobID: a.JobID(), CompanyID: a.CompanyID(), CandidateID: a.CandidateID(),
			Status: a.Status().String(), ResumeURL: a.ResumeURL(), CoverLetter: a.CoverLetter(), SubmittedAt: a.SubmittedAt().UTC(),
		}, nil
	case domain.StreamTypeCompany:
		c, err := domain.LoadCompany(id, history)
		if err != nil {
			return nil, err
		}
		return &api.CompanyState{
			ID: c.ID(), Name: c.Name(), Email: c.Email(), Website: c.Website(), Description: c.Description(),
			RegisteredAt: c.RegisteredAt().UTC(),
		}, nil
	case domain.StreamTypeCandidate:
		c, err := domain.LoadCandidate(id, history)
		if err != nil {
			return nil, err
		}
		return &api.CandidateState{ID: c.ID(), Name: c.Name(), Email: c.Email(), RegisteredAt: c.RegisteredAt().UTC()}, nil
	default:
		return nil, fmt.Errorf("unknown stream type %q", streamType)
	}
}

func jobState(j *domain.Job) *api.JobState {
	d := j.Details().Input()
	out := &api.JobState{
		ID: j.ID(), CompanyID: j.CompanyID(), Status: j.Status().String(), Plan: j.Plan().String(), Featured: j.Featured(),
		PostedAt: j.PostedAt().UTC(), PublishedAt: optionalTime(j.PublishedAt()), ExpiresAt: optionalTime(j.ExpiresAt()),
		ClosedAt: optionalTime(j.ClosedAt()), ExpiredAt: optionalTime(j.ExpiredAt()),
		Details: api.JobDetailsState{
			Title: d.Title, Description: d.Description, EmploymentType: d.EmploymentType, Seniority: d.Seniority,
			Location: api.Location{Remote: d.Location.Remote, Regions: nonNil(d.Location.Regions), Countries: nonNil(d.Location.Countries)},
			Tags:     nonNil(d.Tags), ApplyURL: d.ApplyURL,
		},
		Payments: []api.JobPaymentState{},
	}
	if tz := d.Location.Timezones; tz != nil {
		out.Details.Location.Timezones = &api.Timezones{MinUTCOffset: tz.MinUTCOffset, MaxUTCOffset: tz.MaxUTCOffset}
	}
	if s := d.Salary; s != nil {
		out.Details.Salary = &api.Salary{Min: s.Min, Max: s.Max, Currency: s.Currency, Period: s.Period}
	}
	for _, p := range j.Payments() {
		out.Payments = append(out.Payments, api.JobPaymentState{
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

// wireAdmin builds what the operator routes drive into cfg: projection status, a
// Rebuilder and the stream-as-of reader. A rebuild started through the API runs in this
// process, owned by the Rebuilder; Close cancels it (version N keeps serving, N+1 is
// dropped), so an operator restarts it elsewhere.
func (m *Main) wireAdmin(cfg *api.ServerConfig) error {
	rb, err := projections.NewRebuilder(m.pool, m.es, m.store, m.registry, projections.RebuilderConfig{
		SearchAlias:   m.cfg.SearchAlias(),
		IndexPrefix:   m.cfg.SearchIndexPrefix(),
		IndexSettings: m.cfg.SearchIndexSettings(),
		Logger:        m.log,
	})
	if err != nil {
		return err
	}
	closing := &atomic.Bool{}
	m.closers = append(m.closers, func() error {
		closing.Store(true)
		return rb.Close()
	})
	cfg.Admin = adminPort{pool: m.pool, store: m.store, rebuilder: rb, closing: closing}
	return nil
}
