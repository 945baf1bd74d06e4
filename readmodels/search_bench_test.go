package readmodels

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/internal/testenv"
)

// BenchmarkSearch measures one Store.Search at a time over a kept index of generated jobs
// (JOBBOARD_BENCH_SEARCH_JOBS, default 30,000; 90 % published and open, the rest closed or
// expired), with a realistic query mix: title words, some mistyped, tag, remote and
// seniority filters, the three orders, 20 a page with facets and total; each run starts
// with Elasticsearch's caches of the index cleared. Two mixes: distinct requests, and
// popular ones that repeat; each also beside a write and a refresh every 100 ms. It is the
// micro-benchmark behind each change of the search request (docs/BENCHMARKS.md):
//
//	go test -run '^$' -bench '^BenchmarkSearch$/' -benchtime 3000x -count 3 ./readmodels/
//
// The index is named after the mapping and the number of jobs and kept between runs, so
// runs before and after a change of the request compare on the same documents; a change of
// the mapping builds a new one (about 30 s). JOBBOARD_BENCH_FRESH=1 rebuilds it.
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	jobs := 30_000
	if v := os.Getenv("JOBBOARD_BENCH_SEARCH_JOBS"); v != "" {
		if _, err := fmt.Sscan(v, &jobs); err != nil {
			b.Fatalf("JOBBOARD_BENCH_SEARCH_JOBS: %v", err)
		}
	}
	// The service's transport (internal/app's esTransport): kept-alive connections, no gzip,
	// so the client's CPU per search is the service's.
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost, t.DisableCompression = 256, true
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{testenv.ElasticsearchURL(b)}, Transport: t})
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256([]byte(searchIndexBody))
	index := fmt.Sprintf("bench-search-%x-%d", sum[:6], jobs)
	if err := benchSearchIndex(ctx, es, index, jobs, os.Getenv("JOBBOARD_BENCH_FRESH") == "1"); err != nil {
		b.Fatal(err)
	}
	// The pool is never used by Search; it is lazy and only satisfies NewStore.
	pool, err := pgxpool.New(ctx, testenv.PostgresURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	s, err := NewStore(pool, es, StoreConfig{SearchAlias: index})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	params := make([]SearchParams, 4096)
	for i := range params {
		params[i] = benchQuery(r)
	}
	// distinct: almost every request differs (4,096 drawn from the mix); popular: the
	// requests are drawn from 64 of them, as a board's front page and its popular searches
	// repeat.
	for _, mix := range []struct {
		name   string
		of     int
		writes bool
	}{{"distinct", len(params), false}, {"popular", 64, false}, {"distinct+writes", len(params), true}, {"popular+writes", 64, true}} {
		b.Run(mix.name, func(b *testing.B) {
			if mix.writes {
				defer benchWrites(b, es, index, jobs)()
			}
			// Each run starts with empty caches: a run must not profit from the answers of
			// the last.
			res, err := es.Indices.ClearCache(es.Indices.ClearCache.WithIndex(index), es.Indices.ClearCache.WithContext(ctx))
			if err != nil {
				b.Fatal(err)
			}
			if err := esError(res, "clear the caches of "+index); err != nil {
				b.Fatal(err)
			}
			pick := rand.New(rand.NewPCG(3, 4))
			for range 200 { // warm up: connections, global ordinals, the file cache
				if _, err := s.Search(ctx, params[len(params)-1-pick.IntN(len(params)/2)]); err != nil {
					b.Fatal(err)
				}
			}
			lat := make([]time.Duration, 0, b.N)
			es0, cpu0 := esCPU(b), processCPU(b)
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				if _, err := s.Search(ctx, params[pick.IntN(mix.of)]); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			// CPU times per search move less with a busy neighbour than a latency does:
			// Elasticsearch's (the writes' share is in it too) and this process's (the
			// client side of Store.Search: encoding the request, decoding the answer).
			b.ReportMetric((processCPU(b)-cpu0)/float64(b.N), "cpu-ms/op")
			b.ReportMetric((esCPU(b)-es0)/float64(b.N), "es-cpu-ms/op")
			// The median resists a noisy neighbour better than the mean ns/op.
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// esCPU is Elasticsearch's CPU time so far, in milliseconds, as of now: its node stats keep
// the process's CPU time for a second (monitor.process.refresh_interval), so a reading
// right after a run would miss up to a second of it, about 2 ms a search in a run of 500.
func esCPU(b *testing.B) float64 {
	time.Sleep(1100 * time.Millisecond)
	return testenv.ElasticsearchCPU(b, testenv.ElasticsearchURL(b))
}

// processCPU is the CPU time this process has used so far, in milliseconds.
func processCPU(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
}

// benchWrites rewrites one generated job and refreshes the index every 100 ms, as live
// projectors make writes visible, until the returned stop is called: each refresh that
// changed the index drops the request cache and the global ordinals of the facets.
func benchWrites(b *testing.B, es *elasticsearch.Client, index string, jobs int) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			// The first generated job again (the generator is deterministic): the index
			// changes (a new version of the document), the board every run measures
			// does not, but for that job's dates.
			d := benchJob(rand.New(rand.NewPCG(7, uint64(jobs))), 0, time.Now().UTC())
			doc, _ := json.Marshal(d)
			res, err := es.Index(index, bytes.NewReader(doc), es.Index.WithDocumentID(d.ID), es.Index.WithRefresh("true"), es.Index.WithContext(ctx))
			if err != nil {
				return
			}
			_ = esError(res, "rewrite a job")
		}
	}()
	return func() { cancel(); <-done }
}

// Words of generated titles and tags, and the query mix drawn from them.
var (
	benchWords = []string{"backend", "frontend", "engineer", "developer", "data", "scientist", "machine", "learning",
		"reliability", "devops", "security", "product", "designer", "manager", "android", "ios", "analyst",
		"writer", "architect", "recruiter", "support", "database", "senior", "platform", "kubernetes", "python"}
	benchTags        = []string{"go", "python", "kubernetes", "typescript", "react", "aws", "sql", "kafka", "postgresql", "figma", "rust", "saas"}
	benchSeniorities = []string{"junior", "mid", "senior", "lead", "principal"}
	benchTypes       = []string{"full_time", "part_time", "contract"}
	benchRegions     = []string{"EMEA", "Americas", "APAC"}
)

func benchQuery(r *rand.Rand) SearchParams {
	p := SearchParams{Limit: 20}
	if r.IntN(5) > 0 {
		p.Q = benchWords[r.IntN(len(benchWords))]
		if r.IntN(2) == 0 {
			p.Q += " " + benchWords[r.IntN(len(benchWords))]
		}
		if r.IntN(10) < 3 && len(p.Q) > 5 { // a typo after the first letter
			i := 1 + r.IntN(len(p.Q)-2)
			p.Q = p.Q[:i] + p.Q[i+1:]
		}
	}
	if r.IntN(10) < 3 {
		p.Tags = []string{benchTags[r.IntN(len(benchTags))]}
	}
	if r.IntN(10) < 3 {
		remote := r.IntN(3) > 0
		p.Remote = &remote
	}
	if r.IntN(10) < 2 {
		p.Seniority = benchSeniorities[r.IntN(len(benchSeniorities))]
	}
	switch n := r.IntN(10); {
	case n < 3:
		p.Sort = SortNewest
	case n < 5:
		p.Sort = SortSalary
	}
	return p
}

// benchSearchIndex creates index with n generated jobs unless it already holds them.
func benchSearchIndex(ctx context.Context, es *elasticsearch.Client, index string, n int, fresh bool) error {
	if ok, err := IndexExists(ctx, es, index); err != nil {
		return err
	} else if ok && !fresh {
		res, err := es.Count(es.Count.WithIndex(index), es.Count.WithContext(ctx))
		if err != nil {
			return err
		}
		var c struct {
			Count int `json:"count"`
		}
		err = json.NewDecoder(res.Body).Decode(&c)
		res.Body.Close()
		if err == nil && c.Count == n {
			return nil
		}
	}
	if err := DeleteIndex(ctx, es, index); err != nil {
		return err
	}
	if err := CreateSearchIndexForBulk(ctx, es, index, IndexSettings{}); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(7, uint64(n)))
	now := time.Now().UTC()
	var buf bytes.Buffer
	flush := func() error {
		if buf.Len() == 0 {
			return nil
		}
		res, err := es.Bulk(bytes.NewReader(buf.Bytes()), es.Bulk.WithIndex(index), es.Bulk.WithContext(ctx))
		if err != nil {
			return err
		}
		buf.Reset()
		return esError(res, "bulk into "+index)
	}
	for i := range n {
		d := benchJob(r, i, now)
		meta, _ := json.Marshal(obj{"index": obj{"_id": d.ID}})
		doc, _ := json.Marshal(d)
		buf.Write(meta)
		buf.WriteByte('\n')
		buf.Write(doc)
		buf.WriteByte('\n')
		if (i+1)%5000 == 0 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return FinishBulkLoad(ctx, es, index)
}

func benchJob(r *rand.Rand, i int, now time.Time) JobDocument {
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	title := pick(benchSeniorities) + " " + pick(benchWords) + " " + pick(benchWords)
	var desc strings.Builder
	for range 40 + r.IntN(80) {
		desc.WriteString(pick(benchWords) + " ")
	}
	tags := []string{pick(benchTags), pick(benchTags), pick(benchTags)}
	published := now.Add(-time.Duration(r.IntN(60*24)) * time.Hour)
	expires := published.Add(90 * 24 * time.Hour)
	status := StatusPublished
	switch n := r.IntN(20); {
	case n == 0:
		status = StatusClosed
	case n == 1:
		expires = now.Add(-time.Hour)
	}
	sal := &Salary{Min: int64(3+r.IntN(10)) * 1_000_000, Currency: pick([]string{"EUR", "USD", "GBP"}), Period: "year"}
	sal.Max = sal.Min + 2_000_000
	y := sal.Yearly()
	company := fmt.Sprintf("c%04d", r.IntN(5000))
	return JobDocument{
		ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Title: title, Description: desc.String(),
		DescriptionLength: desc.Len(), Company: CompanyRef{ID: company, Name: "Company " + company},
		Location: Location{Remote: r.IntN(2) == 0, Regions: []string{pick(benchRegions)}, Countries: []string{pick([]string{"DE", "US", "FR", "GB", "IN"})}},
		Salary:   sal, SalaryYearly: &y, Tags: tags, EmploymentType: pick(benchTypes), Seniority: pick(benchSeniorities),
		Featured: r.IntN(5) == 0, Status: status, PostedAt: published.Add(-time.Hour), PublishedAt: &published, ExpiresAt: &expires,
	}
}
