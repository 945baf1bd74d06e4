package seed

import (
	"context"
	"os"
	"strconv"
	"testing"
)

// BenchmarkSeed measures seeding throughput: each iteration writes JOBBOARD_BENCH_EVENTS
// (default 100,000) events into a fresh database.
//
//	JOBBOARD_BENCH_EVENTS=1000000 go test ./seed -run '^$' -bench Seed -benchtime 1x
func BenchmarkSeed(b *testing.B) {
	n := 100000
	if v := os.Getenv("JOBBOARD_BENCH_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("JOBBOARD_BENCH_EVENTS=%q: want a positive integer", v)
		}
	}
	var events int64
	for i := range b.N {
		b.StopTimer()
		pool, store := newStore(b)
		cfg := Config{Events: n, Seed: uint64(i) + 1, End: testEnd}
		s, err := NewSeeder(pool, store, cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := s.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		events += res.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
