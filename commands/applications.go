package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

// Apply is a candidate applying to a published job (POST /v1/jobs/{id}/applications).
type Apply struct {
	Caller      Caller
	JobID       string
	ResumeURL   string
	CoverLetter string
}

// ApplyHandler handles Apply.
type ApplyHandler struct {
	store EventStore
	clock Clock
	ids   IDGenerator
}

// NewApplyHandler returns a handler; every dependency is required.
func NewApplyHandler(store EventStore, clock Clock, ids IDGenerator) (*ApplyHandler, error) {
	if err := required(store, clock, ids); err != nil {
		return nil, fmt.Errorf("new apply handler: %w", err)
	}
	return &ApplyHandler{store: store, clock: clock, ids: ids}, nil
}

// Handle records ApplicationSubmitted on a new stream with a fresh id from the handler's
// IDGenerator (UUIDv7 in production: its 74 random bits make it unguessable, and the
// millisecond it carries is the submitted_at anyone who may see the application already
// sees; nothing in it names the job or the candidate). One application per candidate and
// job is the ClaimApplication claim of domain.ApplicationKey, reserved in the append's
// transaction: a second application is apperr.Conflict, however many race.
// A job that takes no applications (unpaid, closed, expired) is apperr.Conflict too; an
// unknown job apperr.NotFound.
//
// The job is read, not written: a job closed at the very moment a candidate applies may
// still receive that one application.
func (h *ApplyHandler) Handle(ctx context.Context, cmd Apply) (Result, error) {
	if err := requireRole(cmd.Caller.Actor, RoleCandidate); err != nil {
		return Result{}, err
	}
	candidateID := cmd.Caller.Actor.ID
	appID := h.ids()
	x := execution{store: h.store, streamID: appID, metadata: cmd.Caller.metadata("Apply", h.ids), what: "application"}
	return x.run(ctx, func(ctx context.Context, s Stream) (decision, error) {
		if s.Version != 0 {
			return decision{}, fmt.Errorf("application %s: %w", appID, domain.ErrAlreadyExists)
		}
		js, err := h.store.Load(ctx, cmd.JobID)
		if err != nil {
			return decision{}, err
		}
		job, err := loadJob(js)
		if errors.Is(err, domain.ErrNotFound) {
			return decision{}, apperr.Wrap(apperr.NotFound, err, "job not found")
		}
		if err != nil {
			return decision{}, err
		}
		app, err := domain.SubmitApplication(appID, job, candidateID, cmd.ResumeURL, cmd.CoverLetter, h.clock())
		if err != nil {
			return decision{}, err
		}
		return decision{
			streamType: app.StreamType(),
			events:     app.Changes(),
			claims:     []Claim{{Scope: ClaimApplication, Key: domain.ApplicationKey(cmd.JobID, candidateID), StreamID: appID}},
		}, nil
	})
}

// loadApplication folds an application stream.
func loadApplication(s Stream) (*domain.Application, error) {
	if err := checkStreamType(s, domain.StreamTypeApplication); err != nil {
		return nil, err
	}
	return domain.LoadApplication(s.ID, s.Events)
}

// ownedApplication is the authorize check of commands on an existing application: the
// party owner names (its candidate or the job's company) must be actorID. Anyone else
// finds no application.
func ownedApplication(owner func(*domain.Application) string, actorID string) func(Stream) error {
	return func(s Stream) error {
		app, err := loadApplication(s)
		if err != nil {
			return err
		}
		if owner(app) != actorID {
			return fmt.Errorf("application %s: %w", s.ID, domain.ErrNotOwner)
		}
		return nil
	}
}

// WithdrawApplication is the candidate taking an application back
// (POST /v1/applications/{id}/withdraw).
type WithdrawApplication struct {
	Caller        Caller
	ApplicationID string
	// ExpectedVersion is the client's If-Match, nil if none.
	ExpectedVersion *int64
}

// WithdrawApplicationHandler handles WithdrawApplication.
type WithdrawApplicationHandler struct {
	store EventStore
	clock Clock
	ids   IDGenerator
}

