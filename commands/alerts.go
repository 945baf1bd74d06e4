package commands

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

// AlertCounter counts a candidate's live alerts, for the cap on alerts per candidate. It
// reads the alerts projection, so the cap is soft: a burst of concurrent creations may pass
// it by a few (docs/adr/0007-job-alerts.md explains why that is enough).
type AlertCounter interface {
	LiveAlerts(ctx context.Context, candidateID string) (int, error)
}

// CreateAlert saves a candidate's search to be emailed about
// (POST /v1/candidates/me/alerts).
type CreateAlert struct {
	Caller Caller
	Input  domain.AlertInput
}

// CreateAlertHandler handles CreateAlert.
type CreateAlertHandler struct {
	store   EventStore
	clock   Clock
	ids     IDGenerator
	counter AlertCounter
}

// NewCreateAlertHandler returns a handler; every dependency is required.
func NewCreateAlertHandler(store EventStore, clock Clock, ids IDGenerator, counter AlertCounter) (*CreateAlertHandler, error) {
	if err := required(store, clock, ids, counter); err != nil {
		return nil, fmt.Errorf("new create alert handler: %w", err)
	}
	return &CreateAlertHandler{store: store, clock: clock, ids: ids, counter: counter}, nil
}

// Handle records AlertCreated in a new alert stream. A candidate at
// domain.MaxAlertsPerCandidate live alerts gets apperr.Conflict.
func (h *CreateAlertHandler) Handle(ctx context.Context, cmd CreateAlert) (Result, error) {
	a := cmd.Caller.Actor
	if err := requireRole(a, RoleCandidate); err != nil {
		return Result{}, err
	}
	n, err := h.counter.LiveAlerts(ctx, a.ID)
	if err != nil {
		return Result{}, translate(err, "alert")
	}
	if n >= domain.MaxAlertsPerCandidate {
		return Result{}, apperr.New(apperr.Conflict, "a candidate may keep at most %d alerts; delete one first", domain.MaxAlertsPerCandidate)
	}
	id := h.ids()
	x := execution{store: h.store, streamID: id, metadata: cmd.Caller.metadata("CreateAlert", h.ids), what: "alert"}
	return x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		if s.Version != 0 {
			return decision{}, fmt.Errorf("alert %s: %w", id, domain.ErrAlreadyExists)
		}
		alert, err := domain.CreateAlert(id, a.ID, cmd.Input, h.clock())
		if err != nil {
			return decision{}, err
		}
		return decision{streamType: alert.StreamType(), events: alert.Changes()}, nil
	})
}

// DeleteAlert ends an alert: its candidate deleting it (DELETE /v1/candidates/me/alerts/{id}),
// or anyone holding the alert's signed unsubscribe link (the API checks the signature and
// calls with a RoleSystem caller and Unsubscribe set).
type DeleteAlert struct {
	Caller  Caller
	AlertID string
	// Unsubscribe: the signed one-click link asked, not the candidate's session; the
	// signature stands for the ownership check.
	Unsubscribe bool
	// ExpectedVersion is the client's If-Match, nil if none.
	ExpectedVersion *int64
}

// DeleteAlertHandler handles DeleteAlert.
type DeleteAlertHandler struct {
	store EventStore
	clock Clock
	ids   IDGenerator
}

// NewDeleteAlertHandler returns a handler; every dependency is required.
func NewDeleteAlertHandler(store EventStore, clock Clock, ids IDGenerator) (*DeleteAlertHandler, error) {
	if err := required(store, clock, ids); err != nil {
		return nil, fmt.Errorf("new delete alert handler: %w", err)
	}
	return &DeleteAlertHandler{store: store, clock: clock, ids: ids}, nil
}

