package commands

import (
	"context"
	"fmt"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

// loadOwnedJob folds a job and checks that companyID owns it. Someone else's job is
// NotFound unless it is published (everyone may see it, so Forbidden says no more).
func loadOwnedJob(s Stream, companyID string) (*domain.Job, error) {
	job, err := loadJob(s)
	if err != nil {
		return nil, err
	}
	if err := job.CheckOwner(companyID); err != nil {
		if job.Status() == domain.JobStatusPublished {
			return nil, apperr.Wrap(apperr.Forbidden, err, "this job belongs to another company")
		}
		return nil, apperr.Wrap(apperr.NotFound, err, "job not found")
	}
	return job, nil
}

// ownedJob is the authorize check of commands on companyID's existing job.
func ownedJob(companyID string) func(Stream) error {
	return func(s Stream) error {
		_, err := loadOwnedJob(s, companyID)
		return err
	}
}

// PostJob drafts a job for the employer's company (POST /v1/jobs); it awaits payment.
type PostJob struct {
	Caller  Caller
	Details domain.JobDetailsInput
}

// PostJobHandler handles PostJob.
type PostJobHandler struct {
	store EventStore
	clock Clock
	ids   IDGenerator
}

// NewPostJobHandler returns a handler; every dependency is required.
func NewPostJobHandler(store EventStore, clock Clock, ids IDGenerator) (*PostJobHandler, error) {
	if err := required(store, clock, ids); err != nil {
		return nil, fmt.Errorf("new post job handler: %w", err)
	}
	return &PostJobHandler{store: store, clock: clock, ids: ids}, nil
}

// Handle validates the details (every field at fault is listed) and records JobPosted.
func (h *PostJobHandler) Handle(ctx context.Context, cmd PostJob) (Result, error) {
	if err := requireRole(cmd.Caller.Actor, RoleEmployer); err != nil {
		return Result{}, err
	}
	id := h.ids()
	x := execution{store: h.store, streamID: id, metadata: cmd.Caller.metadata("PostJob", h.ids), what: "job"}
	return x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		if s.Version != 0 {
			return decision{}, fmt.Errorf("job %s: %w", id, domain.ErrAlreadyExists)
		}
		details, err := domain.NewJobDetails(cmd.Details)
		if err != nil {
			return decision{}, err
		}
		job, err := domain.PostJob(id, cmd.Caller.Actor.ID, details, h.clock())
		if err != nil {
			return decision{}, err
		}
		return decision{streamType: job.StreamType(), events: job.Changes()}, nil
	})
}

// UpdateJob changes some details of a job (PATCH /v1/jobs/{id}).
type UpdateJob struct {
	Caller Caller
	JobID  string
	Patch  domain.JobDetailsPatch
	// ExpectedVersion is the client's If-Match, nil if none.
	ExpectedVersion *int64
}

// UpdateJobHandler handles UpdateJob.
type UpdateJobHandler struct {
	store EventStore
	clock Clock
	ids   IDGenerator
}

// NewUpdateJobHandler returns a handler; every dependency is required.
func NewUpdateJobHandler(store EventStore, clock Clock, ids IDGenerator) (*UpdateJobHandler, error) {
	if err := required(store, clock, ids); err != nil {
		return nil, fmt.Errorf("new update job handler: %w", err)
	}
	return &UpdateJobHandler{store: store, clock: clock, ids: ids}, nil
}

// Handle records JobDetailsChanged, or nothing when the details stay the same.
func (h *UpdateJobHandler) Handle(ctx context.Context, cmd UpdateJob) (Result, error) {
	if err := requireRole(cmd.Caller.Actor, RoleEmployer); err != nil {
		return Result{}, err
	}
	x := execution{store: h.store, streamID: cmd.JobID, pinned: cmd.ExpectedVersion, authorize: ownedJob(cmd.Caller.Actor.ID),
		metadata: cmd.Caller.metadata("UpdateJob", h.ids), what: "job"}
	return x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		job, err := loadOwnedJob(s, cmd.Caller.Actor.ID)
		if err != nil {
			return decision{}, err
		}
		if err := job.Update(cmd.Caller.Actor.ID, cmd.Patch, h.clock()); err != nil {
			return decision{}, err
		}
		return decision{streamType: job.StreamType(), events: job.Changes()}, nil
	})
}

