package alerting_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/jobboard/jobboard/alerting"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/readmodels"
)

// The benchmarks' board: 100,000 stored alerts over a job vocabulary like the seed's, and a
// day of published jobs. docs/BENCHMARKS.md has the figures.
const (
	benchAlerts  = 100_000
	benchDayJobs = 2_000
)

var (
	benchTitles = []string{"Backend Engineer", "Frontend Engineer", "Full-Stack Developer", "Site Reliability Engineer",
		"Data Engineer", "Data Scientist", "Machine Learning Engineer", "iOS Developer", "Android Developer",
		"DevOps Engineer", "Security Engineer", "QA Automation Engineer", "Engineering Manager", "Product Designer", "Product Manager"}
	benchTags = []string{"go", "postgresql", "kafka", "kubernetes", "grpc", "java", "python", "rust", "typescript", "react",
		"graphql", "aws", "terraform", "spark", "sql", "swift", "kotlin", "docker", "linux", "pytorch"}
	benchRegions   = []string{"EMEA", "APAC", "Americas"}
	benchCountries = []string{"DE", "FR", "GB", "NL", "ES", "US", "CA", "IN", "SG", "AU"}
	benchTypes     = []string{"full_time", "part_time", "contract", "internship"}
	benchLevels    = []string{"junior", "mid", "senior", "lead", "principal"}
)

