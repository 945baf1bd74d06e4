package history_test

import (
	"context"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/jobboard/jobboard/history"
)

// benchEvents is the size of the seeded history of the benchmarks: JOBBOARD_BENCH_EVENTS,
// default 100,000 (docs/BENCHMARKS.md uses 1,000,000).
func benchEvents(b *testing.B) int {
	b.Helper()
	if v := os.Getenv("JOBBOARD_BENCH_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("JOBBOARD_BENCH_EVENTS=%q: want a positive integer", v)
		}
		return n
	}
	return 100000
}

// BenchmarkExport measures export throughput over a seeded history: each iteration
// exports the whole history (to io.Discard) in commit-safe order.
//
//	JOBBOARD_BENCH_EVENTS=1000000 go test ./history -run '^$' -bench Export -benchtime 3x
func BenchmarkExport(b *testing.B) {
	n := benchEvents(b)
	pool, store := seeded(b, n)
	catalog, _ := history.NewCatalog(pool)
	for _, f := range []history.Format{history.FormatNDJSON, history.FormatCSV} {
		b.Run(string(f), func(b *testing.B) {
			x, err := history.NewExporter(store, history.ExporterConfig{Format: f, Index: catalog})
			if err != nil {
				b.Fatal(err)
			}
			var events, bytes int64
			b.ResetTimer()
			for range b.N {
				w := &countingWriter{}
				res, err := x.Export(context.Background(), w)
				if err != nil {
					b.Fatal(err)
				}
				if res.Events != int64(n) {
					b.Fatalf("exported %d events, want %d", res.Events, n)
				}
				events += res.Events
				bytes += w.n
			}
			b.StopTimer()
			b.SetBytes(bytes / int64(b.N))
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return io.Discard.Write(p)
}
