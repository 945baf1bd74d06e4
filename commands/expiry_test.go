package commands_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
)

func (w *world) newScheduler(t *testing.T, interval time.Duration) *commands.ExpiryScheduler {
	t.Helper()
	s, err := commands.NewExpiryScheduler(w.store, w.ExpireJob, w.clock.Now, commands.ExpirySchedulerConfig{
		Interval: interval, BatchSize: 2, Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestExpirySchedulerExpiresDueJobsOnce runs two schedulers at once after the clock passed
// expires_at: each due job expires exactly once; jobs not due, closed or unpublished stay.
func TestExpirySchedulerExpiresDueJobsOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := ctxFor(t)
	company := w.MustRegisterCompany(t, "acme@example.com").ID
	due := []string{w.MustPublishJob(t, company), w.MustPublishJob(t, company), w.MustPublishJob(t, company)}
	closed := w.MustPublishJob(t, company)
	if _, err := w.CloseJob.Handle(ctx, commands.CloseJob{Caller: employer(company), JobID: closed}); err != nil {
		t.Fatal(err)
	}
	draft := w.MustPostJob(t, company).ID
	w.clock.Advance(time.Hour)
	later := w.MustPublishJob(t, company) // expires an hour after the others

	a, b := w.newScheduler(t, time.Hour), w.newScheduler(t, time.Hour)
	if n, err := a.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("before expiry: RunOnce = %d, %v", n, err)
	}
	w.clock.Advance(30*24*time.Hour - 30*time.Minute) // past the first three, not the last

	var wg sync.WaitGroup
	for _, s := range []*commands.ExpiryScheduler{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.RunOnce(ctx); err != nil {
				t.Errorf("RunOnce: %v", err)
			}
		}()
	}
	wg.Wait()
	for _, id := range due {
		if n := w.countEvents(t, domain.EventJobExpired, id); n != 1 {
			t.Errorf("job %s: %d job.expired events, want 1", id, n)
		}
	}
	for _, id := range []string{closed, draft, later} {
		if n := w.countEvents(t, domain.EventJobExpired, id); n != 0 {
			t.Errorf("job %s expired, want not", id)
		}
	}

	t.Run("Run expires the rest when their time comes and stops with its context", func(t *testing.T) {
		w.clock.Advance(time.Hour)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.newScheduler(t, 10*time.Millisecond).Run(runCtx) }()
		deadline := time.Now().Add(10 * time.Second)
		for w.countEvents(t, domain.EventJobExpired, later) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		if n := w.countEvents(t, domain.EventJobExpired, ""); n != 4 {
			t.Fatalf("%d job.expired events, want 4", n)
		}
	})
}
