package app_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/migrations"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/readmodels"
	"github.com/jobboard/jobboard/seed"
	"github.com/jobboard/jobboard/storedevents"
)

// Open-loop load benchmarks (issue 12, point 4): requests arrive at a constant rate
// whatever the answers' latency (vegeta's constant pacer), so a slow answer is not hidden by
// a client waiting for it, over the board of query_bench_test.go (at least 100,000 open
// jobs; JOBBOARD_BENCH_JOBS for a smaller smoke run).
//
//	go test -run '^$' -bench 'OpenLoop' -benchtime 1x -timeout 60m ./internal/app/
//
// Beside the searches, a background write load of realistic history (a seeded history of
// its own, JOBBOARD_BENCH_WRITE_RATE events/s, default 500) goes through the current search
// projector into the index searched, in batches every 100 ms, as the live projector writes
// them; each binary gets the same events. JOBBOARD_BENCH_RATES (default "50,100,200") are the search rates measured, each for
// JOBBOARD_BENCH_DURATION (default 30s); then the rate is raised by half from 50 until
// p99 passes 100 ms or an answer is not 200, and the interval between the last rate that held
// and the first that failed is halved twice: the last rate that held is the highest. JOBBOARD_BENCH_OLD names a
// commit (e.g. the one before issue 12): its binary is built in a temporary worktree and
// served over its own copy of the board (database and index cloned), measured in the same
// run, step by step beside the current one, and the ratio of the highest rates is reported.
const openLoopP99Bound = 100 * time.Millisecond

// attack sends GETs of the paths next draws to base at rate per second for d, open loop,
// and returns vegeta's metrics. Answers other than 200 (a search out of its time budget
// answers 503) are counted, not fatal: an overloaded service is a result; an attack with no
// answer at all fails the benchmark.
func attack(b *testing.B, base string, rate int, d time.Duration, next func(r *rand.Rand) string) vegeta.Metrics {
	b.Helper()
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(uint64(rate), 12))
	targeter := func(t *vegeta.Target) error {
		mu.Lock()
		path := next(r)
		mu.Unlock()
		t.Method, t.URL = http.MethodGet, base+path
		return nil
	}
	attacker := vegeta.NewAttacker(vegeta.Timeout(10*time.Second), vegeta.KeepAlive(true))
	var m vegeta.Metrics
	for res := range attacker.Attack(targeter, vegeta.Rate{Freq: rate, Per: time.Second}, d, fmt.Sprint(rate)) {
		m.Add(res)
	}
	m.Close()
	if m.Success == 0 {
		b.Fatalf("%d/s against %s: success %.4f, status codes %v, errors %v", rate, base, m.Success, m.StatusCodes, m.Errors)
	}
	return m
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func benchRates(b *testing.B) ([]int, time.Duration) {
	b.Helper()
	rates := []int{50, 100, 200}
	if v := os.Getenv("JOBBOARD_BENCH_RATES"); v != "" {
		rates = nil
		for _, f := range strings.Split(v, ",") {
			var n int
			if _, err := fmt.Sscan(f, &n); err != nil || n <= 0 {
				b.Fatalf("JOBBOARD_BENCH_RATES: %q", v)
			}
			rates = append(rates, n)
		}
	}
	d := 30 * time.Second
	if v := os.Getenv("JOBBOARD_BENCH_DURATION"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			b.Fatalf("JOBBOARD_BENCH_DURATION: %v", err)
		}
	}
	return rates, d
}

