package projections

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/bus"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/projections/projectionstest"
	"github.com/jobboard/jobboard/readmodels"
)

// newTestStore is a test database's pool and its event store.
func newTestStore(t *testing.T) (*pgxpool.Pool, *eventstore.Store) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store, err := eventstore.NewStore(pool, eventstore.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return pool, store
}

// A catch-up that starts after an event it did not see (one that is not applied) must not
// apply that stream's later events: applied versions only grow, so the missing event would
// be lost. It leaves the stream to Kafka and applies the others.
func TestCatchUpLeavesAStreamMissingAnEventToKafka(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pool, store := newTestStore(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	h := projectionstest.NewHistory(now.Add(-time.Hour))
	b := projectionstest.Board{H: h, Now: now.Add(-time.Hour)}
	acme := b.Company(t, "Acme")
	job := b.PostJob(t, acme, projectionstest.DefaultJob())
	b.Publish(t, job, acme, false, now.Add(-time.Hour))
	initech := b.Company(t, "Initech")
	if h.Version(job) < 2 {
		t.Fatalf("the job stream has %d events, want several", h.Version(job))
	}
	if err := projectionstest.CopyToStore(ctx, pool, h, 1000); err != nil {
		t.Fatal(err)
	}
	// Read directly: a commit-safe ReadAll may come back short while other tests'
	// transactions are in flight.
	var afterPosted eventstore.Position
	var head int64
	if err := pool.QueryRow(ctx, `SELECT transaction_id, global_position, (SELECT max(global_position) FROM events)
		FROM events WHERE stream_id = $1 AND stream_version = 1`, job).Scan(&afterPosted.TransactionID, &afterPosted.GlobalPosition, &head); err != nil {
		t.Fatal(err)
	}

	p, err := NewReadTablesProjector(pool, ReadTablesConfig{FollowLive: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	types := slices.Sorted(slices.Values(p.StreamTypes()))
	reads := newCatchUpReads(store)
	reads.join(types)
	c := &catchUp{
		cfg: CatchUpConfig{Store: store, Pool: pool, Window: 100000}, projector: p, typeList: types, reads: reads,
		batchSize: 2, timeout: 10 * time.Second, outcomes: m.outcomes(p.Name(), &positions{}), skips: newCaughtUp(), applyMu: &sync.Mutex{}, left: map[string]bool{}, logger: slog.New(slog.DiscardHandler),
	}
	// As if the catch-up had started after the JobPosted event (not applied).
	if _, err := c.follow(ctx, afterPosted, head); err != nil {
		t.Fatal(err)
	}

	applied := func(stream string) int64 {
		var v int64
		err := pool.QueryRow(ctx, `SELECT coalesce((SELECT version FROM `+readmodels.DefaultReadTablesSchema+`.applied_streams WHERE stream_id = $1), 0)`, stream).Scan(&v)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := applied(job); v != 0 {
		t.Fatalf("job stream applied up to v%d without its JobPosted", v)
	}
	if !c.left[job] {
		t.Fatal("job stream not left to Kafka")
	}
	if v := applied(initech); v != 1 {
		t.Fatalf("Initech applied up to v%d, want 1", v)
	}
	header := func(stream string, v string) bus.Headers {
		return bus.Headers{{Key: bus.MetadataStreamID, Value: []byte(stream)}, {Key: bus.MetadataStreamVersion, Value: []byte(v)}}
	}
	if c.skips.skip(header(job, "2")) {
		t.Fatal("Kafka would skip an event of the job stream the catch-up left to it")
	}
	if c.skips.skip(header(acme, "1")) {
		t.Fatal("Kafka would skip an event the catch-up did not read")
	}
	for range 2 { // fetched again after a rebalance
		if !c.skips.skip(header(initech, "1")) {
			t.Fatal("Kafka would deliver again the event the catch-up applied")
		}
	}
	if c.skips.skip(header(initech, "2")) {
		t.Fatal("Kafka would skip an event newer than the catch-up")
	}
	c.skips.forget()
	if c.skips.skip(header(initech, "1")) {
		t.Fatal("Kafka skips after the catch-up's records were let go")
	}
}

// Two catch-ups of the same stream types reading from the same place share one read and its
// decoding; a third reader of that batch (there are only two) reads it again.
func TestCatchUpReadsAreShared(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, store := newTestStore(t)
	h := projectionstest.NewHistory(time.Now().Add(-time.Hour))
	b := projectionstest.Board{H: h, Now: time.Now()}
	b.Company(t, "Acme")
	b.Candidate(t, "Ann")
	if err := projectionstest.CopyToStore(ctx, pool, h, 10); err != nil {
		t.Fatal(err)
	}
	types := []string{"candidate", "company"}
	var reads *catchUpReads
	var first, second, third *sharedRead
	// Reads are commit-safe: other tests' transactions in flight may hold the events back.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		reads = newCatchUpReads(store)
		reads.join(types)
		reads.join(types)
		first = reads.read(ctx, types, eventstore.Start, 10)
		second = reads.read(ctx, types, eventstore.Start, 10)
		third = reads.read(ctx, types, eventstore.Start, 10)
		if len(first.events) == 2 && len(third.events) == 2 || time.Now().After(deadline) {
			break
		}
	}
	if first.err != nil || len(first.events) != 2 || len(first.decoded) != 2 || first.decoded[0].Payload == nil {
		t.Fatalf("read %d events, %d decoded (err %v)", len(first.events), len(first.decoded), first.err)
	}
	if second != first {
		t.Fatal("the second catch-up read the batch again")
	}
	if third == first || len(third.events) != 2 {
		t.Fatal("a batch both catch-ups took was kept")
	}
	if onlyCompany := reads.read(ctx, []string{"company"}, eventstore.Start, 10); len(onlyCompany.events) != 1 {
		t.Fatalf("read %d company events, want 1", len(onlyCompany.events))
	}
}
