package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/seed"
	"github.com/jobboard/jobboard/storedevents"
)

// BenchmarkBurstDrain (issue 12, point 4): with every role serving, a burst of
// JOBBOARD_BENCH_EVENTS (default 100,000) events of realistic history is appended to the
// event store at once (the seeder, in bulk); the time from the start of the append until
// GET /v1/admin/projections reports lag 0 for each projector gives its live rate. Then each
// projector is rebuilt over the same events through the admin API, in the same run, for
// the rebuild rate beside it (target: live ≥ 0.5 × rebuild).
//
//	go test -run '^$' -bench BurstDrain -benchtime 1x -timeout 60m ./internal/app/
func BenchmarkBurstDrain(b *testing.B) {
	events := burstEvents(b)
	ctx := context.Background()
	cfg := stackConfig(b)
	cfg.Roles = app.AllRoles
	b.Cleanup(func() {
		if es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{cfg.ElasticsearchURL}}); err == nil {
			_ = deleteIndices(context.Background(), es, cfg.ElasticsearchIndexPrefix+"*")
		}
	})
	m := start(b, cfg)
	c := client{t: b, base: m.URL()}
	company := c.must(c.do("POST", "/v1/companies", "", map[string]any{"name": "Drain Co", "email": uuid.NewString() + "@drain.test"}), 201)
	awaitProjectors(c, cfg, company.str("id"), company.str("consistency_token"))

	_, s := burstSeeder(b, cfg, events)
	b.ResetTimer()
	began := time.Now()
	if _, err := s.Run(ctx); err != nil {
		b.Fatal(err)
	}
	appended := time.Since(began)
	drained := map[string]time.Duration{}
	for deadline := time.Now().Add(30 * time.Minute); len(drained) < len(projections.Names()); {
		for name, lag := range projectionLags(c) {
			if _, ok := drained[name]; !ok && lag == 0 {
				drained[name] = time.Since(began)
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("lags after 30 minutes: %v", projectionLags(c))
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.StopTimer()
	b.Logf("%d events appended in %s; drained: %v", events, appended.Round(time.Millisecond), drained)
	b.ReportMetric(float64(events)/appended.Seconds(), "append-events/s")

	compareWithRebuilds(b, c, events, drained)
}

// BenchmarkBacklogDrain measures what BenchmarkBurstDrain cannot on a machine where the
// append itself is slower than the projectors: the drain of a backlog that exists before the
// projectors consume it (an outage, a deployment, a burst larger than the machine appends
// in the time). `serve` runs the API and the relay; JOBBOARD_BENCH_EVENTS events are
// appended and relayed to Kafka; then a second process (here: a second Main) starts the
// projectors role, and each projector's live rate is the backlog divided by the time from
// that start until GET /v1/admin/projections reports its lag 0 (the consumer group's join
// included). Each projector is then rebuilt over the same events, as in BenchmarkBurstDrain.
// JOBBOARD_BENCH_CPUPROFILE=<file> profiles the process during the drain only.
//
//	go test -run '^$' -bench BacklogDrain -benchtime 1x -timeout 60m ./internal/app/
func BenchmarkBacklogDrain(b *testing.B) {
	events := burstEvents(b)
	ctx := context.Background()
	cfg := stackConfig(b)
	cfg.Roles = []string{app.RoleAPI, app.RoleRelay}
	b.Cleanup(func() {
		if es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{cfg.ElasticsearchURL}}); err == nil {
			_ = deleteIndices(context.Background(), es, cfg.ElasticsearchIndexPrefix+"*")
		}
	})
	m := start(b, cfg)
	c := client{t: b, base: m.URL()}

	pool, s := burstSeeder(b, cfg, events)
	began := time.Now()
	if _, err := s.Run(ctx); err != nil {
		b.Fatal(err)
	}
	appended := time.Since(began)
	for deadline := time.Now().Add(3 * time.Minute); ; {
		var behind bool
		// The relay publishes in commit order, (transaction_id, global_position).
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events e WHERE (e.transaction_id, e.global_position) >
			coalesce((SELECT (c.transaction_id, c.global_position) FROM checkpoints c WHERE c.name = 'relay'), ('0'::xid8, 0::bigint)))`).Scan(&behind); err != nil {
			b.Fatal(err)
		}
		if !behind {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the relay did not publish the backlog in 3 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	relayed := time.Since(began)

	pcfg := cfg
	pcfg.Roles = []string{app.RoleProjectors}
	b.ResetTimer()
	stopProfile := profileDrain(b)
	began = time.Now()
	start(b, pcfg)
	drained := map[string]time.Duration{}
	for deadline := time.Now().Add(30 * time.Minute); len(drained) < len(projections.Names()); {
		for name, lag := range projectionLags(c) {
			if _, ok := drained[name]; !ok && lag == 0 {
				drained[name] = time.Since(began)
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("lags after 30 minutes: %v", projectionLags(c))
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.StopTimer()
	stopProfile()
	b.Logf("%d events appended in %s, relayed after %s; drained after the projectors' start: %v", events,
		appended.Round(time.Millisecond), relayed.Round(time.Millisecond), drained)
	compareWithRebuilds(b, c, events, drained)
}

// compareWithRebuilds reports each projector's live rate (events over the time it took to
// drain them) beside the rate of a rebuild of the same events, each rebuild alone; then, as
// the live projectors drained at once, sharing the cores, beside rebuilds of all of them at
// once: like with like, the live path's cost per event against the rebuild's under the same
// contention.
func compareWithRebuilds(b *testing.B, c client, events int, drained map[string]time.Duration) {
	for name, took := range drained {
		live := float64(events) / took.Seconds()
		rebuild := rebuildRate(c, name)
		b.Logf("%s: live %.0f events/s (lag 0 after %s), rebuild %.0f events/s", name, live, took.Round(time.Millisecond), rebuild)
		b.ReportMetric(live, name+"-live-events/s")
		b.ReportMetric(rebuild, name+"-rebuild-events/s")
		b.ReportMetric(live/rebuild, name+"-live/rebuild")
	}
	ids := map[string]string{}
	for name := range drained {
		ids[name] = c.must(c.do("POST", "/v1/admin/projections/"+name+"/rebuild", operatorToken, nil), 202).str("rebuild_id")
	}
	for name, took := range drained {
		live, together := float64(events)/took.Seconds(), awaitRebuild(c, name, ids[name])
		b.Logf("%s: live %.0f events/s, rebuild beside the others %.0f events/s", name, live, together)
		b.ReportMetric(together, name+"-rebuild-together-events/s")
		b.ReportMetric(live/together, name+"-live/rebuild-together")
	}
}

// profileDrain writes a CPU profile of the drain alone (not the append, the relay or the
// rebuilds, which -cpuprofile would include) to JOBBOARD_BENCH_CPUPROFILE, if set; the
// returned func stops it.
func profileDrain(b *testing.B) (stop func()) {
	path := os.Getenv("JOBBOARD_BENCH_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}

// projectionLags is each projection's lag_events from GET /v1/admin/projections.
func projectionLags(c client) map[string]int64 {
	a := c.must(c.do("GET", "/v1/admin/projections", operatorToken, nil), 200)
	var rows []struct {
		Name      string `json:"name"`
		LagEvents int64  `json:"lag_events"`
	}
	if err := json.Unmarshal([]byte(a.raw), &rows); err != nil {
		c.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Name] = r.LagEvents
	}
	return out
}

// rebuildRate rebuilds projection name through the admin API and returns its events/s
// (events_done over started_at → finished_at, the promotion included).
func rebuildRate(c client, name string) float64 {
	return awaitRebuild(c, name, c.must(c.do("POST", "/v1/admin/projections/"+name+"/rebuild", operatorToken, nil), 202).str("rebuild_id"))
}

// awaitRebuild waits for the rebuild id of projection name and returns its events/s.
func awaitRebuild(c client, name, id string) float64 {
	var st answer
	for deadline := time.Now().Add(30 * time.Minute); ; {
		st = c.must(c.do("GET", "/v1/admin/projections/"+name+"/rebuilds/"+id, operatorToken, nil), 200)
		if st.body["finished_at"] != nil {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("rebuild of %s: %s", name, st.raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st.str("state") != "done" {
		c.t.Fatalf("rebuild of %s: %s", name, st.raw)
	}
	from, _ := time.Parse(time.RFC3339Nano, st.str("started_at"))
	to, _ := time.Parse(time.RFC3339Nano, st.str("finished_at"))
	return st.body["events_done"].(float64) / to.Sub(from).Seconds()
}

// burstEvents is JOBBOARD_BENCH_EVENTS, by default 100,000.
func burstEvents(b *testing.B) int {
	events := 100_000
	if v := os.Getenv("JOBBOARD_BENCH_EVENTS"); v != "" {
		if _, err := fmt.Sscan(v, &events); err != nil {
			b.Fatalf("JOBBOARD_BENCH_EVENTS: %v", err)
		}
	}
	return events
}

// burstSeeder returns a pool of cfg's database and the seeder of events events of
// realistic history appended in bulk, as `jobboard seed` does.
func burstSeeder(b *testing.B, cfg app.Config, events int) (*pgxpool.Pool, *seed.Seeder) {
	pool, err := pgxpool.New(context.Background(), cfg.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	reg, err := storedevents.NewRegistry()
	if err != nil {
		b.Fatal(err)
	}
	store, err := eventstore.NewStore(pool, eventstore.StoreConfig{Registry: reg, Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	s, err := seed.NewSeeder(pool, store, seed.Config{Events: events, Seed: 12, Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	return pool, s
}