// BenchmarkSearchOpenLoop: GET /v1/jobs with the query mix of BenchmarkSearchUnderLoad at
// constant rates; p50 and p99 per rate and the highest rate with p99 ≤ 100 ms, for the
// current code and, with JOBBOARD_BENCH_OLD, for the old binary over a copy of the board.
//
// Both are measured alike, so that neither gets an advantage the other lacks: each is a
// binary of its own (the current tree's built as the old commit's is) serving the API role
// in its own process; each is warmed up (the JVM of Elasticsearch, the file cache, the
// connections) before anything is recorded; and the steps interleave — at each rate one
// binary then the other, first the one that went second at the step before — with the
// background write load of the binary measured running and the other's paused.
func BenchmarkSearchOpenLoop(b *testing.B) {
	bd := loadBoard(b)
	rates, d := benchRates(b)
	type served struct {
		name   string
		server *servedBinary
		writes *backgroundWrites
	}
	rate := seedWrites(b, rates, d)
	cfg := stackConfig(b) // the engines' addresses and the secrets both binaries serve with
	var under []*served
	if old := os.Getenv("JOBBOARD_BENCH_OLD"); old != "" {
		// The copy is taken before the current binary opens the board: a database with
		// sessions cannot be a template.
		dsn, prefix := copyBoard(b, "bench-old-queries-", boardDatabase+"_old")
		under = append(under, &served{name: "old", server: serveBinary(b, cfg, buildBinary(b, old), dsn, prefix),
			writes: writeLoad(b, rate, prefix+readmodels.DefaultSearchIndex)})
	}
	under = append([]*served{{name: "new", server: serveBinary(b, cfg, buildBinary(b, ""), bd.dsn, boardIndexPrefix),
		writes: writeLoad(b, rate, boardIndexPrefix+readmodels.DefaultSearchIndex)}}, under...)
	// measure attacks s at rate and logs, beside the latencies, the CPU time the binary and
	// Elasticsearch spent per request: a cost that a busy machine's noise moves far less
	// than a percentile of latency (Elasticsearch's includes the background writes').
	measure := func(s *served, rate int, report bool) vegeta.Metrics {
		s.writes.resume()
		defer s.writes.pause()
		app0, es0 := s.server.cpu(b), testenv.ElasticsearchCPU(b, testenv.ElasticsearchURL(b))
		m := attack(b, s.server.base, rate, d, searchQuery)
		appMs, esMs := (s.server.cpu(b)-app0)/float64(m.Requests), (testenv.ElasticsearchCPU(b, testenv.ElasticsearchURL(b))-es0)/float64(m.Requests)
		b.Logf("%s search at %d/s: p50 %.1f ms, p99 %.1f ms (%d requests, %.1f %% 200, status codes %v); CPU per request: binary %.2f ms, Elasticsearch %.2f ms",
			s.name, rate, ms(m.Latencies.P50), ms(m.Latencies.P99), m.Requests, 100*m.Success, m.StatusCodes, appMs, esMs)
		if report {
			b.ReportMetric(ms(m.Latencies.P50), fmt.Sprintf("%s-p50-ms@%d/s", s.name, rate))
			b.ReportMetric(ms(m.Latencies.P99), fmt.Sprintf("%s-p99-ms@%d/s", s.name, rate))
			b.ReportMetric(100*m.Success, fmt.Sprintf("%s-ok-%%@%d/s", s.name, rate))
			b.ReportMetric(appMs, fmt.Sprintf("%s-cpu-ms/req@%d/s", s.name, rate))
			b.ReportMetric(esMs, fmt.Sprintf("%s-es-cpu-ms/req@%d/s", s.name, rate))
		}
		return m
	}
	// order alternates which binary goes first at each step.
	order := func(step int) []*served {
		if step%2 == 1 {
			r := slices.Clone(under)
			slices.Reverse(r)
			return r
		}
		return under
	}
	b.Log("warm-up:")
	for _, s := range under {
		measure(s, 50, false)
	}
	for step, rate := range rates {
		for _, s := range order(step) {
			measure(s, rate, true)
		}
	}
	// The highest rate: up by half from 50 until p99 passes the bound or an answer is not
	// 200, then halving the interval between the last rate that held and the first that
	// failed, twice, so the answer is within an eighth of the step rather than a half.
	holds := func(m vegeta.Metrics) bool { return m.Latencies.P99 <= openLoopP99Bound && m.Success == 1 }
	highest, failed := map[string]int{}, map[string]int{}
	for step, rate := 0, 50; rate <= 5000 && len(failed) < len(under); step, rate = step+1, rate+rate/2 {
		for _, s := range order(step) {
			if failed[s.name] > 0 {
				continue
			}
			if holds(measure(s, rate, false)) {
				highest[s.name] = rate
			} else {
				failed[s.name] = rate
			}
		}
	}
	for step := range 2 {
		for _, s := range order(step) {
			if failed[s.name] == 0 || failed[s.name]-highest[s.name] < 2 {
				continue
			}
			rate := (highest[s.name] + failed[s.name]) / 2
			if holds(measure(s, rate, false)) {
				highest[s.name] = rate
			} else {
				failed[s.name] = rate
			}
		}
	}
	for _, s := range under {
		b.ReportMetric(float64(highest[s.name]), s.name+"-max-req/s@p99≤100ms")
		b.ReportMetric(s.writes.stop(), s.name+"-writes-events/s")
	}
	if o := highest["old"]; o > 0 {
		b.ReportMetric(float64(highest["new"])/float64(o), "new/old-max-rate")
	}
}