// CloseJob takes a job off the board (POST /v1/jobs/{id}/close).
type CloseJob struct {
	Caller Caller
	JobID  string
	// ExpectedVersion is the client's If-Match, nil if none.
	ExpectedVersion *int64
}

// CloseJobHandler handles CloseJob.
type CloseJobHandler struct {
	store EventStore
	clock Clock
	ids   IDGenerator
}

// NewCloseJobHandler returns a handler; every dependency is required.
func NewCloseJobHandler(store EventStore, clock Clock, ids IDGenerator) (*CloseJobHandler, error) {
	if err := required(store, clock, ids); err != nil {
		return nil, fmt.Errorf("new close job handler: %w", err)
	}
	return &CloseJobHandler{store: store, clock: clock, ids: ids}, nil
}

// Handle records JobClosed (and unschedules its expiry); closing a closed job is a no-op,
// an expired one a conflict.
func (h *CloseJobHandler) Handle(ctx context.Context, cmd CloseJob) (Result, error) {
	if err := requireRole(cmd.Caller.Actor, RoleEmployer); err != nil {
		return Result{}, err
	}
	x := execution{store: h.store, streamID: cmd.JobID, pinned: cmd.ExpectedVersion, authorize: ownedJob(cmd.Caller.Actor.ID),
		metadata: cmd.Caller.metadata("CloseJob", h.ids), what: "job"}
	return x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		job, err := loadOwnedJob(s, cmd.Caller.Actor.ID)
		if err != nil {
			return decision{}, err
		}
		if err := job.Close(cmd.Caller.Actor.ID, h.clock()); err != nil {
			return decision{}, err
		}
		return decision{streamType: job.StreamType(), events: job.Changes()}, nil
	})
}

// ExpireJob ends a listing whose time ran out; the system (ExpiryScheduler) sends it.
type ExpireJob struct {
	Caller Caller
	JobID  string
}

// ExpireJobHandler handles ExpireJob.
type ExpireJobHandler struct {
	store EventStore
	clock Clock
	ids   IDGenerator
}

// NewExpireJobHandler returns a handler; every dependency is required.
func NewExpireJobHandler(store EventStore, clock Clock, ids IDGenerator) (*ExpireJobHandler, error) {
	if err := required(store, clock, ids); err != nil {
		return nil, fmt.Errorf("new expire job handler: %w", err)
	}
	return &ExpireJobHandler{store: store, clock: clock, ids: ids}, nil
}

// Handle records JobExpired if the job is published and due at the handler's clock, and
// nothing otherwise (closed, renewed or not due yet: the aggregate decides).
func (h *ExpireJobHandler) Handle(ctx context.Context, cmd ExpireJob) (Result, error) {
	if err := requireRole(cmd.Caller.Actor, RoleSystem, RoleOperator); err != nil {
		return Result{}, err
	}
	x := execution{store: h.store, streamID: cmd.JobID, metadata: cmd.Caller.metadata("ExpireJob", h.ids), what: "job"}
	return x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		job, err := loadJob(s)
		if err != nil {
			return decision{}, err
		}
		if err := job.Expire(h.clock()); err != nil {
			return decision{}, err
		}
		return decision{streamType: job.StreamType(), events: job.Changes()}, nil
	})
}

// loadJob folds a job stream; another aggregate's stream id is a job that does not exist.
func loadJob(s Stream) (*domain.Job, error) {
	if err := checkStreamType(s, domain.StreamTypeJob); err != nil {
		return nil, err
	}
	return domain.LoadJob(s.ID, s.Events)
}

// checkStreamType answers ErrNotFound for an id that names a stream of another type.
func checkStreamType(s Stream, want string) error {
	if s.Version > 0 && s.Type != want {
		return fmt.Errorf("%s %s: %w", want, s.ID, domain.ErrNotFound)
	}
	return nil
}
