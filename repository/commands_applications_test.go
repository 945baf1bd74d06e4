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

// TestConcurrentDuplicateApplicationsOneWins races many applications of one candidate to
// one job: exactly one is stored, the others are conflicts.
func TestConcurrentDuplicateApplicationsOneWins(t *testing.T) {
	t.Parallel()
	const racers = 60
	w := newWorld(t)
	ctx := ctxFor(t)
	company := w.MustRegisterCompany(t, "acme@example.com").ID
	ada := w.MustRegisterCandidate(t, "ada@example.com").ID
	job := w.MustPublishJob(t, company)
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
			_, err := w.Apply.Handle(ctx, commands.Apply{Caller: candidate(ada), JobID: job, ResumeURL: "https://cv.example/ada"})
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
	company := w.MustRegisterCompany(t, "acme@example.com").ID
	ada := w.MustRegisterCandidate(t, "ada@example.com").ID
	job := w.MustPublishJob(t, company)

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
	_, err = w.Apply.Handle(ctx, commands.Apply{Caller: candidate(ada), JobID: job, ResumeURL: "https://cv.example/ada"})
	wantCode(t, err, apperr.Conflict)
	if _, err := w.Withdraw.Handle(ctx, commands.WithdrawApplication{Caller: candidate(ada), ApplicationID: oldID}); err != nil {
		t.Fatalf("the stored application under its old id: %v", err)
	}
}
