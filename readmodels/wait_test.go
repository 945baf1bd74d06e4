package readmodels_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/readmodels"
)

// TestWaitsAreWokenByNotificationAndCapped: with a fallback poll far beyond the test, a
// wait still returns at once when a projector's transaction announces the schema moved;
// past MaxWaiters a wait is refused with a 503 that says when to retry.
func TestWaitsAreWokenByNotificationAndCapped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{testenv.ElasticsearchURL(t)}})
	if err != nil {
		t.Fatal(err)
	}
	store, err := readmodels.NewStore(f.pool, es, readmodels.StoreConfig{WaitPollInterval: 10 * time.Minute, MaxWaiters: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan error, 1)
	go func() { listening <- store.ListenApplied(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-listening; err != nil {
			t.Errorf("ListenApplied: %v", err)
		}
	})

	done := make(chan error, 1)
	go func() {
		done <- store.WaitForStream(context.Background(), readmodels.ReadTablesProjection, "notified-stream", 1, 20*time.Second)
	}()
	time.Sleep(200 * time.Millisecond) // the first waiter holds the only place

	t.Run("past MaxWaiters a wait is a 503 with Retry-After", func(t *testing.T) {
		err := store.WaitForStream(context.Background(), readmodels.ReadTablesProjection, "another-stream", 1, time.Second)
		var ae *apperr.Error
		if !errors.Is(err, readmodels.ErrTooManyWaiters) || !errors.As(err, &ae) || ae.Code != apperr.Unavailable || ae.RetryAfterSeconds < 1 {
			t.Fatalf("err = %v, want Unavailable with a Retry-After", err)
		}
		// What is applied already answers without a place.
		if err := store.WaitForStream(context.Background(), readmodels.ReadTablesProjection, f.ids["go"], 1, time.Second); err != nil {
			t.Fatalf("applied position: %v", err)
		}
	})

	t.Run("a notification wakes the wait", func(t *testing.T) {
		tx, err := f.pool.Begin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(context.Background(), `INSERT INTO rm_v1.applied_streams (stream_id, version) VALUES ('notified-stream', 1)`); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(context.Background(), `SELECT pg_notify($1, 'rm_v1')`, readmodels.AppliedChannel); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := tx.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("woken %s after the commit", time.Since(start))
		case <-time.After(5 * time.Second):
			t.Fatal("still waiting 5 s after the notification")
		}
	})
}
