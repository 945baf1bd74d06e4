package eventstore_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/jobboard/jobboard/eventstore"
)

func TestAppend(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, eventstore.StoreConfig{})
	ctx := testContext(t, 60*time.Second)

	t.Run("appends to a new stream with NoStream", func(t *testing.T) {
		res, err := s.Append(ctx, "job-1", "job", eventstore.NoStream, []eventstore.EventData{event("JobPosted", 1), event("JobPublished", 2)})
		if err != nil {
			t.Fatal(err)
		}
		if res.StreamVersion != 2 || len(res.GlobalPositions) != 2 || res.GlobalPositions[0] >= res.GlobalPositions[1] {
			t.Fatalf("result %+v", res)
		}
	})
	t.Run("refuses NoStream on an existing stream", func(t *testing.T) {
		_, err := s.Append(ctx, "job-1", "job", eventstore.NoStream, []eventstore.EventData{event("JobPosted", 1)})
		var ce *eventstore.ConcurrencyError
		if !errors.Is(err, eventstore.ErrConcurrencyConflict) || !errors.As(err, &ce) || ce.Actual != 2 || ce.StreamID != "job-1" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("appends at the exact expected version", func(t *testing.T) {
		res, err := s.Append(ctx, "job-1", "job", eventstore.Exact(2), []eventstore.EventData{event("JobClosed", 3)})
		if err != nil || res.StreamVersion != 3 {
			t.Fatalf("res %+v, err %v", res, err)
		}
	})
	t.Run("refuses a stale expected version", func(t *testing.T) {
		_, err := s.Append(ctx, "job-1", "job", eventstore.Exact(1), []eventstore.EventData{event("JobClosed", 3)})
		var ce *eventstore.ConcurrencyError
		if !errors.As(err, &ce) || ce.Expected != 1 || ce.Actual != 3 {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("appends with Any", func(t *testing.T) {
		res, err := s.Append(ctx, "job-1", "job", eventstore.Any, []eventstore.EventData{event("JobReopened", 4)})
		if err != nil || res.StreamVersion != 4 {
			t.Fatalf("res %+v, err %v", res, err)
		}
	})
	t.Run("a retried append returns the original result", func(t *testing.T) {
		evs := []eventstore.EventData{event("JobPosted", 1), event("JobPublished", 2)}
		first, err := s.Append(ctx, "job-2", "job", eventstore.NoStream, evs)
		if err != nil {
			t.Fatal(err)
		}
		for _, exp := range []eventstore.ExpectedVersion{eventstore.NoStream, eventstore.Any, eventstore.Exact(7)} {
			again, err := s.Append(ctx, "job-2", "job", exp, evs)
			if err != nil {
				t.Fatalf("expected %s: %v", exp, err)
			}
			if again.StreamVersion != first.StreamVersion || again.GlobalPositions[0] != first.GlobalPositions[0] || again.GlobalPositions[1] != first.GlobalPositions[1] {
				t.Fatalf("expected %s: again %+v, first %+v", exp, again, first)
			}
		}
		stored, err := s.LoadStream(ctx, "job-2", eventstore.LoadOptions{})
		if err != nil || len(stored) != 2 {
			t.Fatalf("stored %d events, err %v", len(stored), err)
		}
	})
	t.Run("refuses event ids reused by another append", func(t *testing.T) {
		e := event("JobPosted", 1)
		mustAppend(t, s, "job-3", "job", eventstore.NoStream, e)
		_, err := s.Append(ctx, "job-4", "job", eventstore.NoStream, []eventstore.EventData{e})
		if !errors.Is(err, eventstore.ErrDuplicateEventID) {
			t.Fatalf("other stream: err = %v", err)
		}
		_, err = s.Append(ctx, "job-3", "job", eventstore.Any, []eventstore.EventData{event("JobClosed", 2), e})
		if !errors.Is(err, eventstore.ErrDuplicateEventID) {
			t.Fatalf("partly new append: err = %v", err)
		}
	})
	t.Run("refuses invalid events", func(t *testing.T) {
		bad := []eventstore.EventData{{Type: "", Data: json.RawMessage(`{`)}}
		_, err := s.Append(ctx, "", "", eventstore.ExpectedVersion(-5), bad)
		if !errors.Is(err, eventstore.ErrInvalidEvent) {
			t.Fatalf("err = %v", err)
		}
		if _, err := s.Append(ctx, "job-5", "job", eventstore.Any, nil); !errors.Is(err, eventstore.ErrInvalidEvent) {
			t.Fatalf("no events: err = %v", err)
		}
	})
	t.Run("assigns event ids and keeps metadata", func(t *testing.T) {
		e := event("JobPosted", 1)
		e.EventID = uuid.Nil
		e.Metadata.IdempotencyKey = "idem-1"
		e.Metadata.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		e.Metadata.Extra = map[string]string{"ip": "127.0.0.1"}
		mustAppend(t, s, "job-6", "job", eventstore.NoStream, e)
		got, err := s.LoadStream(ctx, "job-6", eventstore.LoadOptions{})
		if err != nil || len(got) != 1 {
			t.Fatalf("got %v, err %v", got, err)
		}
		g := got[0]
		if g.EventID == uuid.Nil || g.EventID.Version() != 7 || g.StreamType != "job" || g.Type != "JobPosted" || g.SchemaVersion != 1 ||
			g.Metadata.IdempotencyKey != "idem-1" || g.Metadata.TraceParent != e.Metadata.TraceParent || g.Metadata.Extra["ip"] != "127.0.0.1" ||
			g.Metadata.CorrelationID != "corr-JobPosted" || g.TransactionID == 0 || g.RecordedAt.IsZero() {
			t.Fatalf("stored %+v", g)
		}
	})
	t.Run("concurrent appends at the same version: exactly one wins", func(t *testing.T) {
		mustAppend(t, s, "job-7", "job", eventstore.NoStream, event("JobPosted", 1))
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = s.Append(ctx, "job-7", "job", eventstore.Exact(1), []eventstore.EventData{event("JobClosed", i)})
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, eventstore.ErrConcurrencyConflict):
				t.Fatalf("unexpected error %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d appends won", won)
		}
	})
	t.Run("concurrent Any appends all succeed", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = s.Append(ctx, "job-8", "job", eventstore.Any, []eventstore.EventData{event("JobViewed", i)})
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		got, _ := s.LoadStream(ctx, "job-8", eventstore.LoadOptions{})
		if len(got) != 8 || got[7].StreamVersion != 8 {
			t.Fatalf("stream has %d events", len(got))
		}
	})
	t.Run("concurrent retries of the same append store it once", func(t *testing.T) {
		evs := []eventstore.EventData{event("JobPosted", 1)}
		var wg sync.WaitGroup
		results := make([]eventstore.AppendResult, 8)
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { results[i], errs[i] = s.Append(ctx, "job-9", "job", eventstore.NoStream, evs) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil || results[i].GlobalPositions[0] != results[0].GlobalPositions[0] {
				t.Fatalf("retry %d: %+v, %v", i, results[i], err)
			}
		}
	})
}

func TestAppendTx(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t, eventstore.StoreConfig{})
	ctx := testContext(t, 60*time.Second)
	if _, err := pool.Exec(ctx, `CREATE TABLE reservations (key text PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	apply := func(key, stream string) (eventstore.AppendResult, error) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `INSERT INTO reservations (key) VALUES ($1)`, key); err != nil {
			return eventstore.AppendResult{}, err
		}
		res, err := s.AppendTx(ctx, tx, stream, "application", eventstore.NoStream, []eventstore.EventData{event("ApplicationSubmitted", 1)})
		if err != nil {
			return res, err
		}
		return res, tx.Commit(ctx)
	}

	t.Run("appends in the caller's transaction", func(t *testing.T) {
		if _, err := apply("cand-1/job-1", "app-1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.LoadStream(ctx, "app-1", eventstore.LoadOptions{}); len(got) != 1 {
			t.Fatalf("stream has %d events", len(got))
		}
	})
	t.Run("a failed reservation leaves no event", func(t *testing.T) {
		if _, err := apply("cand-1/job-1", "app-2"); err == nil {
			t.Fatal("second reservation succeeded")
		}
		if got, _ := s.LoadStream(ctx, "app-2", eventstore.LoadOptions{}); len(got) != 0 {
			t.Fatalf("stream has %d events", len(got))
		}
	})
	t.Run("a rolled back transaction leaves no event", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendTx(ctx, tx, "app-3", "application", eventstore.NoStream, []eventstore.EventData{event("ApplicationSubmitted", 1)}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.LoadStream(ctx, "app-3", eventstore.LoadOptions{}); len(got) != 0 {
			t.Fatalf("stream has %d events", len(got))
		}
	})
	t.Run("reports a conflict inside the transaction", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		_, err = s.AppendTx(ctx, tx, "app-1", "application", eventstore.NoStream, []eventstore.EventData{event("ApplicationSubmitted", 1)})
		if !errors.Is(err, eventstore.ErrConcurrencyConflict) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestLoadStream(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, eventstore.StoreConfig{})
	ctx := testContext(t, 30*time.Second)
	mustAppend(t, s, "job-1", "job", eventstore.NoStream, event("JobPosted", 1), event("JobPublished", 2))
	mustAppend(t, s, "job-2", "job", eventstore.NoStream, event("JobPosted", 1))
	time.Sleep(20 * time.Millisecond)
	between := time.Now()
	time.Sleep(20 * time.Millisecond)
	mustAppend(t, s, "job-1", "job", eventstore.Exact(2), event("JobClosed", 3))

	t.Run("loads the whole stream in version order", func(t *testing.T) {
		got, err := s.LoadStream(ctx, "job-1", eventstore.LoadOptions{})
		if err != nil || len(got) != 3 || got[0].StreamVersion != 1 || got[2].Type != "JobClosed" {
			t.Fatalf("got %+v, err %v", got, err)
		}
	})
	t.Run("loads up to a version", func(t *testing.T) {
		got, _ := s.LoadStream(ctx, "job-1", eventstore.LoadOptions{UpToVersion: 2})
		if len(got) != 2 || got[1].StreamVersion != 2 {
			t.Fatalf("got %d events", len(got))
		}
	})
	t.Run("loads as of a time", func(t *testing.T) {
		got, _ := s.LoadStream(ctx, "job-1", eventstore.LoadOptions{AsOf: between})
		if len(got) != 2 {
			t.Fatalf("got %d events", len(got))
		}
	})
	t.Run("a missing stream has no events", func(t *testing.T) {
		got, err := s.LoadStream(ctx, "job-404", eventstore.LoadOptions{})
		if err != nil || len(got) != 0 {
			t.Fatalf("got %d events, err %v", len(got), err)
		}
	})
}

func TestReadAll(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t, eventstore.StoreConfig{})
	ctx := testContext(t, 30*time.Second)
	mustAppend(t, s, "job-1", "job", eventstore.NoStream, event("JobPosted", 1))
	mustAppend(t, s, "company-1", "company", eventstore.NoStream, event("CompanyRegistered", 1))
	time.Sleep(20 * time.Millisecond)
	mid := time.Now()
	mustAppend(t, s, "job-1", "job", eventstore.Any, event("JobPublished", 2), event("JobClosed", 3))

	t.Run("reads everything in commit-safe order", func(t *testing.T) {
		all := readEverything(t, s, pool)
		if len(all) != 4 {
			t.Fatalf("read %d events", len(all))
		}
		for i := 1; i < len(all); i++ {
			if !all[i-1].Position().Less(all[i].Position()) {
				t.Fatalf("event %d out of order", i)
			}
		}
	})
	t.Run("pages in batches", func(t *testing.T) {
		first, _ := s.ReadAll(ctx, eventstore.Start, 3, eventstore.ReadFilter{})
		rest, _ := s.ReadAll(ctx, first[2].Position(), 3, eventstore.ReadFilter{})
		if len(first) != 3 || len(rest) != 1 || rest[0].Type != "JobClosed" {
			t.Fatalf("pages of %d and %d", len(first), len(rest))
		}
	})
	t.Run("filters", func(t *testing.T) {
		for name, tc := range map[string]struct {
			f    eventstore.ReadFilter
			want int
		}{
			"by type":                  {eventstore.ReadFilter{Types: []string{"JobPosted", "CompanyRegistered"}}, 2},
			"by stream type":           {eventstore.ReadFilter{StreamType: "company"}, 1},
			"by stream types":          {eventstore.ReadFilter{StreamTypes: []string{"company", "candidate"}}, 1},
			"by stream types and type": {eventstore.ReadFilter{StreamTypes: []string{"company", "job"}, Types: []string{"JobClosed"}}, 1},
			"by stream":                {eventstore.ReadFilter{StreamID: "job-1"}, 3},
			"since":                    {eventstore.ReadFilter{Since: mid}, 2},
			"until":                    {eventstore.ReadFilter{Until: mid}, 2},
		} {
			got, err := s.ReadAll(ctx, eventstore.Start, 100, tc.f)
			if err != nil || len(got) != tc.want {
				t.Errorf("%s: %d events, want %d (err %v)", name, len(got), tc.want, err)
			}
		}
	})
	t.Run("resumes from a global position", func(t *testing.T) {
		all := readEverything(t, s, pool)
		pos, err := s.PositionOf(ctx, all[1].GlobalPosition)
		if err != nil || pos != all[1].Position() {
			t.Fatalf("pos %v, err %v", pos, err)
		}
		rest, _ := s.ReadAll(ctx, pos, 100, eventstore.ReadFilter{})
		if len(rest) != 2 || rest[0].EventID != all[2].EventID {
			t.Fatalf("rest %d events", len(rest))
		}
		if _, err := s.PositionOf(ctx, 1_000_000); !errors.Is(err, eventstore.ErrPositionNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestReadAllWaitsForOlderTransactions shows the commit-safe rule on two transactions: an
// event committed by a younger transaction stays invisible to global reads while an older
// transaction that already appended is in flight, then both come in transaction order.
func TestReadAllWaitsForOlderTransactions(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t, eventstore.StoreConfig{})
	ctx := testContext(t, 30*time.Second)
	older, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer older.Rollback(ctx)
	if _, err := s.AppendTx(ctx, older, "job-1", "job", eventstore.NoStream, []eventstore.EventData{event("JobPosted", 1)}); err != nil {
		t.Fatal(err)
	}
	younger := mustAppend(t, s, "job-2", "job", eventstore.NoStream, event("JobPosted", 2))
	if got, _ := s.ReadAll(ctx, eventstore.Start, 10, eventstore.ReadFilter{}); len(got) != 0 {
		t.Fatalf("read %d events while an older transaction is in flight", len(got))
	}
	if err := older.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := readEverything(t, s, pool)
	if len(got) != 2 || got[0].StreamID != "job-1" || got[1].GlobalPosition != younger.GlobalPositions[0] {
		t.Fatalf("got %+v", got)
	}
}
