package seed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/repository"
	"github.com/jobboard/jobboard/storedevents"
)

var testEnd = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func testConfig(events int, seed uint64) Config {
	cfg := Config{Events: events, Seed: seed, End: testEnd, BatchEvents: 400, Writers: 4}
	cfg.setDefaults()
	return cfg
}

// generated runs the generator without a database and returns the streams in order.
func generated(t *testing.T, cfg Config) ([]segment, *generator) {
	t.Helper()
	g := newGenerator(cfg)
	var segs []segment
	collect := func(b batch) error { segs = append(segs, b.segments...); return nil }
	if err := g.candidatesPhase(collect); err != nil {
		t.Fatal(err)
	}
	if err := g.companiesPhase(collect); err != nil {
		t.Fatal(err)
	}
	return segs, g
}

// load folds a stream's history through the domain, as the command handlers do.
func load(streamType, id string, history []domain.Event) error {
	var err error
	switch streamType {
	case domain.StreamTypeCompany:
		_, err = domain.LoadCompany(id, history)
	case domain.StreamTypeCandidate:
		_, err = domain.LoadCandidate(id, history)
	case domain.StreamTypeJob:
		_, err = domain.LoadJob(id, history)
	case domain.StreamTypeApplication:
		_, err = domain.LoadApplication(id, history)
	default:
		err = fmt.Errorf("unknown stream type %q", streamType)
	}
	return err
}