// BenchmarkGetJobOpenLoop: GET /v1/jobs/{id} of random open jobs at 1,000 requests/s
// (JOBBOARD_BENCH_GET_RATE) for JOBBOARD_BENCH_DURATION.
func BenchmarkGetJobOpenLoop(b *testing.B) {
	bd := loadBoard(b)
	_, d := benchRates(b)
	rate := 1000
	if v := os.Getenv("JOBBOARD_BENCH_GET_RATE"); v != "" {
		if _, err := fmt.Sscan(v, &rate); err != nil {
			b.Fatalf("JOBBOARD_BENCH_GET_RATE: %v", err)
		}
	}
	m := attack(b, boardApp(b, bd).URL(), rate, d, func(r *rand.Rand) string { return "/v1/jobs/" + bd.jobIDs[r.IntN(len(bd.jobIDs))] })
	b.ReportMetric(ms(m.Latencies.P50), fmt.Sprintf("p50-ms@%d/s", rate))
	b.ReportMetric(ms(m.Latencies.P99), fmt.Sprintf("p99-ms@%d/s", rate))
	b.ReportMetric(100*m.Success, fmt.Sprintf("ok-%%@%d/s", rate))
}

// buildBinary builds the jobboard binary of commit (checked out in a temporary git worktree),
// or of the current tree when commit is empty, into a temporary directory.
func buildBinary(b *testing.B, commit string) string {
	b.Helper()
	tmp := b.TempDir()
	bin := filepath.Join(tmp, "jobboard")
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		b.Fatalf("git rev-parse: %v", err)
	}
	tree := strings.TrimSpace(string(top))
	run := func(dir string, name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s %v: %v: %s", name, args, err, out)
		}
	}
	if commit != "" {
		repo := tree
		tree = filepath.Join(tmp, "src")
		run(repo, "git", "worktree", "add", "--detach", tree, commit)
		b.Cleanup(func() { _ = exec.Command("git", "-C", repo, "worktree", "remove", "--force", tree).Run() })
	}
	run(tree, "go", "build", "-o", bin, "./cmd/jobboard")
	return bin
}

// copyBoard copies the board: the database as a template into database, the index by a
// clone under prefix. It returns the copy's database URL and index prefix; both are removed
// when the benchmark ends.
func copyBoard(b *testing.B, prefix, database string) (string, string) {
	b.Helper()
	ctx := context.Background()
	dsn := recreateDatabase(b, database, boardDatabase)
	es := esClient(b)
	if err := deleteIndices(ctx, es, prefix+"*"); err != nil {
		b.Fatal(err)
	}
	// A clone needs its source read-only for the moment it takes.
	src, dst := boardIndexPrefix+readmodels.DefaultSearchIndex, prefix+readmodels.DefaultSearchIndex
	block := func(index string, on bool) {
		res, err := es.Indices.PutSettings(strings.NewReader(fmt.Sprintf(`{"index.blocks.write":%t}`, on)), es.Indices.PutSettings.WithIndex(index))
		if err != nil || res.IsError() {
			b.Fatalf("write block of %s: %v %v", index, err, res)
		}
		res.Body.Close()
	}
	block(src, true)
	res, err := es.Indices.Clone(src, dst)
	block(src, false)
	if err != nil || res.IsError() {
		b.Fatalf("clone %s: %v %v", src, err, res)
	}
	res.Body.Close()
	block(dst, false)
	b.Cleanup(func() { _ = deleteIndices(context.Background(), es, prefix+"*") })
	if err := readmodels.EnsureSearchIndex(ctx, es, dst, prefix+readmodels.DefaultSearchAlias, readmodels.IndexSettings{}); err != nil {
		b.Fatal(err)
	}
	return dsn, prefix
}

// serveBinary runs bin's serve with the API role only, the engines and secrets of cfg,
// over the database dsn and the indices under prefix, in a process of its own, and returns
// it once it is ready; the process is killed when the benchmark ends.
func serveBinary(b *testing.B, cfg app.Config, bin, dsn, prefix string) *servedBinary {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+dsn, "ELASTICSEARCH_URL="+cfg.ElasticsearchURL, "ELASTICSEARCH_INDEX_PREFIX="+prefix,
		"KAFKA_BROKERS="+strings.Join(cfg.KafkaBrokers, ","), "KAFKA_TOPIC_PREFIX="+cfg.KafkaTopicPrefix,
		"STRIPE_API_BASE="+cfg.StripeAPIBase, "STRIPE_SECRET_KEY="+cfg.StripeSecretKey, "STRIPE_WEBHOOK_SECRET="+cfg.StripeWebhookSecret,
		"OPERATOR_TOKEN="+cfg.OperatorToken, "SIGNING_KEY="+cfg.SigningKey, "HTTP_ADDR="+addr, "ROLES=api",
		"LOG_LEVEL=warn", "RATE_LIMIT_SEARCH=0", "RATE_LIMIT_APPLICATION=0", "RATE_LIMIT_EMPLOYER=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	for deadline := time.Now().Add(time.Minute); ; {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return &servedBinary{base: base, pid: cmd.Process.Pid}
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s is not ready on %s after a minute", bin, base)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// servedBinary is a process serving the API.
type servedBinary struct {
	base string
	pid  int
}

// cpu is the CPU time the process has used so far, in milliseconds.
func (s *servedBinary) cpu(b *testing.B) float64 {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command's closing parenthesis; utime and stime are the 12th
	// and 13th of them, in clock ticks (100 a second on Linux).
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	var user, system float64
	if _, err := fmt.Sscan(f[11]+" "+f[12], &user, &system); err != nil {
		b.Fatalf("%s: %v", raw, err)
	}
	return (user + system) * 10
}

func esClient(b *testing.B) *elasticsearch.Client {
	b.Helper()
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{testenv.ElasticsearchURL(b)}})
	if err != nil {
		b.Fatal(err)
	}
	return es
}

