package commands_test

import (
	"errors"
	"testing"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

// TestOwnershipIsCheckedBeforeIfMatch: on every command on an existing aggregate, another
// principal's private aggregate and a missing one answer the same NotFound whatever If-Match
// says (a version mismatch would tell that it exists, and at which version); the owner still
// gets the mismatch.
func TestOwnershipIsCheckedBeforeIfMatch(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := ctxFor(t)
	company := w.MustRegisterCompany(t, "acme@example.com").ID
	other := w.MustRegisterCompany(t, "other@example.com").ID
	ada := w.MustRegisterCandidate(t, "ada@example.com").ID
	bob := w.MustRegisterCandidate(t, "bob@example.com").ID
	draft := w.MustPostJob(t, company).ID
	published := w.MustPublishJob(t, company)
	app, err := w.Apply.Handle(ctx, commands.Apply{Caller: candidate(ada), JobID: published, ResumeURL: "https://cv.example/ada"})
	if err != nil {
		t.Fatal(err)
	}
	const missing = "00000000-0000-4000-8000-000000000000"
	wrong := ptr(int64(99))
	patch := domain.JobDetailsPatch{Title: ptr("Mine now")}

	type attempt func(id string, caller commands.Caller) error
	update := func(id string, c commands.Caller) error {
		_, err := w.UpdateJob.Handle(ctx, commands.UpdateJob{Caller: c, JobID: id, Patch: patch, ExpectedVersion: wrong})
		return err
	}
	closeJob := func(id string, c commands.Caller) error {
		_, err := w.CloseJob.Handle(ctx, commands.CloseJob{Caller: c, JobID: id, ExpectedVersion: wrong})
		return err
	}
	pay := func(id string, c commands.Caller) error {
		_, err := w.PayForListing.Handle(ctx, commands.PayForListing{Caller: c, JobID: id, Plan: "standard", ExpectedVersion: wrong})
		return err
	}
	withdraw := func(id string, c commands.Caller) error {
		_, err := w.Withdraw.Handle(ctx, commands.WithdrawApplication{Caller: c, ApplicationID: id, ExpectedVersion: wrong})
		return err
	}
	status := func(id string, c commands.Caller) error {
		_, err := w.ChangeStatus.Handle(ctx, commands.ChangeApplicationStatus{Caller: c, ApplicationID: id, Status: "reviewing", ExpectedVersion: wrong})
		return err
	}
	for _, tc := range []struct {
		name          string
		do            attempt
		id            string
		owner, intrud commands.Caller
	}{
		{"update", update, draft, employer(company), employer(other)},
		{"close", closeJob, draft, employer(company), employer(other)},
		{"pay", pay, draft, employer(company), employer(other)},
		{"withdraw", withdraw, app.ID, candidate(ada), candidate(bob)},
		{"status", status, app.ID, employer(company), employer(other)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			foreign := tc.do(tc.id, tc.intrud)
			gone := tc.do(missing, tc.intrud)
			wantCode(t, foreign, apperr.NotFound)
			wantCode(t, gone, apperr.NotFound)
			var a, b *apperr.Error
			if !errors.As(foreign, &a) || !errors.As(gone, &b) || a.Message != b.Message {
				t.Fatalf("another's %s answers %v, a missing one %v: want the same", tc.name, foreign, gone)
			}
			wantCode(t, tc.do(tc.id, tc.owner), apperr.VersionMismatch)
		})
	}
	t.Run("another company's published job is still 403, not 409", func(t *testing.T) {
		wantCode(t, update(published, employer(other)), apperr.Forbidden)
	})
}