// Handle records AlertDeleted; a no-op for an alert already ended. Another candidate's alert
// is apperr.NotFound, like a missing one.
func (h *DeleteAlertHandler) Handle(ctx context.Context, cmd DeleteAlert) (Result, error) {
	a := cmd.Caller.Actor
	reason, role, command := domain.AlertDeletedByCandidate, RoleCandidate, "DeleteAlert"
	if cmd.Unsubscribe {
		reason, role, command = domain.AlertUnsubscribed, RoleSystem, "UnsubscribeAlert"
	}
	if err := requireRole(a, role); err != nil {
		return Result{}, err
	}
	load := func(s Stream) (*domain.Alert, error) {
		if err := checkStreamType(s, domain.StreamTypeAlert); err != nil {
			return nil, err
		}
		return domain.LoadAlert(s.ID, s.Events)
	}
	x := execution{store: h.store, streamID: cmd.AlertID, metadata: cmd.Caller.metadata(command, h.ids), what: "alert",
		pinned: cmd.ExpectedVersion,
		authorize: func(s Stream) error {
			alert, err := load(s)
			if err != nil {
				return err
			}
			if !cmd.Unsubscribe && alert.CandidateID() != a.ID {
				return fmt.Errorf("alert %s: %w", s.ID, domain.ErrNotOwner)
			}
			return nil
		}}
	return x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		alert, err := load(s)
		if err != nil {
			return decision{}, err
		}
		alert.Delete(reason, h.clock())
		return decision{streamType: alert.StreamType(), events: alert.Changes()}, nil
	})
}

// SetEmailPreferences chooses which optional e-mails an account receives: the caller's own
// (PUT /v1/candidates/me/email-preferences, PUT /v1/companies/me/email-preferences), or,
// for the signed unsubscribe link of one category (a RoleSystem caller), the account
// Subject names, where TurnOff is added to what is already off.
type SetEmailPreferences struct {
	Caller Caller
	// Off is every category turned off (the whole set) for the caller's own account.
	Off []domain.EmailCategory
	// Subject and TurnOff are the unsubscribe link's account and category.
	Subject Actor
	TurnOff domain.EmailCategory
}

// SetEmailPreferencesHandler handles SetEmailPreferences.
type SetEmailPreferencesHandler struct {
	store EventStore
	clock Clock
	ids   IDGenerator
}

// NewSetEmailPreferencesHandler returns a handler; every dependency is required.
func NewSetEmailPreferencesHandler(store EventStore, clock Clock, ids IDGenerator) (*SetEmailPreferencesHandler, error) {
	if err := required(store, clock, ids); err != nil {
		return nil, fmt.Errorf("new set email preferences handler: %w", err)
	}
	return &SetEmailPreferencesHandler{store: store, clock: clock, ids: ids}, nil
}

// emailPreferencer is what Company and Candidate share for their e-mail preferences.
type emailPreferencer interface {
	SetEmailPreferences(off []domain.EmailCategory, now time.Time) error
	EmailOff() []domain.EmailCategory
	StreamType() string
	Changes() []domain.Event
}

// Handle records the preferences on the account's stream; the same set again is a no-op.
func (h *SetEmailPreferencesHandler) Handle(ctx context.Context, cmd SetEmailPreferences) (Result, error) {
	subject, command := cmd.Caller.Actor, "SetEmailPreferences"
	if cmd.Caller.Actor.Role == RoleSystem {
		subject, command = cmd.Subject, "UnsubscribeEmailCategory"
		if cmd.TurnOff == "" || subject.ID == "" {
			return Result{}, apperr.New(apperr.Invalid, "an unsubscribe names an account and a category")
		}
	} else if err := requireRole(subject, RoleEmployer, RoleCandidate); err != nil {
		return Result{}, err
	}
	what := "company"
	if subject.Role == RoleCandidate {
		what = "candidate"
	} else if subject.Role != RoleEmployer {
		return Result{}, apperr.New(apperr.Invalid, "e-mail preferences belong to employers and candidates")
	}
	x := execution{store: h.store, streamID: subject.ID, metadata: cmd.Caller.metadata(command, h.ids), what: what}
	return x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		var (
			acc emailPreferencer
			err error
		)
		if subject.Role == RoleCandidate {
			if err = checkStreamType(s, domain.StreamTypeCandidate); err == nil {
				acc, err = domain.LoadCandidate(s.ID, s.Events)
			}
		} else if err = checkStreamType(s, domain.StreamTypeCompany); err == nil {
			acc, err = domain.LoadCompany(s.ID, s.Events)
		}
		if err != nil {
			return decision{}, err
		}
		off := cmd.Off
		if cmd.TurnOff != "" {
			off = acc.EmailOff()
			if !slices.Contains(off, cmd.TurnOff) {
				off = append(off, cmd.TurnOff)
			}
		}
		if err := acc.SetEmailPreferences(off, h.clock()); err != nil {
			return decision{}, err
		}
		return decision{streamType: acc.StreamType(), events: acc.Changes()}, nil
	})
}
