package commands_test

import (
	"context"
	"testing"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/commands/commandstest"
	"github.com/jobboard/jobboard/commands/memstore"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

// fixedCount is an AlertCounter that answers n (the alerts projection in production).
type fixedCount int

func (n fixedCount) LiveAlerts(context.Context, string) (int, error) { return int(n), nil }

func TestAlertCommands(t *testing.T) {
	t.Parallel()
	store, clock := memstore.New(), commandstest.NewClock()
	create, err := commands.NewCreateAlertHandler(store, clock.Now, commands.NewUUIDv7, fixedCount(0))
	if err != nil {
		t.Fatal(err)
	}
	del, err := commands.NewDeleteAlertHandler(store, clock.Now, commands.NewUUIDv7)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	const ada, bob = "d0000000-0000-4000-8000-00000000000a", "d0000000-0000-4000-8000-00000000000b"
	res, err := create.Handle(ctx, commands.CreateAlert{Caller: candidate(ada), Input: domain.AlertInput{Frequency: "instant",
		Criteria: domain.AlertCriteria{Q: "go"}}})
	if err != nil || res.Version != 1 || res.StreamType != domain.StreamTypeAlert {
		t.Fatalf("create: %+v %v", res, err)
	}
	t.Run("another candidate's alert is not found, whatever If-Match says", func(t *testing.T) {
		one := int64(1)
		_, err := del.Handle(ctx, commands.DeleteAlert{Caller: candidate(bob), AlertID: res.ID, ExpectedVersion: &one})
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("employers cannot create alerts", func(t *testing.T) {
		_, err := create.Handle(ctx, commands.CreateAlert{Caller: employer("c0000000-0000-4000-8000-000000000001"), Input: domain.AlertInput{Frequency: "daily"}})
		wantCode(t, err, apperr.Forbidden)
	})
	t.Run("deleting twice records one deletion", func(t *testing.T) {
		for range 2 {
			if r, err := del.Handle(ctx, commands.DeleteAlert{Caller: candidate(ada), AlertID: res.ID}); err != nil || r.Version != 2 {
				t.Fatalf("delete: %+v %v", r, err)
			}
		}
		if n := store.CountEvents(domain.EventAlertDeleted, res.ID); n != 1 {
			t.Fatalf("%d alert.deleted events", n)
		}
	})
	t.Run("the signed link deletes as the system, without a candidate", func(t *testing.T) {
		r2, err := create.Handle(ctx, commands.CreateAlert{Caller: candidate(ada), Input: domain.AlertInput{Frequency: "weekly"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := del.Handle(ctx, commands.DeleteAlert{Caller: candidate(bob), AlertID: r2.ID, Unsubscribe: true}); err == nil {
			t.Fatal("a candidate used the unsubscribe path")
		}
		sys := commands.Caller{Actor: commands.Actor{Role: commands.RoleSystem, ID: "unsubscribe-link"}}
		if _, err := del.Handle(ctx, commands.DeleteAlert{Caller: sys, AlertID: r2.ID, Unsubscribe: true}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the cap refuses one alert too many", func(t *testing.T) {
		full, err := commands.NewCreateAlertHandler(store, clock.Now, commands.NewUUIDv7, fixedCount(domain.MaxAlertsPerCandidate))
		if err != nil {
			t.Fatal(err)
		}
		_, err = full.Handle(ctx, commands.CreateAlert{Caller: candidate(ada), Input: domain.AlertInput{Frequency: "daily"}})
		wantCode(t, err, apperr.Conflict)
	})
}

func TestSetEmailPreferences(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := ctxFor(t)
	reg := w.MustRegisterCandidate(t, "ada@example.com")
	h, err := commands.NewSetEmailPreferencesHandler(w.store, w.clock.Now, commands.NewUUIDv7)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(ctx, commands.SetEmailPreferences{Caller: candidate(reg.ID), Off: []domain.EmailCategory{domain.EmailApplicationUpdates}}); err != nil {
		t.Fatal(err)
	}
	sys := commands.Caller{Actor: commands.Actor{Role: commands.RoleSystem, ID: "unsubscribe-link"}}
	res, err := h.Handle(ctx, commands.SetEmailPreferences{Caller: sys, Subject: commands.Actor{Role: commands.RoleCandidate, ID: reg.ID}, TurnOff: domain.EmailJobAlerts})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := w.store.Load(ctx, reg.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := domain.LoadCandidate(reg.ID, stream.Events)
	if err != nil {
		t.Fatal(err)
	}
	if off := c.EmailOff(); len(off) != 2 || res.Version != 3 || res.StreamType != domain.StreamTypeCandidate {
		t.Fatalf("off %v at version %d: the link must add job_alerts to what was off", off, res.Version)
	}
	_, err = h.Handle(ctx, commands.SetEmailPreferences{Caller: candidate(reg.ID), Off: []domain.EmailCategory{"marketing"}})
	wantCode(t, err, apperr.Invalid)
}