func benchPick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func benchJob(r *rand.Rand) domain.JobDetailsInput {
	tags := []string{}
	for range 1 + r.IntN(4) {
		if t := benchPick(r, benchTags); !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	in := domain.JobDetailsInput{Title: benchPick(r, benchTitles), Tags: tags, EmploymentType: benchPick(r, benchTypes),
		Seniority: benchPick(r, benchLevels),
		Location:  domain.LocationInput{Remote: r.IntN(3) == 0, Regions: []string{benchPick(r, benchRegions)}, Countries: []string{benchPick(r, benchCountries)}}}
	if r.IntN(3) > 0 {
		lo := int64(40+r.IntN(100)) * 1_000_00
		in.Salary = &domain.SalaryInput{Min: lo, Max: lo + 20_000_00, Currency: benchPick(r, []string{"EUR", "USD", "GBP"}), Period: "year"}
	}
	return in
}

func benchCriteria(r *rand.Rand) readmodels.AlertCriteria {
	var c readmodels.AlertCriteria
	if r.IntN(2) == 0 {
		words := strings.Fields(benchPick(r, benchTitles))
		c.Q = strings.ToLower(words[r.IntN(len(words))])
	}
	for range r.IntN(3) {
		if t := benchPick(r, benchTags); !slices.Contains(c.Tags, t) {
			c.Tags = append(c.Tags, t)
		}
	}
	if r.IntN(10) < 3 {
		b := true
		c.Remote = &b
	}
	if r.IntN(5) == 0 {
		c.Country = benchPick(r, benchCountries)
	}
	if r.IntN(5) == 0 {
		c.Seniority = benchPick(r, benchLevels)
	}
	if r.IntN(7) == 0 {
		c.EmploymentType = benchPick(r, benchTypes)
	}
	if r.IntN(10) == 0 {
		c.SalaryMin = int64(50+r.IntN(80)) * 1_000_00
	}
	return c
}

// storeAlerts writes n alerts of frequency straight into the alerts projection's table (as
// the projector leaves them): the benchmarks measure matching, not projecting.
func storeAlerts(b *testing.B, bd *board, r *rand.Rand, n int, frequency string, createdAt time.Time) {
	b.Helper()
	rows := make([][]any, n)
	for i := range rows {
		criteria, _ := json.Marshal(benchCriteria(r))
		rows[i] = []any{uuid.NewString(), uuid.NewString(), criteria, frequency, true, createdAt, int64(1)}
	}
	if _, err := bd.pool.CopyFrom(context.Background(), pgx.Identifier{readmodels.DefaultAlertsSchema, "alerts"},
		[]string{"id", "candidate_id", "criteria", "frequency", "active", "created_at", "version"}, pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	if _, err := bd.pool.Exec(context.Background(), `ANALYZE `+readmodels.DefaultAlertsSchema+`.alerts`); err != nil {
		b.Fatal(err)
	}
}

// publishDay posts and publishes n jobs over the day before end and projects them.
func publishDay(b *testing.B, bd *board, r *rand.Rand, n int, end time.Time) {
	b.Helper()
	acme := bd.b.Company(b, "Acme Robotics")
	for i := range n {
		id := bd.b.PostJob(b, acme, benchJob(r))
		bd.b.Publish(b, id, acme, i%10 == 0, end.Add(-24*time.Hour+time.Duration(i)*(24*time.Hour/time.Duration(n))))
		if i%500 == 499 {
			bd.project()
		}
	}
	bd.project()
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkInstantAlerts: with 100,000 stored instant alerts, the time from a job's
// publication (its events handed to the job search projector) to its instant-alert e-mails
// in the outbox: indexing, the wait for it, loading the alerts, matching, enqueueing. One
// publication per iteration (-benchtime 20x); p50 and p99 are reported.
func BenchmarkInstantAlerts(b *testing.B) {
	r := rand.New(rand.NewPCG(13, 4))
	now := time.Now().UTC()
	bd := newBoard(b, now.Add(-48*time.Hour))
	storeAlerts(b, bd, r, benchAlerts, "instant", now.Add(-24*time.Hour))
	publishDay(b, bd, r, 200, now) // a search index that is not empty
	m, err := alerting.NewMatcher(bd.pool, bd.store, config(time.Now))
	if err != nil {
		b.Fatal(err)
	}
	acme := bd.b.Company(b, "Globex")
	bd.project()
	var lat []time.Duration
	emails := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		id := bd.b.PostJob(b, acme, benchJob(r))
		bd.project()
		bd.b.Publish(b, id, acme, false, time.Now().UTC())
		b.StartTimer()
		start := time.Now()
		evs := bd.project()
		n, err := m.Match(context.Background(), evs)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		emails += n
	}
	b.StopTimer()
	b.ReportMetric(float64(percentile(lat, 0.5).Milliseconds()), "p50_ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Milliseconds()), "p99_ms")
	b.ReportMetric(float64(emails)/float64(b.N), "emails/publication")
}

// BenchmarkDailyDigest: one daily digest run over 100,000 stored daily alerts and a day of
// 2,000 published jobs (-benchtime 1x): loading the alerts, matching every alert's search
// over the day, enqueueing one e-mail per alert that matched.
func BenchmarkDailyDigest(b *testing.B) {
	r := rand.New(rand.NewPCG(13, 5))
	now := time.Now().UTC()
	end := alerting.PeriodEnd(domain.AlertFrequencyDaily, now)
	bd := newBoard(b, end.Add(-72*time.Hour))
	storeAlerts(b, bd, r, benchAlerts, "daily", end.Add(-48*time.Hour))
	publishDay(b, bd, r, benchDayJobs, end)
	var res alerting.RunResult
	b.ResetTimer()
	for i := range b.N {
		// Each run digests another day: a finished day is never run again.
		d, err := alerting.NewDigests(bd.pool, bd.store, config(func() time.Time { return now }))
		if err != nil {
			b.Fatal(err)
		}
		if i > 0 {
			b.StopTimer()
			if _, err := bd.pool.Exec(context.Background(), `DELETE FROM alert_digest_runs`); err != nil {
				b.Fatal(err)
			}
			if _, err := bd.pool.Exec(context.Background(), `DELETE FROM notifier_outbox`); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if res, err = d.RunDue(context.Background(), domain.AlertFrequencyDaily); err != nil || !res.Ran {
			b.Fatalf("run %+v: %v", res, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
	b.ReportMetric(float64(res.Emails), "emails")
	b.ReportMetric(float64(res.Alerts), "alerts")
}
