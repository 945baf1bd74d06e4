package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/migrations"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/readmodels"
	"github.com/jobboard/jobboard/seed"
	"github.com/jobboard/jobboard/storedevents"
)

// Query benchmarks (issue 5, point 8): latency of GET /v1/jobs and GET /v1/jobs/{id} under
// sustained concurrent load over a board of at least 100,000 published, unexpired jobs, and
// the freshness of search (command answer → searchable).
//
//	go test -run '^$' -bench 'SearchUnderLoad|GetJobUnderLoad' -benchtime 2000x -timeout 30m ./internal/app/
//	go test -run '^$' -bench Freshness -benchtime 50x ./internal/app/
//
// The board is kept between runs: database jobboard_bench_queries and the Elasticsearch
// indices prefixed bench-queries-. A run reuses them when search and the read tables both
// still hold enough open jobs (the seeded listings last 90 days and the history spans the 60
// days before it was seeded, so a board serves for a month); otherwise it drops them and builds the board again, which takes a few
// minutes. JOBBOARD_BENCH_FRESH=1 forces a rebuild (do it after a change to the projectors
// or the search mapping); JOBBOARD_BENCH_JOBS changes the number of jobs wanted.

const (
	boardDatabase    = "jobboard_bench_queries"
	boardIndexPrefix = "bench-queries-"
	// boardLoadWorkers is the number of concurrent clients of the load benchmarks.
	boardLoadWorkers = 8
)

// board is the populated read side the load benchmarks query.
type board struct {
	dsn string
	// jobIDs are the ids of the published, unexpired jobs.
	jobIDs []string
}

// boardOnce builds or finds the board once per test binary: b.N reruns and the two load
// benchmarks share it.
var boardOnce struct {
	sync.Once
	board board
	err   error
}

func loadBoard(b *testing.B) board {
	b.Helper()
	base := testenv.PostgresURL(b)
	testenv.ElasticsearchURL(b)
	boardOnce.Do(func() {
		wanted := 100_000
		if v := os.Getenv("JOBBOARD_BENCH_JOBS"); v != "" {
			if _, err := fmt.Sscan(v, &wanted); err != nil {
				boardOnce.err = fmt.Errorf("JOBBOARD_BENCH_JOBS: %w", err)
				return
			}
		}
		boardOnce.board, boardOnce.err = buildBoard(context.Background(), b, base, wanted, os.Getenv("JOBBOARD_BENCH_FRESH") == "1")
	})
	if boardOnce.err != nil {
		b.Fatal(boardOnce.err)
	}
	return boardOnce.board
}

