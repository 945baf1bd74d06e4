package projectionstest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/domain"
)

// Generated is what Generate built.
type Generated struct {
	// Open are the ids of the jobs published and not closed (searchable).
	Open []string
	// Jobs are the ids of every job that was published (a search document exists).
	Jobs []string
}

// Generate adds a board of about n events to h: companies, candidates, jobs posted and
// published (one in ten closed, one in two with an application), with salaries and
// descriptions of varied lengths, listings expiring a year after now. Every other
// job.posted is stored in its old v1 shape ("posted_at", schema version 1), as history
// written before the v2 schema would be.
func Generate(tb testing.TB, h *History, n int, now time.Time) Generated {
	tb.Helper()
	b := Board{H: h, Now: now}
	var g Generated
	var company, candidate string
	for i := 0; len(h.Events) < n; i++ {
		if i%20 == 0 {
			company = b.Company(tb, fmt.Sprintf("Company %d", i/20))
		}
		if i%10 == 0 {
			candidate = b.Candidate(tb, fmt.Sprintf("Candidate %d", i/10))
		}
		in := domain.JobDetailsInput{
			Title:       fmt.Sprintf("%s Engineer %d", []string{"Go", "Rust", "Kafka", "Data", "Platform"}[i%5], i),
			Description: "Build and run the systems of a job board. " + strings.Repeat("We ship small changes often. ", 1+i%7),
			Tags:        []string{[]string{"go", "rust", "kafka", "sql", "k8s"}[i%5], "remote"},
			Location:    domain.LocationInput{Remote: i%3 != 0, Regions: []string{"EMEA"}, Countries: []string{"DE"}},
		}
		if i%4 != 0 {
			in.Salary = &domain.SalaryInput{Min: 6_000_000 + int64(i%50)*10_000, Max: 9_000_000, Currency: "EUR", Period: "year"}
		}
		id := b.PostJob(tb, company, in)
		if i%2 == 0 {
			DowngradeJobPosted(tb, h, len(h.Events)-1)
		}
		b.Publish(tb, id, company, i%17 == 0, now.Add(-time.Hour))
		g.Jobs = append(g.Jobs, id)
		if i%10 == 9 {
			b.Close(tb, id, company)
		} else {
			g.Open = append(g.Open, id)
			if i%2 == 1 {
				b.Apply(tb, id, company, candidate)
			}
		}
	}
	return g
}

// DowngradeJobPosted rewrites the job.posted event at index i of h into its v1 shape.
func DowngradeJobPosted(tb testing.TB, h *History, i int) {
	tb.Helper()
	ev := &h.Events[i]
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(ev.Data, &fields); err != nil {
		tb.Fatal(err)
	}
	fields["posted_at"] = fields["drafted_at"]
	delete(fields, "drafted_at")
	data, err := json.Marshal(fields)
	if err != nil {
		tb.Fatal(err)
	}
	ev.Data, ev.SchemaVersion = data, 1
}

// CopyToStore writes the events of h into the events table with COPY, chunk events per
// transaction, as if appended in that order (the store assigns global positions and
// transaction ids). It is how tests seed long histories fast.
func CopyToStore(ctx context.Context, pool *pgxpool.Pool, h *History, chunk int) error {
	for start := 0; start < len(h.Events); start += chunk {
		evs := h.Events[start:min(start+chunk, len(h.Events))]
		tx, err := pool.Begin(ctx)
		if err != nil {
			return err
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"events"},
			[]string{"stream_id", "stream_type", "stream_version", "event_id", "event_type", "schema_version", "data", "metadata", "recorded_at"},
			pgx.CopyFromSlice(len(evs), func(i int) ([]any, error) {
				e := evs[i]
				meta, err := json.Marshal(e.Metadata)
				if err != nil {
					return nil, err
				}
				return []any{e.StreamID, e.StreamType, e.StreamVersion, e.EventID, e.Type, e.SchemaVersion, string(e.Data), string(meta), e.RecordedAt}, nil
			}))
		if err != nil {
			_ = tx.Rollback(ctx)
			return fmt.Errorf("copy events: %w", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
	}
	return nil
}

// DefaultJob is valid job details input.
func DefaultJob() domain.JobDetailsInput {
	return domain.JobDetailsInput{Title: "Go Engineer", Description: "Build the job board.", EmploymentType: "full_time", Seniority: "senior"}
}