// writesDatabase holds the background write load's history; each measured binary's
// projector gets a copy of it (fresh side tables, the same events).
const writesDatabase = "jobboard_bench_writes"

// seedWrites seeds, into a fresh writesDatabase, enough realistic history for the write
// rate over every attack of one binary, and returns the write rate.
func seedWrites(b *testing.B, rates []int, d time.Duration) int {
	b.Helper()
	rate := 500
	if v := os.Getenv("JOBBOARD_BENCH_WRITE_RATE"); v != "" {
		if _, err := fmt.Sscan(v, &rate); err != nil {
			b.Fatalf("JOBBOARD_BENCH_WRITE_RATE: %v", err)
		}
	}
	if rate == 0 {
		return 0
	}
	ctx := context.Background()
	dsn := recreateDatabase(b, writesDatabase, "")
	if err := migrations.Up(ctx, dsn); err != nil {
		b.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	reg, err := storedevents.NewRegistry()
	if err != nil {
		b.Fatal(err)
	}
	store, err := eventstore.NewStore(pool, eventstore.StoreConfig{Registry: reg, Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	// The rates asked for and up to 12 steps of the search for the highest rate.
	events := rate * int(d.Seconds()+1) * (len(rates) + 12)
	s, err := seed.NewSeeder(pool, store, seed.Config{Events: events, Seed: 42, End: time.Now().UTC(), Span: 30 * 24 * time.Hour,
		ListingDuration: 90 * 24 * time.Hour, Writers: 2, BatchEvents: 5000, Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Run(ctx); err != nil {
		b.Fatal(err)
	}
	return rate
}

// recreateDatabase drops and creates name (from template, if not empty) and returns its
// URL; it is dropped when the benchmark ends.
func recreateDatabase(b *testing.B, name, template string) string {
	b.Helper()
	ctx := context.Background()
	base := testenv.PostgresURL(b)
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close(ctx)
	create := "CREATE DATABASE " + name
	if template != "" {
		create += " TEMPLATE " + template
	}
	for _, q := range []string{"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", create} {
		if _, err := admin.Exec(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	b.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), base); err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// backgroundWrites applies the seeded history of writesDatabase through a search projector
// into one index, in batches every 100 ms, while it is resumed.
type backgroundWrites struct {
	b       *testing.B
	running atomic.Bool
	applied atomic.Int64
	active  atomic.Int64 // nanoseconds spent resumed
	since   atomic.Int64 // when the writes were resumed last (Unix nanoseconds)
	stopped func() error
}

// writeLoad starts writes of rate events/s of the seeded history of writesDatabase, through
// a search projector over a copy of that database, into index; they begin paused. A rate
// of 0 writes nothing.
func writeLoad(b *testing.B, rate int, index string) *backgroundWrites {
	b.Helper()
	w := &backgroundWrites{b: b, stopped: func() error { return nil }}
	if rate == 0 {
		return w
	}
	ctx, cancel := context.WithCancel(context.Background())
	dsn := recreateDatabase(b, writesDatabase+"_"+strings.ReplaceAll(index, "-", "_"), writesDatabase)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	reg, err := storedevents.NewRegistry()
	if err != nil {
		b.Fatal(err)
	}
	store, err := eventstore.NewStore(pool, eventstore.StoreConfig{Registry: reg, Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{testenv.ElasticsearchURL(b)}})
	if err != nil {
		b.Fatal(err)
	}
	p, err := projections.NewJobSearchProjector(pool, es, projections.JobSearchConfig{Index: index})
	if err != nil {
		b.Fatal(err)
	}
	types := map[string]bool{}
	for _, t := range p.StreamTypes() {
		types[t] = true
	}
	// Every tick applies the events due by then at rate (resumed time × rate − applied), in
	// one batch as the live projector batches what arrived: a slow write (the refresh wait,
	// a busy machine) makes the next batch larger instead of lowering the write load.
	const tick = 100 * time.Millisecond
	done := make(chan error, 1)
	go func() {
		var pos eventstore.Position
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				done <- nil
				return
			case <-t.C:
			}
			if !w.running.Load() {
				continue
			}
			due := int(float64(rate)*w.resumedFor().Seconds()) - int(w.applied.Load())
			if due <= 0 {
				continue
			}
			raw, err := store.ReadAll(ctx, pos, min(due, eventstore.MaxReadLimit), eventstore.ReadFilter{})
			if err != nil || len(raw) == 0 {
				done <- err
				return
			}
			evs := make([]projections.Event, 0, len(raw))
			for _, e := range raw {
				ev, err := projections.DecodeEvent(e)
				if err != nil {
					done <- err
					return
				}
				if types[ev.StreamType] {
					evs = append(evs, ev)
				}
			}
			if err := p.Apply(ctx, evs); err != nil {
				done <- err
				return
			}
			pos = raw[len(raw)-1].Position()
			w.applied.Add(int64(len(raw)))
		}
	}()
	w.stopped = func() error {
		cancel()
		err := <-done
		pool.Close()
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	return w
}

// resume lets the writes run; pause holds them between batches.
func (w *backgroundWrites) resume() {
	w.since.Store(time.Now().UnixNano())
	w.running.Store(true)
}
func (w *backgroundWrites) pause() {
	w.running.Store(false)
	w.active.Add(time.Now().UnixNano() - w.since.Load())
}

// resumedFor is how long the writes have been resumed in all (read while resumed).
func (w *backgroundWrites) resumedFor() time.Duration {
	return time.Duration(w.active.Load() + time.Now().UnixNano() - w.since.Load())
}

// stop ends the writes and returns the events/s applied while they were resumed.
func (w *backgroundWrites) stop() float64 {
	if err := w.stopped(); err != nil {
		w.b.Fatalf("background writes: %v", err)
	}
	if w.active.Load() == 0 {
		return 0
	}
	return float64(w.applied.Load()) / time.Duration(w.active.Load()).Seconds()
}

// BenchmarkWebPagesOpenLoop (issue 14, point 7): the server-rendered search page (the query
// mix of BenchmarkSearchOpenLoop as the home page's parameters) and job pages of random open
// jobs, each at 100 requests/s (JOBBOARD_BENCH_WEB_RATE) for JOBBOARD_BENCH_DURATION, over
// the board, by the api and web roles of one process. Target: p99 ≤ 100 ms.
func BenchmarkWebPagesOpenLoop(b *testing.B) {
	bd := loadBoard(b)
	_, d := benchRates(b)
	rate := 100
	if v := os.Getenv("JOBBOARD_BENCH_WEB_RATE"); v != "" {
		if _, err := fmt.Sscan(v, &rate); err != nil {
			b.Fatalf("JOBBOARD_BENCH_WEB_RATE: %v", err)
		}
	}
	cfg := stackConfig(b)
	cfg.DatabaseURL = bd.dsn
	cfg.ElasticsearchIndexPrefix = boardIndexPrefix
	cfg.Roles = []string{app.RoleAPI, app.RoleWeb}
	base := start(b, cfg).URL()
	for _, p := range []struct {
		name string
		next func(r *rand.Rand) string
	}{
		{"search-page", func(r *rand.Rand) string { return "/?" + strings.SplitN(searchQuery(r), "?", 2)[1] }},
		{"job-page", func(r *rand.Rand) string { return "/jobs/" + bd.jobIDs[r.IntN(len(bd.jobIDs))] }},
	} {
		m := attack(b, base, rate, d, p.next)
		b.Logf("%s at %d/s: p50 %.1f ms, p99 %.1f ms (%d requests, %.1f %% 200, status codes %v)",
			p.name, rate, ms(m.Latencies.P50), ms(m.Latencies.P99), m.Requests, 100*m.Success, m.StatusCodes)
		b.ReportMetric(ms(m.Latencies.P50), fmt.Sprintf("%s-p50-ms@%d/s", p.name, rate))
		b.ReportMetric(ms(m.Latencies.P99), fmt.Sprintf("%s-p99-ms@%d/s", p.name, rate))
		b.ReportMetric(100*m.Success, fmt.Sprintf("%s-ok-%%@%d/s", p.name, rate))
	}
}