// buildBoard reuses the kept board if it holds wanted open jobs, otherwise builds it: a
// seeded history tuned toward published jobs, projected straight from the store (no Kafka)
// through the real search and read-table projectors, bulk-loaded into the search index.
func buildBoard(ctx context.Context, b *testing.B, base string, wanted int, fresh bool) (board, error) {
	pu, err := url.Parse(base)
	if err != nil {
		return board{}, err
	}
	pu.Path = "/" + boardDatabase
	dsn := pu.String()
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{testenv.ElasticsearchURL(b)}})
	if err != nil {
		return board{}, err
	}
	index, alias := boardIndexPrefix+readmodels.DefaultSearchIndex, boardIndexPrefix+readmodels.DefaultSearchAlias

	if !fresh {
		if err := ensureDatabase(ctx, base, false); err != nil {
			return board{}, err
		}
		ids, found, err := openBoardJobs(ctx, dsn, es, alias)
		if err == nil && found >= wanted && len(ids) >= wanted {
			b.Logf("board: reusing %s with %d open jobs in search, %d in the read tables", boardDatabase, found, len(ids))
			return board{dsn: dsn, jobIDs: ids}, nil
		}
		b.Logf("board: %s holds %d open jobs in search (%v), want %d: building it again", boardDatabase, found, err, wanted)
	}

	began := time.Now()
	if err := ensureDatabase(ctx, base, true); err != nil {
		return board{}, err
	}
	if err := deleteIndices(ctx, es, boardIndexPrefix+"*"); err != nil {
		return board{}, err
	}
	if err := readmodels.CreateSearchIndexForBulk(ctx, es, index, readmodels.IndexSettings{}); err != nil {
		return board{}, err
	}
	if err := readmodels.EnsureSearchIndex(ctx, es, index, alias, readmodels.IndexSettings{}); err != nil {
		return board{}, err
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return board{}, err
	}
	defer pool.Close()
	reg, err := storedevents.NewRegistry()
	if err != nil {
		return board{}, err
	}
	store, err := eventstore.NewStore(pool, eventstore.StoreConfig{Registry: reg, Logger: testLogger()})
	if err != nil {
		return board{}, err
	}

	// Only what search and job pages show: companies and jobs that are paid for and stay
	// open. Applications and candidates touch neither the index nor the jobs table. A span
	// of 60 days lets companies post several jobs (the seeder spaces them up to 30 days
	// apart) and 90-day listings keep every one of them open.
	mix := seed.Mix{JobsPerCompany: 5, FeaturedShare: 0.2, UnpaidShare: 0.03, PaymentFailureShare: 0.03, DetailsChangeShare: 0.1}
	end := time.Now().UTC()
	var (
		pos                eventstore.Position
		seeded, projected  time.Duration
		events, open       int
		eventsPerOpenJob   = 5.0
		searchOpen, rounds int
	)
	for open < wanted {
		rounds++
		if rounds > 5 {
			return board{}, fmt.Errorf("board: %d open jobs after %d seeds, want %d", open, rounds-1, wanted)
		}
		n := int(float64(wanted-open)*eventsPerOpenJob*1.05) + 1000
		t0 := time.Now()
		s, err := seed.NewSeeder(pool, store, seed.Config{Events: n, Seed: uint64(rounds), End: end, Span: 60 * 24 * time.Hour,
			ListingDuration: 90 * 24 * time.Hour, Mix: &mix, Writers: 2, BatchEvents: 5000, Logger: testLogger()})
		if err != nil {
			return board{}, err
		}
		if _, err := s.Run(ctx); err != nil {
			return board{}, err
		}
		seeded += time.Since(t0)
		events += n

		t0 = time.Now()
		if pos, err = projectBoard(ctx, pool, store, reg, es, index, pos); err != nil {
			return board{}, err
		}
		projected += time.Since(t0)
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM rm_v1.jobs WHERE status = 'published' AND expires_at > now()`).Scan(&open); err != nil {
			return board{}, err
		}
		if open > 0 {
			eventsPerOpenJob = float64(events) / float64(open)
		}
	}
	t0 := time.Now()
	if err := readmodels.FinishBulkLoad(ctx, es, index); err != nil {
		return board{}, err
	}
	refreshed := time.Since(t0)
	ids, searchOpen, err := openBoardJobs(ctx, dsn, es, alias)
	if err != nil {
		return board{}, err
	}
	if searchOpen < wanted || len(ids) < wanted {
		return board{}, fmt.Errorf("board: search holds %d open jobs, the read tables %d, want %d", searchOpen, len(ids), wanted)
	}
	b.Logf("board: built in %s: %d events seeded in %s, projected (search + read tables) in %s, refresh %s; %d open jobs in search, %d in the read tables",
		time.Since(began).Round(time.Second), events, seeded.Round(time.Second), projected.Round(time.Second),
		refreshed.Round(time.Millisecond), searchOpen, len(ids))
	return board{dsn: dsn, jobIDs: ids}, nil
}

// ensureDatabase creates the board's database if it is missing (dropping it first with
// recreate) and applies the migrations.
func ensureDatabase(ctx context.Context, base string, recreate bool) error {
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	if recreate {
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+boardDatabase+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop %s: %w", boardDatabase, err)
		}
	}
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, boardDatabase).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+boardDatabase); err != nil {
			return fmt.Errorf("create %s: %w", boardDatabase, err)
		}
	}
	pu, _ := url.Parse(base)
	pu.Path = "/" + boardDatabase
	return migrations.Up(ctx, pu.String())
}

// deleteIndices deletes every index matching pattern (by name: wildcard deletes may be
// refused by the cluster).
func deleteIndices(ctx context.Context, es *elasticsearch.Client, pattern string) error {
	res, err := es.Indices.Get([]string{pattern}, es.Indices.Get.WithContext(ctx))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.IsError() {
		raw, _ := io.ReadAll(res.Body)
		return fmt.Errorf("list indices %s: %s: %s", pattern, res.Status(), raw)
	}
	var found map[string]json.RawMessage
	if err := json.NewDecoder(res.Body).Decode(&found); err != nil {
		return err
	}
	for name := range found {
		if err := readmodels.DeleteIndex(ctx, es, name); err != nil {
			return err
		}
	}
	return nil
}

// openBoardJobs returns the open jobs of the read tables and the number search finds.
func openBoardJobs(ctx context.Context, dsn string, es *elasticsearch.Client, alias string) ([]string, int, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, 0, err
	}
	defer pool.Close()
	rm, err := readmodels.NewStore(pool, es, readmodels.StoreConfig{SearchAlias: alias})
	if err != nil {
		return nil, 0, err
	}
	res, err := rm.Search(ctx, readmodels.SearchParams{Limit: 1})
	if err != nil {
		return nil, 0, err
	}
	rows, err := pool.Query(ctx, `SELECT id::text FROM rm_v1.jobs WHERE status = 'published' AND expires_at > now()`)
	if err != nil {
		return nil, int(res.Total), err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, int(res.Total), err
}

// projectBoard applies every event after pos to the search and read-table projectors, in
// batches read straight from the store, the two projectors side by side; it returns the
// position of the last event applied.
func projectBoard(ctx context.Context, pool *pgxpool.Pool, store *eventstore.Store, reg *eventstore.Registry,
	es *elasticsearch.Client, index string, pos eventstore.Position) (eventstore.Position, error) {
	search, err := projections.NewJobSearchProjector(pool, es, projections.JobSearchConfig{Index: index, Refresh: "false", BulkWorkers: 2})
	if err != nil {
		return pos, err
	}
	tables, err := projections.NewReadTablesProjector(pool, projections.ReadTablesConfig{})
	if err != nil {
		return pos, err
	}
	const batch = 5000
	g, gctx := errgroup.WithContext(ctx)
	var feeds []chan []projections.Event
	for _, p := range []projections.Projector{search, tables} {
		feed := make(chan []projections.Event, 2)
		feeds = append(feeds, feed)
		types := map[string]bool{}
		for _, t := range p.StreamTypes() {
			types[t] = true
		}
		g.Go(func() error {
			for evs := range feed {
				mine := make([]projections.Event, 0, len(evs))
				for _, e := range evs {
					if types[e.StreamType] {
						mine = append(mine, e)
					}
				}
				if len(mine) == 0 {
					continue
				}
				if err := p.Apply(gctx, mine); err != nil {
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer func() {
			for _, f := range feeds {
				close(f)
			}
		}()
		for {
			raw, err := store.ReadAll(gctx, pos, batch, eventstore.ReadFilter{})
			if err != nil {
				return err
			}
			if len(raw) == 0 {
				return nil
			}
			evs := make([]projections.Event, len(raw))
			for i, e := range raw {
				if evs[i], err = projections.DecodeEvent(e); err != nil {
					return err
				}
			}
			for _, f := range feeds {
				select {
				case f <- evs:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			pos = raw[len(raw)-1].Position()
			if len(raw) < batch {
				return nil
			}
		}
	})
	err = g.Wait()
	return pos, err
}

// boardApp runs the API role over the board.
func boardApp(b *testing.B, bd board) *app.Main {
	b.Helper()
	cfg := stackConfig(b)
	cfg.DatabaseURL = bd.dsn
	cfg.ElasticsearchIndexPrefix = boardIndexPrefix
	cfg.Roles = []string{app.RoleAPI}
	return start(b, cfg)
}

// Words of the seeded titles and tags, and what people mistype of them.
var (
	searchWords = []string{"backend", "frontend", "engineer", "developer", "data", "scientist", "machine learning",
		"reliability", "devops", "security", "product", "designer", "manager", "android", "ios", "analyst",
		"writer", "architect", "recruiter", "support", "database", "senior backend", "full-stack", "kubernetes",
		"python", "platform", "react", "go"}
	searchTags  = []string{"go", "python", "kubernetes", "typescript", "react", "aws", "sql", "kafka", "postgresql", "figma", "rust", "saas"}
	seniorities = []string{"junior", "mid", "senior", "lead", "principal"}
)

// typo changes one letter after the first (fuzziness AUTO has prefix_length 1): a
// swap, a dropped or a doubled letter.
func typo(r *rand.Rand, w string) string {
	if len(w) < 5 {
		return w
	}
	i := 1 + r.IntN(len(w)-2)
	switch r.IntN(3) {
	case 0:
		return w[:i] + string(w[i+1]) + string(w[i]) + w[i+2:]
	case 1:
		return w[:i] + w[i+1:]
	default:
		return w[:i] + string(w[i]) + w[i:]
	}
}

// searchQuery draws a realistic GET /v1/jobs query.
func searchQuery(r *rand.Rand) string {
	v := url.Values{"limit": {"20"}}
	if r.IntN(5) > 0 {
		q := searchWords[r.IntN(len(searchWords))]
		if r.IntN(10) < 3 {
			q = typo(r, q)
		}
		v.Set("q", q)
	}
	if r.IntN(10) < 3 {
		v.Set("tags", searchTags[r.IntN(len(searchTags))])
	}
	if r.IntN(10) < 3 {
		v.Set("remote", fmt.Sprint(r.IntN(3) > 0))
	}
	if r.IntN(10) < 2 {
		v.Set("seniority", seniorities[r.IntN(len(seniorities))])
	}
	switch n := r.IntN(10); {
	case n < 3:
		v.Set("sort", "newest")
	case n < 5:
		v.Set("sort", "salary")
	}
	return "/v1/jobs?" + v.Encode()
}

// runLoad sends b.N GET requests over boardLoadWorkers concurrent clients, each path drawn
// by next, and reports the latency percentiles and the throughput.
func runLoad(b *testing.B, base string, next func(r *rand.Rand) string) {
	b.Helper()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: boardLoadWorkers}}
	defer hc.CloseIdleConnections()
	send := func(path string) (time.Duration, error) {
		t0 := time.Now()
		res, err := hc.Get(base + path)
		if err != nil {
			return 0, err
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		took := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if res.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %d %.300s", path, res.StatusCode, raw)
		}
		return took, nil
	}
	run := func(n int, record bool) ([]time.Duration, error) {
		var (
			left = int64(n)
			mu   sync.Mutex
			all  = make([]time.Duration, 0, n)
			g    errgroup.Group
		)
		for w := range boardLoadWorkers {
			r := rand.New(rand.NewPCG(uint64(w), uint64(n)))
			g.Go(func() error {
				var mine []time.Duration
				for atomic.AddInt64(&left, -1) >= 0 {
					took, err := send(next(r))
					if err != nil {
						return err
					}
					mine = append(mine, took)
				}
				if record {
					mu.Lock()
					all = append(all, mine...)
					mu.Unlock()
				}
				return nil
			})
		}
		return all, g.Wait()
	}
	// Warm up connections and Elasticsearch's caches; not measured.
	if _, err := run(min(b.N, 200), false); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	began := time.Now()
	lat, err := run(b.N, true)
	elapsed := time.Since(began)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	reportPercentiles(b, lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	b.Helper()
	slices.Sort(lat)
	at := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// BenchmarkSearchUnderLoad: GET /v1/jobs with varied realistic queries (title words, some
// mistyped; tag, remote and seniority filters; relevance, newest and salary order; 20 a
// page, with facets) from 8 concurrent clients over at least 100,000 open jobs.
func BenchmarkSearchUnderLoad(b *testing.B) {
	bd := loadBoard(b)
	m := boardApp(b, bd)
	runLoad(b, m.URL(), searchQuery)
}

// BenchmarkGetJobUnderLoad: GET /v1/jobs/{id} of random open jobs from 8 concurrent
// clients over the same board.
func BenchmarkGetJobUnderLoad(b *testing.B) {
	bd := loadBoard(b)
	m := boardApp(b, bd)
	runLoad(b, m.URL(), func(r *rand.Rand) string { return "/v1/jobs/" + bd.jobIDs[r.IntN(len(bd.jobIDs))] })
}

// searchable polls GET /v1/jobs?q=word every 5 ms, without a consistency token, until the
// job is found. A 503 (the projectors have not created the index yet, at start-up) counts
// as not found yet.
func (c client) searchable(word, jobID string, within time.Duration) time.Time {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		a := c.do("GET", "/v1/jobs?q="+url.QueryEscape(word), "", nil)
		found := time.Now()
		if a.status != http.StatusOK && a.status != http.StatusServiceUnavailable {
			c.t.Fatalf("search %s: %d %s", word, a.status, a.raw)
		}
		for _, it := range items(a) {
			if it["id"] == jobID {
				return found
			}
		}
		if found.After(deadline) {
			c.t.Fatalf("job %s not searchable within %s", jobID, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkFreshness: per iteration, post → pay → signed payment_intent.succeeded webhook,
// then the time from the webhook's answer until GET /v1/jobs?q=<a word only this title
// has> finds the job (polled every 5 ms, without a consistency token): outbox relay →
// Kafka → search projector → Elasticsearch refresh. The whole system runs in one process
// (every role) on a fresh database and index.
func BenchmarkFreshness(b *testing.B) {
	cfg := stackConfig(b)
	cfg.Roles = app.AllRoles
	b.Cleanup(func() {
		es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{cfg.ElasticsearchURL}})
		if err == nil {
			_ = readmodels.DeleteIndex(context.Background(), es, cfg.ElasticsearchIndexPrefix+readmodels.DefaultSearchIndex)
		}
	})
	m := start(b, cfg)
	c := client{t: b, base: m.URL()}
	token := c.must(c.do("POST", "/v1/companies", "", map[string]any{"name": "Fresh Co", "email": uuid.NewString() + "@fresh.test"}), 201).str("token")
	word := func() string { return "fq" + testenv.RandomSuffix() }

	// Warm up: topics, consumer groups joining, the index created.
	for range 3 {
		w := word()
		id, _ := postAndPay(c, cfg.StripeWebhookSecret, token, "Freshness probe "+w, "standard")
		c.searchable(w, id, 2*time.Minute)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		w := word()
		id, _ := postAndPay(c, cfg.StripeWebhookSecret, token, "Freshness probe "+w, "standard")
		answered := time.Now()
		lat = append(lat, c.searchable(w, id, 30*time.Second).Sub(answered))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}