func TestGeneratedHistory(t *testing.T) {
	t.Parallel()
	const n = 30000
	cfg := testConfig(n, 7)
	segs, g := generated(t, cfg)

	t.Run("has exactly the events asked for", func(t *testing.T) {
		total := 0
		for _, s := range segs {
			total += len(s.events)
		}
		if total != n {
			t.Fatalf("events = %d, want %d", total, n)
		}
	})

	t.Run("every stream loads through the domain and refers to earlier streams", func(t *testing.T) {
		seen := map[string]bool{}
		for _, s := range segs {
			if seen[s.streamID] {
				t.Fatalf("stream %s appears twice", s.streamID)
			}
			history := make([]domain.Event, len(s.events))
			for i, ed := range s.events {
				e, err := storedevents.Decode(eventstore.Event{EventID: ed.EventID, Type: ed.Type, SchemaVersion: ed.SchemaVersion, Data: ed.Data})
				if err != nil {
					t.Fatalf("stream %s event %d: %v", s.streamID, i+1, err)
				}
				history[i] = e
				if ed.Metadata.CorrelationID == "" || ed.Metadata.Actor == "" || ed.Metadata.Command == "" {
					t.Fatalf("stream %s event %d: incomplete metadata %+v", s.streamID, i+1, ed.Metadata)
				}
			}
			if err := load(s.streamType, s.streamID, history); err != nil {
				t.Fatalf("load %s %s: %v", s.streamType, s.streamID, err)
			}
			switch e := history[0].(type) {
			case *domain.JobPosted:
				if !seen[e.CompanyID] {
					t.Fatalf("job %s of company %s comes before its company", s.streamID, e.CompanyID)
				}
			case *domain.ApplicationSubmitted:
				if !seen[e.JobID] || !seen[e.CandidateID] {
					t.Fatalf("application %s comes before its job or candidate", s.streamID)
				}
			}
			for _, e := range history {
				if at := eventTime(e); !at.Before(testEnd) || at.Before(testEnd.Add(-cfg.Span)) {
					t.Fatalf("stream %s: %s at %s is outside the timeline", s.streamID, e.EventType(), at)
				}
			}
			seen[s.streamID] = true
		}
	})

	t.Run("counts per type follow the mix", func(t *testing.T) {
		c := g.counts
		mix := DefaultMix()
		for _, typ := range domain.EventTypes() {
			if st, _ := domain.StreamTypeOf(typ); st == domain.StreamTypeAlert || st == domain.StreamTypeSignInLink ||
				typ == domain.EventCandidateEmailPrefsSet || typ == domain.EventCompanyEmailPrefsSet {
				continue // the seed writes the marketplace's history, not alerts, sign-in links or e-mail preferences
			}
			if c[typ] == 0 {
				t.Errorf("no %s event", typ)
			}
		}
		if want := int(float64(n) * mix.CandidateShare); c[domain.EventCandidateRegistered] != want {
			t.Errorf("candidates = %d, want %d", c[domain.EventCandidateRegistered], want)
		}
		featured := 0
		for _, s := range segs {
			for _, ed := range s.events {
				if ed.Type == domain.EventListingPaymentRequested && contains(ed.Data, `"plan":"featured"`) {
					featured++
				}
			}
		}
		within(t, "featured share of payments", float64(featured)/float64(c[domain.EventListingPaymentRequested]), mix.FeaturedShare, 0.05)
		within(t, "failed share of payments", float64(c[domain.EventListingPaymentFailed])/float64(c[domain.EventListingPaymentRequested]), mix.PaymentFailureShare, 0.03)
		within(t, "withdrawn share of applications", float64(c[domain.EventApplicationWithdrawn])/float64(c[domain.EventApplicationSubmitted]), mix.WithdrawalShare*0.8, 0.04)
		closed, expired := float64(c[domain.EventJobClosed]), float64(c[domain.EventJobExpired])
		if closed < 0.15*(closed+expired) || closed > 0.6*(closed+expired) {
			t.Errorf("closed %v vs expired %v: far from close share %v", closed, expired, mix.CloseShare)
		}
		perJob := float64(c[domain.EventApplicationSubmitted]) / float64(c[domain.EventJobPublished])
		if perJob < mix.ApplicationsPerJob/3 || perJob > mix.ApplicationsPerJob*2 {
			t.Errorf("applications per publication = %.1f, configured mean %v", perJob, mix.ApplicationsPerJob)
		}
		t.Logf("counts: %v", c)
	})

	t.Run("is deterministic for a seed", func(t *testing.T) {
		again, _ := generated(t, cfg)
		if a, b := digest(segs), digest(again); a != b {
			t.Fatalf("same seed, different histories: %s != %s", a, b)
		}
		other, _ := generated(t, testConfig(n, 8))
		if digest(segs) == digest(other) {
			t.Fatal("different seeds, same history")
		}
	})
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

func indexOf(s, sub string) int { return strings.Index(s, sub) }

func within(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if got < want-tol || got > want+tol {
		t.Errorf("%s = %.3f, want %.3f ± %.3f", what, got, want, tol)
	}
}

func digest(segs []segment) string {
	h := sha256.New()
	for _, s := range segs {
		fmt.Fprintf(h, "%s %s\n", s.streamID, s.streamType)
		for _, e := range s.events {
			fmt.Fprintf(h, "%s %s %d %s %+v\n", e.EventID, e.Type, e.SchemaVersion, e.Data, e.Metadata)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func eventTime(e domain.Event) time.Time {
	switch e := e.(type) {
	case *domain.CompanyRegistered:
		return e.RegisteredAt
	case *domain.CandidateRegistered:
		return e.RegisteredAt
	case *domain.JobPosted:
		return e.PostedAt
	case *domain.JobDetailsChanged:
		return e.ChangedAt
	case *domain.ListingPaymentRequested:
		return e.RequestedAt
	case *domain.ListingPaid:
		return e.PaidAt
	case *domain.ListingPaymentFailed:
		return e.FailedAt
	case *domain.ListingPaymentCanceled:
		return e.CanceledAt
	case *domain.ListingPaymentRefunded:
		return e.RefundedAt
	case *domain.JobPublished:
		return e.PublishedAt
	case *domain.JobClosed:
		return e.ClosedAt
	case *domain.JobExpired:
		return e.ExpiredAt
	case *domain.ApplicationSubmitted:
		return e.SubmittedAt
	case *domain.ApplicationStatusChanged:
		return e.ChangedAt
	case *domain.ApplicationWithdrawn:
		return e.WithdrawnAt
	case *domain.CompanyTokenRotated:
		return e.RotatedAt
	case *domain.CandidateTokenRotated:
		return e.RotatedAt
	}
	return time.Time{}
}

// newStore opens a fresh migrated database.
func newStore(t testing.TB) (*pgxpool.Pool, *eventstore.Store) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	reg, err := storedevents.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.NewStore(pool, eventstore.StoreConfig{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	return pool, store
}

// dump is a digest of every stream's stored events, in stream order (not commit order,
// which depends on how the writers interleave).
func dump(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT stream_id, stream_version, event_id::text, event_type,
		schema_version, data::text, metadata::text FROM events ORDER BY stream_id, stream_version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	h := sha256.New()
	for rows.Next() {
		var id, eid, typ, data, meta string
		var version int64
		var sv int32
		if err := rows.Scan(&id, &version, &eid, &typ, &sv, &data, &meta); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(h, id, version, eid, typ, sv, data, meta)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestSeederWritesValidHistories(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const n = 6000
	pool, store := newStore(t)
	var calls int
	var last Progress
	cfg := testConfig(n, 42)
	cfg.Progress = func(p Progress) { calls++; last = p }
	s, err := NewSeeder(pool, store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != n || !last.Final || last.Done != n || calls < 2 {
		t.Fatalf("result %+v, last progress %+v after %d calls", res, last, calls)
	}

	t.Run("every stream loads through the domain", func(t *testing.T) {
		var ids []struct{ id, typ string }
		rows, err := pool.Query(ctx, `SELECT DISTINCT stream_id, stream_type FROM events`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var r struct{ id, typ string }
			if err := rows.Scan(&r.id, &r.typ); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r)
		}
		rows.Close()
		if int64(len(ids)) != res.Streams {
			t.Fatalf("%d streams stored, result says %d", len(ids), res.Streams)
		}
		repo, err := repository.NewStore(pool, store)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range ids {
			st, err := repo.Load(ctx, r.id)
			if err != nil {
				t.Fatal(err)
			}
			if err := load(r.typ, r.id, st.Events); err != nil {
				t.Fatalf("load %s %s: %v", r.typ, r.id, err)
			}
		}
	})

	t.Run("writes the side rows of the command path", func(t *testing.T) {
		var claims, accounts, scheduled int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM unique_claims`).Scan(&claims); err != nil {
			t.Fatal(err)
		}
		accounts = res.Counts[domain.EventCompanyRegistered] + res.Counts[domain.EventCandidateRegistered]
		if want := accounts + res.Counts[domain.EventApplicationSubmitted]; claims != want {
			t.Errorf("claims = %d, want one per account and application (%d)", claims, want)
		}
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM listing_schedule`).Scan(&scheduled); err != nil {
			t.Fatal(err)
		}
		if scheduled == 0 {
			t.Error("no published job is scheduled to expire")
		}
	})

	t.Run("refuses to write the same seed twice", func(t *testing.T) {
		_, err := s.Run(ctx)
		if !errors.Is(err, ErrAlreadySeeded) {
			t.Fatalf("err = %v, want ErrAlreadySeeded", err)
		}
	})

	t.Run("writes the same streams for the same seed", func(t *testing.T) {
		pool2, store2 := newStore(t)
		cfg2 := testConfig(n, 42)
		cfg2.Writers, cfg2.BatchEvents = 2, 1000 // another interleaving, same streams
		s2, err := NewSeeder(pool2, store2, cfg2)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s2.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if a, b := dump(t, pool), dump(t, pool2); a != b {
			t.Fatal("same seed, different stored histories")
		}
	})
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	bad := Mix{FeaturedShare: 2, JobsPerCompany: 0}
	err := Config{Events: 0, Span: time.Hour, Mix: &bad, Writers: 0, BatchEvents: 0}.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"events 0", "span", "featured share", "jobs per company", "batch events", "writers"} {
		if indexOf(err.Error(), want) < 0 {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
