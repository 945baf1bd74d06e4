package commands_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

func TestApplicationLifecycle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := ctxFor(t)
	company := w.MustRegisterCompany(t, "acme@example.com").ID
	other := w.MustRegisterCompany(t, "other@example.com").ID
	ada := w.MustRegisterCandidate(t, "ada@example.com").ID
	bob := w.MustRegisterCandidate(t, "bob@example.com").ID
	draft := w.MustPostJob(t, company).ID
	job := w.MustPublishJob(t, company)

	t.Run("applying to an unpublished job is a conflict", func(t *testing.T) {
		_, err := w.Apply.Handle(ctx, commands.Apply{Caller: candidate(ada), JobID: draft, ResumeURL: "https://cv.example/ada"})
		wantCode(t, err, apperr.Conflict)
	})
	t.Run("applying to an unknown job is not found", func(t *testing.T) {
		_, err := w.Apply.Handle(ctx, commands.Apply{Caller: candidate(ada), JobID: company, ResumeURL: "https://cv.example/ada"})
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("an invalid application lists its fields", func(t *testing.T) {
		_, err := w.Apply.Handle(ctx, commands.Apply{Caller: candidate(ada), JobID: job, ResumeURL: "not a url"})
		wantCode(t, err, apperr.Invalid)
	})
	var app commands.Result
	t.Run("applying records the application on a random stream and claims the pair", func(t *testing.T) {
		var err error
		app, err = w.Apply.Handle(ctx, commands.Apply{Caller: candidate(ada), JobID: job, ResumeURL: "https://cv.example/ada"})
		if err != nil || app.Version != 1 {
			t.Fatalf("Apply = %+v, %v", app, err)
		}
		// The id used to be this UUIDv5 of (job, candidate), which anyone could compute.
		oldNamespace := uuid.MustParse("e4a3d9a1-c8f0-4c03-8f1d-40e48d40cd18")
		if id := uuid.MustParse(app.ID); id == uuid.NewSHA1(oldNamespace, []byte(job+"\x00"+ada)) || id.Version() != 7 {
			t.Fatalf("application id %s is derived from the pair or not a random UUIDv7", app.ID)
		}
		if claimed := w.store.Claim(commands.ClaimApplication, domain.ApplicationKey(job, ada)); claimed != app.ID {
			t.Fatalf("claim = %q; want %s", claimed, app.ID)
		}
	})
	t.Run("applying twice is a conflict", func(t *testing.T) {
		_, err := w.Apply.Handle(ctx, commands.Apply{Caller: candidate(ada), JobID: job, ResumeURL: "https://cv.example/ada"})
		wantCode(t, err, apperr.Conflict)
	})
	t.Run("another company cannot see or move the application", func(t *testing.T) {
		_, err := w.ChangeStatus.Handle(ctx, commands.ChangeApplicationStatus{Caller: employer(other), ApplicationID: app.ID, Status: "reviewing"})
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("another candidate cannot withdraw it", func(t *testing.T) {
		_, err := w.Withdraw.Handle(ctx, commands.WithdrawApplication{Caller: candidate(bob), ApplicationID: app.ID})
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("the employer moves it on one step at a time", func(t *testing.T) {
		res, err := w.ChangeStatus.Handle(ctx, commands.ChangeApplicationStatus{Caller: employer(company), ApplicationID: app.ID, Status: "reviewing", ExpectedVersion: ptr(int64(1))})
		if err != nil || res.Version != 2 {
			t.Fatalf("ChangeApplicationStatus = %+v, %v", res, err)
		}
		again, err := w.ChangeStatus.Handle(ctx, commands.ChangeApplicationStatus{Caller: employer(company), ApplicationID: app.ID, Status: "reviewing"})
		if err != nil || again.Version != 2 {
			t.Fatalf("repeat = %+v, %v", again, err)
		}
		_, err = w.ChangeStatus.Handle(ctx, commands.ChangeApplicationStatus{Caller: employer(company), ApplicationID: app.ID, Status: "hired"})
		wantCode(t, err, apperr.Conflict)
		_, err = w.ChangeStatus.Handle(ctx, commands.ChangeApplicationStatus{Caller: employer(company), ApplicationID: app.ID, Status: "withdrawn"})
		wantCode(t, err, apperr.Invalid)
		_, err = w.ChangeStatus.Handle(ctx, commands.ChangeApplicationStatus{Caller: employer(company), ApplicationID: app.ID, Status: "interviewing", ExpectedVersion: ptr(int64(1))})
		wantCode(t, err, apperr.VersionMismatch)
	})
	t.Run("the candidate withdraws it once", func(t *testing.T) {
		for range 2 {
			res, err := w.Withdraw.Handle(ctx, commands.WithdrawApplication{Caller: candidate(ada), ApplicationID: app.ID})
			if err != nil || res.Version != 3 {
				t.Fatalf("WithdrawApplication = %+v, %v", res, err)
			}
		}
		_, err := w.ChangeStatus.Handle(ctx, commands.ChangeApplicationStatus{Caller: employer(company), ApplicationID: app.ID, Status: "interviewing"})
		wantCode(t, err, apperr.Conflict)
	})
	t.Run("a closed job takes no applications", func(t *testing.T) {
		if _, err := w.CloseJob.Handle(ctx, commands.CloseJob{Caller: employer(company), JobID: job}); err != nil {
			t.Fatal(err)
		}
		_, err := w.Apply.Handle(ctx, commands.Apply{Caller: candidate(bob), JobID: job, ResumeURL: "https://cv.example/bob"})
		wantCode(t, err, apperr.Conflict)
	})
}
