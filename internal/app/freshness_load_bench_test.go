package app_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/readmodels"
	"github.com/jobboard/jobboard/seed"
	"github.com/jobboard/jobboard/storedevents"
)

// BenchmarkFreshnessUnderWriteLoad (issue 12, point 4): BenchmarkFreshness while a steady
// background of realistic history (JOBBOARD_BENCH_WRITE_RATE events/s, default 500) is
// appended to the same event store, so it goes through the relay, Kafka and both live
// projectors like the probes. Per iteration two jobs are paid through the webhook: the
// first is polled for without a token (answer → searchable, p50 and p99), the second is
// searched once with the webhook's X-Consistency-Token, which must find it on that first
// request (token-found of token-tries).
//
//	go test -run '^$' -bench FreshnessUnderWriteLoad -benchtime 100x -timeout 30m ./internal/app/
func BenchmarkFreshnessUnderWriteLoad(b *testing.B) {
	rate := 500
	if v := os.Getenv("JOBBOARD_BENCH_WRITE_RATE"); v != "" {
		if _, err := fmt.Sscan(v, &rate); err != nil {
			b.Fatalf("JOBBOARD_BENCH_WRITE_RATE: %v", err)
		}
	}
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
	for range 3 { // warm up: topics, consumer groups joining, the index created
		w := word()
		id, _ := postAndPay(c, cfg.StripeWebhookSecret, token, "Freshness probe "+w, "standard")
		c.searchable(w, id, 2*time.Minute)
	}

	stop := appendLoad(b, cfg.DatabaseURL, rate)
	lat := make([]time.Duration, 0, b.N)
	found := 0
	b.ResetTimer()
	for range b.N {
		w := word()
		id, _ := postAndPay(c, cfg.StripeWebhookSecret, token, "Freshness probe "+w, "standard")
		answered := time.Now()
		lat = append(lat, c.searchable(w, id, time.Minute).Sub(answered))

		w = word()
		id, ct := postAndPay(c, cfg.StripeWebhookSecret, token, "Freshness probe "+w, "standard")
		if a := c.read("/v1/jobs?q="+w, "", ct); a.status == http.StatusOK {
			if got := items(a); len(got) == 1 && got[0]["id"] == id {
				found++
			}
		}
	}
	b.StopTimer()
	written := stop()
	reportPercentiles(b, lat)
	b.ReportMetric(float64(found), "token-found")
	b.ReportMetric(float64(b.N), "token-tries")
	b.ReportMetric(written, "writes-events/s")
}

// appendLoad appends realistic history (small seeded histories, one every 100 ms) to the
// event store at dsn at about rate events/s until the returned stop is called; stop
// returns the events/s appended.
func appendLoad(b *testing.B, dsn string, rate int) (stop func() float64) {
	b.Helper()
	if rate == 0 {
		return func() float64 { return 0 }
	}
	ctx, cancel := context.WithCancel(context.Background())
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
	const tick = 100 * time.Millisecond
	per := max(1, rate/int(time.Second/tick))
	began, appended := time.Now(), 0
	done := make(chan error, 1)
	go func() {
		t := time.NewTicker(tick)
		defer t.Stop()
		for i := uint64(1); ; i++ {
			select {
			case <-ctx.Done():
				done <- nil
				return
			case <-t.C:
			}
			s, err := seed.NewSeeder(pool, store, seed.Config{Events: per, Seed: i, End: time.Now().UTC(), Span: 24 * time.Hour,
				ListingDuration: 90 * 24 * time.Hour, Writers: 1, BatchEvents: per, Logger: testLogger()})
			if err == nil {
				_, err = s.Run(ctx)
			}
			if err != nil {
				done <- err
				return
			}
			appended += per
		}
	}()
	return func() float64 {
		cancel()
		err := <-done
		pool.Close()
		if err != nil && ctx.Err() == nil {
			b.Fatalf("background appends: %v", err)
		}
		return float64(appended) / time.Since(began).Seconds()
	}
}
