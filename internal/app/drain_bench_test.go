package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/app"
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
	events := 100_000
	if v := os.Getenv("JOBBOARD_BENCH_EVENTS"); v != "" {
		if _, err := fmt.Sscan(v, &events); err != nil {
			b.Fatalf("JOBBOARD_BENCH_EVENTS: %v", err)
		}
	}
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

	lags := func() map[string]int64 {
		a := c.must(c.do("GET", "/v1/admin/projections", operatorToken, nil), 200)
		var rows []struct {
			Name      string `json:"name"`
			LagEvents int64  `json:"lag_events"`
		}
		if err := json.Unmarshal([]byte(a.raw), &rows); err != nil {
			b.Fatal(err)
		}
		out := map[string]int64{}
		for _, r := range rows {
			out[r.Name] = r.LagEvents
		}
		return out
	}

	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
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
	s, err := seed.NewSeeder(pool, store, seed.Config{Events: events, Seed: 12, Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	began := time.Now()
	if _, err := s.Run(ctx); err != nil {
		b.Fatal(err)
	}
	appended := time.Since(began)
	drained := map[string]time.Duration{}
	for deadline := time.Now().Add(30 * time.Minute); len(drained) < 2; {
		for name, lag := range lags() {
			if _, ok := drained[name]; !ok && lag == 0 {
				drained[name] = time.Since(began)
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("lags after 30 minutes: %v", lags())
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.StopTimer()
	b.Logf("%d events appended in %s; drained: %v", events, appended.Round(time.Millisecond), drained)
	b.ReportMetric(float64(events)/appended.Seconds(), "append-events/s")

	for name, took := range drained {
		live := float64(events) / took.Seconds()
		started := c.must(c.do("POST", "/v1/admin/projections/"+name+"/rebuild", operatorToken, nil), 202)
		var st answer
		for deadline := time.Now().Add(30 * time.Minute); ; {
			st = c.must(c.do("GET", "/v1/admin/projections/"+name+"/rebuilds/"+started.str("rebuild_id"), operatorToken, nil), 200)
			if st.body["finished_at"] != nil {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("rebuild of %s: %s", name, st.raw)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if st.str("state") != "done" {
			b.Fatalf("rebuild of %s: %s", name, st.raw)
		}
		from, _ := time.Parse(time.RFC3339Nano, st.str("started_at"))
		to, _ := time.Parse(time.RFC3339Nano, st.str("finished_at"))
		rebuild := st.body["events_done"].(float64) / to.Sub(from).Seconds()
		b.Logf("%s: live %.0f events/s (lag 0 after %s), rebuild %.0f events/s (%s)", name, live, took.Round(time.Millisecond), rebuild, st.raw)
		b.ReportMetric(live, name+"-live-events/s")
		b.ReportMetric(rebuild, name+"-rebuild-events/s")
		b.ReportMetric(live/rebuild, name+"-live/rebuild")
	}
}
