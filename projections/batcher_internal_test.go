package projections

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jobboard/jobboard/bus"
	"github.com/jobboard/jobboard/eventstore"
)

func startBatcher(t *testing.T, apply func(context.Context, []Event) error) *batcher {
	t.Helper()
	b := newBatcher(apply, 100, time.Second, nil)
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
			// The events handed in while this write runs form the next batch.
			time.Sleep(10 * time.Millisecond)
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

// inRun is the context of the message of seq in run 1 of a partition.
func inRun(seq int64) context.Context {
	return bus.ContextWithDelivery(context.Background(), bus.Delivery{Topic: "t", Partition: 0, Run: 1, Seq: seq})
}

func versionOf(stream string, v int64) Event {
	return Event{Event: eventstore.Event{StreamID: stream, StreamVersion: v}}
}

func TestBatcherKeepsTheOrderOfAPartition(t *testing.T) {
	t.Parallel()

	// recorder applies events, failing each event of fail once with its error.
	type recorder struct {
		mu      sync.Mutex
		applied []int64
		fail    map[int64]error
	}
	newRecorder := func(fail map[int64]error) (*recorder, func(context.Context, []Event) error) {
		r := &recorder{fail: fail}
		return r, func(_ context.Context, events []Event) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, e := range events {
				if err, ok := r.fail[e.StreamVersion]; ok {
					delete(r.fail, e.StreamVersion)
					return err
				}
			}
			for _, e := range events {
				r.applied = append(r.applied, e.StreamVersion)
			}
			return nil
		}
	}
	submitAsync := func(b *batcher, seq int64) <-chan error {
		done := make(chan error, 1)
		go func() { done <- b.submit(inRun(seq), versionOf("s", seq+1)) }()
		return done
	}
	pending := func(t *testing.T, done <-chan error) {
		t.Helper()
		select {
		case err := <-done:
			t.Fatalf("returned %v before its predecessor", err)
		case <-time.After(100 * time.Millisecond):
		}
	}

	// handle is the router's chain: 1 + 3 tries, then the poison queue dead-letters a
	// message that failed with an error other than an outage and passes its turn.
	handle := func(b *batcher, seq int64, backoff time.Duration) <-chan error {
		done := make(chan error, 1)
		go func() {
			var err error
			for range 4 {
				if err = b.submit(inRun(seq), versionOf("s", seq+1)); err == nil || IsPermanent(err) {
					break
				}
				time.Sleep(backoff)
			}
			if err != nil && !IsTransient(err) {
				b.pass(inRun(seq))
			}
			done <- err
		}()
		return done
	}

	t.Run("applies a run handed in backwards in its order", func(t *testing.T) {
		r, apply := newRecorder(nil)
		b := startBatcher(t, apply)
		third, second := submitAsync(b, 2), submitAsync(b, 1)
		pending(t, third)
		pending(t, second)
		if err := b.submit(inRun(0), versionOf("s", 1)); err != nil {
			t.Fatal(err)
		}
		if err, err2 := <-second, <-third; err != nil || err2 != nil {
			t.Fatal(err, err2)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if !slices.Equal(r.applied, []int64{1, 2, 3}) {
			t.Fatalf("applied versions %v, want 1 2 3", r.applied)
		}
	})

	t.Run("holds the successors of a failed event until its retry", func(t *testing.T) {
		r, apply := newRecorder(map[int64]error{1: errors.New("flaky")})
		b := startBatcher(t, apply)
		if err := b.submit(inRun(0), versionOf("s", 1)); err == nil {
			t.Fatal("first attempt succeeded")
		}
		second := submitAsync(b, 1)
		pending(t, second)
		if err := b.submit(inRun(0), versionOf("s", 1)); err != nil {
			t.Fatal(err)
		}
		if err := <-second; err != nil {
			t.Fatal(err)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if !slices.Equal(r.applied, []int64{1, 2}) {
			t.Fatalf("applied versions %v, want 1 2", r.applied)
		}
	})

	t.Run("lets the successors of an event given up on go on", func(t *testing.T) {
		r, apply := newRecorder(map[int64]error{1: errors.New("bad")})
		b := startBatcher(t, apply)
		if err := b.submit(inRun(0), versionOf("s", 1)); err == nil {
			t.Fatal("first attempt succeeded")
		}
		second := submitAsync(b, 1)
		pending(t, second)
		b.pass(inRun(0)) // dead-lettered
		if err := <-second; err != nil {
			t.Fatal(err)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if !slices.Equal(r.applied, []int64{2}) {
			t.Fatalf("applied versions %v, want 2", r.applied)
		}
	})

	t.Run("does not fail the successors of an event that keeps failing", func(t *testing.T) {
		var mu sync.Mutex
		var applied []int64
		b := startBatcher(t, func(_ context.Context, events []Event) error {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range events {
				if e.StreamVersion == 1 {
					return errors.New("cannot project")
				}
			}
			for _, e := range events {
				applied = append(applied, e.StreamVersion)
			}
			return nil
		})
		// The successor retries at once, so each of its retries is held before the failing
		// event's next try and would share that try's batch.
		second := handle(b, 1, 0)
		pending(t, second) // held: the failing event comes first and shares its batch
		if err := <-handle(b, 0, 20*time.Millisecond); err == nil {
			t.Fatal("the failing event was applied")
		}
		if err := <-second; err != nil {
			t.Fatalf("the successor failed with its predecessor: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(applied, []int64{2}) {
			t.Fatalf("applied versions %v, want 2", applied)
		}
	})

	t.Run("keeps the turn of an event given up on behind a failed predecessor", func(t *testing.T) {
		r, apply := newRecorder(nil)
		fails := 2 // in the batch, then alone
		b := startBatcher(t, func(ctx context.Context, events []Event) error {
			if events[0].StreamVersion == 1 && fails > 0 { // only the batcher's goroutine calls
				fails--
				return errors.New("flaky")
			}
			return apply(ctx, events)
		})
		third := handle(b, 2, 0)
		passed := make(chan struct{})
		go func() { defer close(passed); b.pass(inRun(1)) }() // an undecodable message
		pending(t, third)
		// The three share a batch; the first fails, so the pass and the third wait for it.
		if err := b.submit(inRun(0), versionOf("s", 1)); err == nil {
			t.Fatal("first attempt succeeded")
		}
		if err := b.submit(inRun(0), versionOf("s", 1)); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-third:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the event after the pass waits for ever: the pass lost its turn")
		}
		<-passed
		r.mu.Lock()
		defer r.mu.Unlock()
		if !slices.Equal(r.applied, []int64{1, 3}) {
			t.Fatalf("applied versions %v, want 1 3", r.applied)
		}
	})

	t.Run("applies a lone event at once", func(t *testing.T) {
		_, apply := newRecorder(nil)
		b := startBatcher(t, apply)
		start := time.Now()
		for seq := range int64(20) {
			if err := b.submit(inRun(seq), versionOf("s", seq+1)); err != nil {
				t.Fatal(err)
			}
		}
		// The batcher used to wait 5 ms for company: 20 events took at least 100 ms.
		if took := time.Since(start); took > 50*time.Millisecond {
			t.Fatalf("20 events one after another took %s", took)
		}
	})
}