// NewWithdrawApplicationHandler returns a handler; every dependency is required.
func NewWithdrawApplicationHandler(store EventStore, clock Clock, ids IDGenerator) (*WithdrawApplicationHandler, error) {
	if err := required(store, clock, ids); err != nil {
		return nil, fmt.Errorf("new withdraw application handler: %w", err)
	}
	return &WithdrawApplicationHandler{store: store, clock: clock, ids: ids}, nil
}

// Handle records ApplicationWithdrawn; a no-op when already withdrawn, apperr.Conflict once
// hired or rejected. Someone else's application is apperr.NotFound (applications are private).
func (h *WithdrawApplicationHandler) Handle(ctx context.Context, cmd WithdrawApplication) (Result, error) {
	if err := requireRole(cmd.Caller.Actor, RoleCandidate); err != nil {
		return Result{}, err
	}
	x := execution{store: h.store, streamID: cmd.ApplicationID, pinned: cmd.ExpectedVersion,
		authorize: ownedApplication((*domain.Application).CandidateID, cmd.Caller.Actor.ID),
		metadata:  cmd.Caller.metadata("WithdrawApplication", h.ids), what: "application"}
	return x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		app, err := loadApplication(s)
		if err != nil {
			return decision{}, err
		}
		if err := app.Withdraw(cmd.Caller.Actor.ID, h.clock()); err != nil {
			return decision{}, err
		}
		return decision{streamType: app.StreamType(), events: app.Changes()}, nil
	})
}

// ChangeApplicationStatus is the job's employer moving an application on
// (POST /v1/applications/{id}/status).
type ChangeApplicationStatus struct {
	Caller        Caller
	ApplicationID string
	// Status is reviewing, interviewing, offered, hired or rejected.
	Status string
	// ExpectedVersion is the client's If-Match, nil if none.
	ExpectedVersion *int64
}

// ChangeApplicationStatusHandler handles ChangeApplicationStatus.
type ChangeApplicationStatusHandler struct {
	store EventStore
	clock Clock
	ids   IDGenerator
}

// NewChangeApplicationStatusHandler returns a handler; every dependency is required.
func NewChangeApplicationStatusHandler(store EventStore, clock Clock, ids IDGenerator) (*ChangeApplicationStatusHandler, error) {
	if err := required(store, clock, ids); err != nil {
		return nil, fmt.Errorf("new change application status handler: %w", err)
	}
	return &ChangeApplicationStatusHandler{store: store, clock: clock, ids: ids}, nil
}

// employerStatuses are the statuses an employer may ask for.
var employerStatuses = map[string]domain.ApplicationStatus{
	domain.ApplicationStatusReviewing.String():    domain.ApplicationStatusReviewing,
	domain.ApplicationStatusInterviewing.String(): domain.ApplicationStatusInterviewing,
	domain.ApplicationStatusOffered.String():      domain.ApplicationStatusOffered,
	domain.ApplicationStatusHired.String():        domain.ApplicationStatusHired,
	domain.ApplicationStatusRejected.String():     domain.ApplicationStatusRejected,
}

// Handle records ApplicationStatusChanged; a no-op for the current status; an illegal move
// is apperr.Conflict, an unknown status apperr.Invalid. An application to another company's
// job is apperr.NotFound.
func (h *ChangeApplicationStatusHandler) Handle(ctx context.Context, cmd ChangeApplicationStatus) (Result, error) {
	if err := requireRole(cmd.Caller.Actor, RoleEmployer); err != nil {
		return Result{}, err
	}
	to, ok := employerStatuses[cmd.Status]
	if !ok {
		return Result{}, invalidField("status", "must be one of reviewing, interviewing, offered, hired, rejected")
	}
	x := execution{store: h.store, streamID: cmd.ApplicationID, pinned: cmd.ExpectedVersion,
		authorize: ownedApplication((*domain.Application).CompanyID, cmd.Caller.Actor.ID),
		metadata:  cmd.Caller.metadata("ChangeApplicationStatus", h.ids), what: "application"}
	return x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		app, err := loadApplication(s)
		if err != nil {
			return decision{}, err
		}
		if err := app.ChangeStatus(cmd.Caller.Actor.ID, to, h.clock()); err != nil {
			return decision{}, err
		}
		return decision{streamType: app.StreamType(), events: app.Changes()}, nil
	})
}
