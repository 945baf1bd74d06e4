package projections

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jobboard/jobboard/eventstore"
)

func startBatcher(t *testing.T, apply func(context.Context, []Event) error) *batcher {
	t.Helper()
	b := newBatcher(apply, 100, 20*time.Millisecond, time.Second, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return b
}

func ev(stream string) Event {
	return Event{Event: eventstore.Event{StreamID: stream, StreamVersion: 1}}
}

// submitAll submits one event per stream concurrently, as the router does with one
// message per partition in flight, and returns each stream's outcome.
func submitAll(b *batcher, streams ...string) map[string]error {
	var mu sync.Mutex
	out := map[string]error{}
	var wg sync.WaitGroup
	for _, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := b.submit(context.Background(), ev(s))
			mu.Lock()
			out[s] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func TestBatcher(t *testing.T) {
	t.Parallel()

	t.Run("applies events handed in together with one write", func(t *testing.T) {
		var mu sync.Mutex
		var sizes []int
		b := startBatcher(t, func(_ context.Context, events []Event) error {
			mu.Lock()
			sizes = append(sizes, len(events))
			mu.Unlock()
			return nil
		})
		for s, err := range submitAll(b, "a", "b", "c", "d", "e", "f", "g", "h") {
			if err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		total, largest := 0, 0
		for _, n := range sizes {
			total += n
			largest = max(largest, n)
		}
		if total != 8 || largest < 2 {
			t.Fatalf("batch sizes %v: want 8 events in fewer than 8 writes", sizes)
		}
	})

	t.Run("fails only the bad event of a failed batch", func(t *testing.T) {
		b := startBatcher(t, func(_ context.Context, events []Event) error {
			for _, e := range events {
				if e.StreamID == "bad" {
					return errors.New("bad event")
				}
			}
			return nil
		})
		for s, err := range submitAll(b, "a", "bad", "c", "d") {
			if (s == "bad") != (err != nil) {
				t.Fatalf("%s: err = %v", s, err)
			}
		}
	})

	t.Run("fails the whole batch on an outage", func(t *testing.T) {
		calls := 0
		var mu sync.Mutex
		b := startBatcher(t, func(_ context.Context, events []Event) error {
			mu.Lock()
			calls++
			mu.Unlock()
			return Transient(errors.New("database down"))
		})
		for s, err := range submitAll(b, "a", "b", "c") {
			if !IsTransient(err) {
				t.Fatalf("%s: err = %v, want transient", s, err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if calls > 3 {
			t.Fatalf("%d writes: an outage must not be retried event by event", calls)
		}
	})

	t.Run("turns a panicking projector into an error", func(t *testing.T) {
		b := startBatcher(t, func(context.Context, []Event) error { panic("boom") })
		err := b.submit(context.Background(), ev("a"))
		var p panicError
		if !errors.As(err, &p) || IsTransient(err) {
			t.Fatalf("err = %v, want a panic error", err)
		}
	})
}
