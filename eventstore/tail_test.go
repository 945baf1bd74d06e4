package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/eventstore"
)

// collector gathers what a tail delivers and checks it arrives in commit-safe order, once.
type collector struct {
	mu     sync.Mutex
	events []eventstore.Event
	seen   map[uuid.UUID]bool
	err    error
}

func newCollector() *collector { return &collector{seen: map[uuid.UUID]bool{}} }

func (c *collector) handle(_ context.Context, b eventstore.TailBatch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range b.Events {
		if c.seen[e.EventID] && c.err == nil {
			c.err = fmt.Errorf("event %s (position %d) delivered twice", e.EventID, e.GlobalPosition)
		}
		if n := len(c.events); n > 0 && !c.events[n-1].Position().Less(e.Position()) && c.err == nil {
			c.err = fmt.Errorf("event at %s delivered after %s", e.Position(), c.events[n-1].Position())
		}
		c.seen[e.EventID] = true
		c.events = append(c.events, e)
	}
	return nil
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

func (c *collector) snapshot() ([]eventstore.Event, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]eventstore.Event(nil), c.events...), c.err
}

// runTail runs s.Tail in a goroutine the test owns: cancelled and waited for at cleanup.
func runTail(t *testing.T, s *eventstore.Store, cfg eventstore.TailConfig, h eventstore.TailHandler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Tail(ctx, cfg, h) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func TestTail(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t, eventstore.StoreConfig{})
	ctx := testContext(t, 60*time.Second)
	mustAppend(t, s, "job-1", "job", eventstore.NoStream, event("JobPosted", 1), event("JobPublished", 2))

	c := newCollector()
	// A long poll interval: only NOTIFY can deliver quickly.
	stop := runTail(t, s, eventstore.TailConfig{PollInterval: 30 * time.Second, MinRetryBackoff: 10 * time.Millisecond}, c.handle)

	t.Run("delivers the events already stored", func(t *testing.T) {
		eventually(t, 5*time.Second, "2 events delivered", func() bool { return c.len() == 2 })
	})
	t.Run("is woken by the append's notification", func(t *testing.T) {
		start := time.Now()
		mustAppend(t, s, "job-1", "job", eventstore.Exact(2), event("JobClosed", 3))
		eventually(t, 15*time.Second, "3 events delivered", func() bool { return c.len() == 3 })
		if d := time.Since(start); d > 15*time.Second { // half the poll interval: NOTIFY, not the poll
			t.Fatalf("delivered after %s", d)
		}
	})
	t.Run("reconnects after its connections are killed", func(t *testing.T) {
		killConnections(t, ctx, pool)
		mustAppend(t, s, "job-2", "job", eventstore.NoStream, event("JobPosted", 1))
		eventually(t, 10*time.Second, "4 events delivered", func() bool { return c.len() == 4 })
	})
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("tail returned %v", err)
	}
	if _, err := c.snapshot(); err != nil {
		t.Fatal(err)
	}

	t.Run("starts after a position and stops with the handler's error", func(t *testing.T) {
		all := readEverything(t, s, pool)
		boom := errors.New("boom")
		var got []eventstore.Event
		err := s.Tail(ctx, eventstore.TailConfig{After: all[1].Position()}, func(_ context.Context, b eventstore.TailBatch) error {
			got = b.Events
			return boom
		})
		if !errors.Is(err, boom) || len(got) != 2 || got[0].EventID != all[2].EventID {
			t.Fatalf("err %v, got %d events", err, len(got))
		}
	})
}

// killConnections terminates every other backend of the test database, as a PostgreSQL
// restart would.
func killConnections(t *testing.T, ctx context.Context, pool *pgxpool.Pool) {
	t.Helper()
	var n int
	err := pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("terminated %d backends", n)
}

// TestTailIsCommitSafeUnderConcurrentWriters is issue 3 point 2: many writers whose
// transactions commit in another order than the one they took global positions in, and a
// reader tailing all along that must get every committed event exactly once, in the order of
// a full read afterwards.
func TestTailIsCommitSafeUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	const (
		writers     = 32
		totalEvents = 20_000
	)
	pool := newPool(t, writers+8)
	s, err := eventstore.NewStore(pool, eventstore.StoreConfig{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t, 120*time.Second)

	c := newCollector()
	stop := runTail(t, s, eventstore.TailConfig{BatchSize: 200, MinRetryBackoff: 10 * time.Millisecond}, c.handle)

	var committed, rolledBack atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for i := 0; committed.Load() < totalEvents; i++ {
				n := 1 + rng.IntN(4)
				if err := writeDelayed(ctx, s, pool, rng, fmt.Sprintf("w%d-s%d", w, i%7), n, &committed, &rolledBack); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := int(committed.Load())
	eventually(t, 30*time.Second, fmt.Sprintf("%d committed events delivered", want), func() bool { return c.len() >= want })
	// Anything late would be a duplicate or a phantom: give it a moment to show up.
	time.Sleep(200 * time.Millisecond)
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("tail returned %v", err)
	}
	tailed, err := c.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	full := readEverything(t, s, pool)
	if len(tailed) != want || len(full) != want {
		t.Fatalf("committed %d events, tail delivered %d, full read %d", want, len(tailed), len(full))
	}
	inversions := 0
	maxPos := int64(0)
	for i := range full {
		if tailed[i].EventID != full[i].EventID {
			t.Fatalf("event %d: tail delivered %s at %s, full read has %s at %s", i,
				tailed[i].EventID, tailed[i].Position(), full[i].EventID, full[i].Position())
		}
		if tailed[i].GlobalPosition < maxPos {
			inversions++
		}
		maxPos = max(maxPos, tailed[i].GlobalPosition)
	}
	t.Logf("%d writers committed %d events (%d rolled back); %d delivered after a higher global position",
		writers, want, rolledBack.Load(), inversions)
	if inversions == 0 {
		t.Fatal("no event committed out of global-position order: the test did not exercise the race")
	}
}

// writeDelayed appends n events in a transaction that sleeps before and after the append, so
// that transactions commit out of global-position order; one in 20 rolls back.
func writeDelayed(ctx context.Context, s *eventstore.Store, pool *pgxpool.Pool, rng *rand.Rand, stream string, n int, committed, rolledBack *atomic.Int64) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if rng.IntN(2) == 0 {
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
	}
	events := make([]eventstore.EventData, n)
	for i := range events {
		events[i] = event("Written", i)
	}
	if _, err := s.AppendTx(ctx, tx, stream, "test", eventstore.Any, events); err != nil {
		return err
	}
	if rng.IntN(4) == 0 {
		if _, err := tx.Exec(ctx, `SELECT pg_sleep($1)`, float64(rng.IntN(8))/1000); err != nil {
			return err
		}
	} else {
		time.Sleep(time.Duration(rng.IntN(4000)) * time.Microsecond)
	}
	if rng.IntN(20) == 0 {
		rolledBack.Add(int64(n))
		return tx.Rollback(ctx)
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	committed.Add(int64(n))
	return nil
}
