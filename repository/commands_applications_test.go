package repository_test

import (
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/migrations"
)

func TestApplicationLifecycle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := ctxFor(t)
	company := w.mustRegisterCompany(t, "acme@example.com").ID
	other := w.mustRegisterCompany(t, "other@example.com").ID
	ada := w.mustRegisterCandidate(t, "ada@example.com").ID
	bob := w.mustRegisterCandidate(t, "bob@example.com").ID
	draft := w.mustPostJob(t, company).ID
	job := w.mustPublishJob(t, company)

	t.Run("applying to an unpublished job is a conflict", func(t *testing.T) {
		_, err := w.apply.Handle(ctx, commands.Apply{Caller: candidate(ada), JobID: draft, ResumeURL: "https://cv.example/ada"})
		wantCode(t, err, apperr.Conflict)
	})
	t.Run("applying to an unknown job is not found", func(t *testing.T) {
		_, err := w.apply.Handle(ctx, commands.Apply{Caller: candidate(ada), JobID: company, ResumeURL: "https://cv.example/ada"})
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("an invalid application lists its fields", func(t *testing.T) {
		_, err := w.apply.Handle(ctx, commands.Apply{Caller: candidate(ada), JobID: job, ResumeURL: "not a url"})
		wantCode(t, err, apperr.Invalid)
	})
	var app commands.Result
	t.Run("applying records the application on a random stream and claims the pair", func(t *testing.T) {
		var err error
		app, err = w.apply.Handle(ctx, commands.Apply{Caller: candidate(ada), JobID: job, ResumeURL: "https://cv.example/ada"})
		if err != nil || app.Version != 1 {
			t.Fatalf("Apply = %+v, %v", app, err)
		}
		// The id used to be this UUIDv5 of (job, candidate), which anyone could compute.
		oldNamespace := uuid.MustParse("e4a3d9a1-c8f0-4c03-8f1d-40e48d40cd18")
		if id := uuid.MustParse(app.ID); id == uuid.NewSHA1(oldNamespace, []byte(job+"\x00"+ada)) || id.Version() != 7 {
			t.Fatalf("application id %s is derived from the pair or not a random UUIDv7", app.ID)
		}
		var claimed string
		if err := w.pool.QueryRow(ctx, `SELECT stream_id FROM unique_claims WHERE scope = 'application' AND key = $1`,
			domain.ApplicationKey(job, ada)).Scan(&claimed); err != nil || claimed != app.ID {
			t.Fatalf("claim = %q, %v; want %s", claimed, err, app.ID)
		}
	})
	t.Run("applying twice is a conflict", func(t *testing.T) {
		_, err := w.apply.Handle(ctx, commands.Apply{Caller: candidate(ada), JobID: job, ResumeURL: "https://cv.example/ada"})
		wantCode(t, err, apperr.Conflict)
	})
	t.Run("another company cannot see or move the application", func(t *testing.T) {
		_, err := w.changeStatus.Handle(ctx, commands.ChangeApplicationStatus{Caller: employer(other), ApplicationID: app.ID, Status: "reviewing"})
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("another candidate cannot withdraw it", func(t *testing.T) {
		_, err := w.withdraw.Handle(ctx, commands.WithdrawApplication{Caller: candidate(bob), ApplicationID: app.ID})
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("the employer moves it on one step at a time", func(t *testing.T) {
		res, err := w.changeStatus.Handle(ctx, commands.ChangeApplicationStatus{Caller: employer(company), ApplicationID: app.ID, Status: "reviewing", ExpectedVersion: ptr(int64(1))})
		if err != nil || res.Version != 2 {
			t.Fatalf("ChangeApplicationStatus = %+v, %v", res, err)
		}
		again, err := w.changeStatus.Handle(ctx, commands.ChangeApplicationStatus{Caller: employer(company), ApplicationID: app.ID, Status: "reviewing"})
		if err != nil || again.Version != 2 {
			t.Fatalf("repeat = %+v, %v", again, err)
		}
		_, err = w.changeStatus.Handle(ctx, commands.ChangeApplicationStatus{Caller: employer(company), ApplicationID: app.ID, Status: "hired"})
		wantCode(t, err, apperr.Conflict)
		_, err = w.changeStatus.Handle(ctx, commands.ChangeApplicationStatus{Caller: employer(company), ApplicationID: app.ID, Status: "withdrawn"})
		wantCode(t, err, apperr.Invalid)
		_, err = w.changeStatus.Handle(ctx, commands.ChangeApplicationStatus{Caller: employer(company), ApplicationID: app.ID, Status: "interviewing", ExpectedVersion: ptr(int64(1))})
		wantCode(t, err, apperr.VersionMismatch)
	})
	t.Run("the candidate withdraws it once", func(t *testing.T) {
		for range 2 {
			res, err := w.withdraw.Handle(ctx, commands.WithdrawApplication{Caller: candidate(ada), ApplicationID: app.ID})
			if err != nil || res.Version != 3 {
				t.Fatalf("WithdrawApplication = %+v, %v", res, err)
			}
		}
		_, err := w.changeStatus.Handle(ctx, commands.ChangeApplicationStatus{Caller: employer(company), ApplicationID: app.ID, Status: "interviewing"})
		wantCode(t, err, apperr.Conflict)
	})
	t.Run("a closed job takes no applications", func(t *testing.T) {
		if _, err := w.closeJob.Handle(ctx, commands.CloseJob{Caller: employer(company), JobID: job}); err != nil {
			t.Fatal(err)
		}
		_, err := w.apply.Handle(ctx, commands.Apply{Caller: candidate(bob), JobID: job, ResumeURL: "https://cv.example/bob"})
		wantCode(t, err, apperr.Conflict)
	})
}

// TestConcurrentDuplicateApplicationsOneWins races many applications of one candidate to
// one job: exactly one is stored, the others are conflicts.
func TestConcurrentDuplicateApplicationsOneWins(t *testing.T) {
	t.Parallel()
	const racers = 60
	w := newWorld(t)
	ctx := ctxFor(t)
	company := w.mustRegisterCompany(t, "acme@example.com").ID
	ada := w.mustRegisterCandidate(t, "ada@example.com").ID
	job := w.mustPublishJob(t, company)
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		wins, conflicts int
		others          []error
		start           = make(chan struct{})
	)
	for range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := w.apply.Handle(ctx, commands.Apply{Caller: candidate(ada), JobID: job, ResumeURL: "https://cv.example/ada"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case apperr.CodeOf(err) == apperr.Conflict:
				conflicts++
			default:
				others = append(others, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins != 1 || conflicts != racers-1 || len(others) != 0 {
		t.Fatalf("wins %d, conflicts %d, other errors %v", wins, conflicts, others)
	}
	if n := w.countEvents(t, domain.EventApplicationSubmitted, ""); n != 1 {
		t.Fatalf("%d application.submitted events, want 1", n)
	}
}

// TestAnApplicationStoredBeforeRandomIDsStillBlocksASecondOne: an application written with
// the old (job, candidate) UUIDv5 id and no claim, before migration 00055, is claimed by
// the migration; it keeps its id, and the candidate still cannot apply to that job again.
func TestAnApplicationStoredBeforeRandomIDsStillBlocksASecondOne(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := ctxFor(t)
	company := w.mustRegisterCompany(t, "acme@example.com").ID
	ada := w.mustRegisterCandidate(t, "ada@example.com").ID
	job := w.mustPublishJob(t, company)

	db, err := migrations.Open(w.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := migrations.Provider(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 40); err != nil {
		t.Fatal(err)
	}
	js, err := w.store.Load(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	j, err := domain.LoadJob(job, js.Events)
	if err != nil {
		t.Fatal(err)
	}
	oldID := uuid.NewSHA1(uuid.MustParse("e4a3d9a1-c8f0-4c03-8f1d-40e48d40cd18"), []byte(job+"\x00"+ada)).String()
	old, err := domain.SubmitApplication(oldID, j, ada, "https://cv.example/ada", "", w.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.Append(ctx, commands.AppendRequest{StreamID: oldID, StreamType: old.StreamType(), Events: old.Changes()}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = w.apply.Handle(ctx, commands.Apply{Caller: candidate(ada), JobID: job, ResumeURL: "https://cv.example/ada"})
	wantCode(t, err, apperr.Conflict)
	if _, err := w.withdraw.Handle(ctx, commands.WithdrawApplication{Caller: candidate(ada), ApplicationID: oldID}); err != nil {
		t.Fatalf("the stored application under its old id: %v", err)
	}
}
