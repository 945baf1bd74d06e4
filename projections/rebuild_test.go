package projections_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/projections/projectionstest"
	"github.com/jobboard/jobboard/readmodels"
	"github.com/jobboard/jobboard/storedevents"
)

// rebuildEnv is a fresh database with the search projection's version 1 on an index of
// the test's own, a store that upcasts, and a Rebuilder.
type rebuildEnv struct {
	pool   *pgxpool.Pool
	es     *elasticsearch.Client
	reg    *eventstore.Registry
	store  *eventstore.Store
	prefix string
	alias  string
	rb     *projections.Rebuilder
	reads  *readmodels.Store
}

func newRebuildEnv(t testing.TB, cfg projections.RebuilderConfig) rebuildEnv {
	t.Helper()
	ctx := context.Background()
	pcfg, err := pgxpool.ParseConfig(testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{testenv.ElasticsearchURL(t)}})
	if err != nil {
		t.Fatal(err)
	}
	env := rebuildEnv{pool: pool, es: es}
	env.prefix = "test-rb-" + testenv.RandomSuffix()
	env.alias = env.prefix
	t.Cleanup(func() {
		for v := 1; v <= 4; v++ {
			_ = readmodels.DeleteIndex(context.Background(), es, fmt.Sprintf("%s-v%d", env.prefix, v))
		}
	})
	if err := readmodels.EnsureSearchIndex(ctx, es, env.prefix+"-v1", env.alias, readmodels.IndexSettings{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE projection_versions SET es_index = $1 WHERE projection = $2`,
		env.prefix+"-v1", readmodels.JobSearchProjection); err != nil {
		t.Fatal(err)
	}
	if env.reg, err = storedevents.NewRegistry(); err != nil {
		t.Fatal(err)
	}
	if env.store, err = eventstore.NewStore(pool, eventstore.StoreConfig{Registry: env.reg, Logger: quietLogger()}); err != nil {
		t.Fatal(err)
	}
	cfg.SearchAlias, cfg.IndexPrefix, cfg.Logger = env.alias, env.prefix, quietLogger()
	if env.rb, err = projections.NewRebuilder(pool, es, env.store, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.rb.Close() })
	if env.reads, err = readmodels.NewStore(pool, es, readmodels.StoreConfig{SearchAlias: env.alias, TargetTTL: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	return env
}

func (env rebuildEnv) seed(t testing.TB, n int) projectionstest.Generated {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	h := projectionstest.NewHistory(now.Add(-2 * time.Hour))
	g := projectionstest.Generate(t, h, n, now)
	if err := projectionstest.CopyToStore(context.Background(), env.pool, h, 20000); err != nil {
		t.Fatal(err)
	}
	return g
}

// versions returns "version:state" of every row of projection_versions of projection.
func (env rebuildEnv) versions(t testing.TB, projection string) string {
	t.Helper()
	var s string
	if err := env.pool.QueryRow(context.Background(), `SELECT string_agg(version || ':' || state, ',' ORDER BY version)
		FROM projection_versions WHERE projection = $1`, projection).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func (env rebuildEnv) schemaExists(t testing.TB, schema string) bool {
	t.Helper()
	var ok bool
	if err := env.pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func (env rebuildEnv) count(t testing.TB, index, query string) int64 {
	t.Helper()
	res, err := env.es.Count(env.es.Count.WithIndex(index), env.es.Count.WithBody(strings.NewReader(query)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Count int64 `json:"count"`
	}
	if err := jsonDecode(res.Body, &body); err != nil || res.IsError() {
		t.Fatalf("count %s: %s %v", index, res.Status(), err)
	}
	return body.Count
}

// TestRebuildPromotesWhileQueriesKeepAnswering rebuilds the search projection twice over a
// history of 200,000 events (half of its job.posted events in the old v1 schema): the first
// rebuild fills version 2 from nothing; the second builds version 3 while searches run
// without pause and a live projector (following the live version) applies new jobs
// appended meanwhile. No search fails or misses a job, the alias moves, and every document
// carries the field the v2 mapping added.
func TestRebuildPromotesWhileQueriesKeepAnswering(t *testing.T) {
	t.Parallel()
	env := newRebuildEnv(t, projections.RebuilderConfig{CatchUpGap: 50, BatchSize: 10000, BulkWorkers: 3})
	ctx := ctxTimeout(t, 5*time.Minute)
	events := 200_000
	if raceEnabled {
		events = 50_000 // the race detector makes 200,000 take minutes; run without -race for the full size
	}
	g := env.seed(t, events)

	start := time.Now()
	st, err := env.rb.Run(ctx, readmodels.JobSearchProjection, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rebuild v1→v2 of %d events: %s (%.0f events/s)", st.EventsDone, time.Since(start), st.EventsPerSecond)
	if st.State != projections.RebuildDone || st.EventsDone < int64(events) || st.ToVersion != 2 {
		t.Fatalf("first rebuild = %+v", st)
	}
	v2 := env.prefix + "-v2"
	if n := env.count(t, v2, `{"query":{"term":{"status":"published"}}}`); n != int64(len(g.Open)) {
		t.Fatalf("v2 has %d published jobs, want %d", n, len(g.Open))
	}
	if n := env.count(t, v2, `{"query":{"bool":{"must_not":{"exists":{"field":"description_length"}}}}}`); n != 0 {
		t.Fatalf("%d documents of v2 lack description_length", n)
	}

	// A live projector follows the live version, fed by tailing the store.
	live, err := projections.NewJobSearchProjector(env.pool, env.es, projections.JobSearchConfig{FollowLive: true})
	if err != nil {
		t.Fatal(err)
	}
	var head eventstore.Position
	if err := env.pool.QueryRow(ctx, `SELECT transaction_id::text::bigint, global_position FROM events
		ORDER BY transaction_id DESC, global_position DESC LIMIT 1`).Scan(&head.TransactionID, &head.GlobalPosition); err != nil {
		t.Fatal(err)
	}
	bgCtx, stopBg := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopBg(); wg.Wait() }()
	tailErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tailErr <- env.store.Tail(bgCtx, eventstore.TailConfig{After: head, PollInterval: 50 * time.Millisecond},
			func(ctx context.Context, b eventstore.TailBatch) error {
				batch := make([]projections.Event, len(b.Events))
				for i, e := range b.Events {
					var err error // not the test's err, which the test goroutine writes meanwhile
					if batch[i], err = projections.DecodeEvent(e); err != nil {
						return err
					}
				}
				return live.Apply(ctx, batch)
			})
	}()

	// New jobs are posted and published all along.
	var company string
	if err := env.pool.QueryRow(ctx, `SELECT stream_id FROM events WHERE event_type = 'company.registered' LIMIT 1`).Scan(&company); err != nil {
		t.Fatal(err)
	}
	// The appender stops on a flag, not by cancelling its context: a cancelled append may
	// still commit on the server after the client gave up, and then escape the count below.
	var stopAppending atomic.Bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stopAppending.Load() && bgCtx.Err() == nil; i++ {
			if _, err := appendPublishedJob(ctx, env.store, company, i); err != nil {
				t.Errorf("append live job: %v", err)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	// Searches run without pause; the total never drops below the open jobs seeded.
	var searches, failures atomic.Int64
	var firstFailure atomic.Value
	wg.Add(1)
	go func() {
		defer wg.Done()
		for bgCtx.Err() == nil {
			res, err := env.reads.Search(bgCtx, readmodels.SearchParams{Q: "engineer", Limit: 5})
			if bgCtx.Err() != nil {
				return
			}
			searches.Add(1)
			if err == nil && res.Total < int64(len(g.Open)) {
				err = fmt.Errorf("search found %d jobs, want at least %d", res.Total, len(g.Open))
			}
			if err != nil {
				failures.Add(1)
				firstFailure.CompareAndSwap(nil, err.Error())
			}
		}
	}()

	start = time.Now()
	st, err = env.rb.Run(ctx, readmodels.JobSearchProjection, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rebuild v2→v3 under load: %s (%.0f events/s), %d searches", time.Since(start), st.EventsPerSecond, searches.Load())
	time.Sleep(300 * time.Millisecond) // searches after the swap, through the cached target
	stopAppending.Store(true)
	stopBg()
	wg.Wait()
	if err := <-tailErr; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("live projector: %v", err)
	}
	if f := failures.Load(); f > 0 || searches.Load() < 10 {
		t.Fatalf("%d of %d searches failed, first: %v", f, searches.Load(), firstFailure.Load())
	}

	// The live projector now writes v3; let it finish what was appended.
	var appended int
	if err := env.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE event_type = 'job.published' AND stream_id LIKE 'live-job-%'`).Scan(&appended); err != nil {
		t.Fatal(err)
	}
	if appended == 0 {
		t.Fatal("no live job was appended during the rebuild")
	}
	catchUp(t, ctx, env, live, head)

	v3 := env.prefix + "-v3"
	if got := env.versions(t, readmodels.JobSearchProjection); got != "1:retired,2:retired,3:live" {
		t.Fatalf("versions = %s", got)
	}
	if idx, err := readmodels.AliasIndices(ctx, env.es, env.alias); err != nil || len(idx) != 1 || idx[0] != v3 {
		t.Fatalf("alias %s on %v (%v), want only %s", env.alias, idx, err, v3)
	}
	if n, want := env.count(t, v3, `{"query":{"term":{"status":"published"}}}`), int64(len(g.Open)+appended); n != want {
		t.Fatalf("v3 has %d published jobs, want %d (%d seeded, %d appended live)", n, want, len(g.Open), appended)
	}
	if n := env.count(t, v3, `{"query":{"bool":{"must_not":{"exists":{"field":"description_length"}}}}}`); n != 0 {
		t.Fatalf("%d documents of v3 lack description_length", n)
	}

	// Retired versions go when pruned.
	dropped, err := env.rb.Prune(ctx, readmodels.JobSearchProjection, 0)
	if err != nil || len(dropped) != 2 {
		t.Fatalf("prune = %v, %v; want versions 1 and 2", dropped, err)
	}
	if env.schemaExists(t, "search_v2") || !env.schemaExists(t, "search_v3") {
		t.Fatal("prune dropped the wrong schemas")
	}
	if ok, _ := readmodels.IndexExists(ctx, env.es, v2); ok {
		t.Fatal("prune left index v2")
	}
}

// catchUp applies to p every event after from up to the newest event in the store, as
// the live projector's consumer would. Reads are commit-safe: a transaction anywhere on
// the server (another test's, another database's) holds the newest events back for a
// while, so an empty read means "not yet", not "done".
func catchUp(t *testing.T, ctx context.Context, env rebuildEnv, p projections.Projector, from eventstore.Position) {
	t.Helper()
	var head eventstore.Position
	if err := env.pool.QueryRow(ctx, `SELECT transaction_id::text::bigint, global_position FROM events
		ORDER BY transaction_id DESC, global_position DESC LIMIT 1`).Scan(&head.TransactionID, &head.GlobalPosition); err != nil {
		t.Fatal(err)
	}
	for pos := from; pos.Less(head); {
		evs, err := env.store.ReadAll(ctx, pos, 1000, eventstore.ReadFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			select {
			case <-ctx.Done():
				t.Fatalf("catching up to %v: %v (at %v)", head, ctx.Err(), pos)
			case <-time.After(20 * time.Millisecond):
			}
			continue
		}
		batch := make([]projections.Event, len(evs))
		for i, e := range evs {
			if batch[i], err = projections.DecodeEvent(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Apply(ctx, batch); err != nil {
			t.Fatal(err)
		}
		pos = evs[len(evs)-1].Position()
	}
}

// appendPublishedJob appends a job's posting, payment and publication in one append.
func appendPublishedJob(ctx context.Context, store *eventstore.Store, company string, i int) (string, error) {
	now := time.Now().UTC()
	id := fmt.Sprintf("live-job-%d-%d", now.UnixNano(), i)
	details, err := domain.NewJobDetails(domain.JobDetailsInput{Title: fmt.Sprintf("Live Engineer %d", i),
		Description: "A job posted while the projection is rebuilt.", EmploymentType: "full_time", Seniority: "senior"})
	if err != nil {
		return "", err
	}
	eur, _ := domain.ParseCurrency("EUR")
	var data []eventstore.EventData
	for _, e := range []domain.Event{
		&domain.JobPosted{JobID: id, CompanyID: company, Details: details, PostedAt: now},
		&domain.ListingPaymentRequested{JobID: id, CompanyID: company, PaymentID: "pay-" + id, Plan: domain.ListingPlanStandard,
			Amount: 10000, Currency: eur, DurationSeconds: 30 * 86400, RequestedAt: now},
		&domain.ListingPaid{JobID: id, CompanyID: company, PaymentID: "pay-" + id, Plan: domain.ListingPlanStandard,
			Amount: 10000, Currency: eur, PaidAt: now},
		&domain.JobPublished{JobID: id, CompanyID: company, PaymentID: "pay-" + id, Plan: domain.ListingPlanStandard,
			PublishedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)},
	} {
		d, err := storedevents.Encode(e, eventstore.Metadata{Actor: "test"})
		if err != nil {
			return "", err
		}
		data = append(data, d)
	}
	_, err = store.Append(ctx, id, domain.StreamTypeJob, eventstore.NoStream, data)
	return id, err
}
