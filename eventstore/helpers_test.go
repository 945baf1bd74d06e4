package eventstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/testenv"
)

// testLogger logs warnings and errors only, so failing runs explain themselves.
func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// newPool opens a pool on a fresh migrated database.
func newPool(tb testing.TB, maxConns int32) *pgxpool.Pool {
	tb.Helper()
	dsn := testenv.NewDatabase(tb)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

func newStore(tb testing.TB, cfg eventstore.StoreConfig) (*eventstore.Store, *pgxpool.Pool) {
	tb.Helper()
	pool := newPool(tb, 20)
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	s, err := eventstore.NewStore(pool, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s, pool
}

func testContext(tb testing.TB, d time.Duration) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// event builds an event with a fresh id and a small JSON payload.
func event(typ string, n int) eventstore.EventData {
	return eventstore.EventData{
		EventID:  uuid.New(),
		Type:     typ,
		Data:     json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
		Metadata: eventstore.Metadata{CorrelationID: "corr-" + typ, CausationID: "cause", Actor: "tester", Command: "Test"},
	}
}

func mustAppend(tb testing.TB, s *eventstore.Store, stream, streamType string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) eventstore.AppendResult {
	tb.Helper()
	res, err := s.Append(context.Background(), stream, streamType, expected, events)
	if err != nil {
		tb.Fatalf("append to %s: %v", stream, err)
	}
	return res
}

// readEverything reads the whole store in commit-safe order. xmin is cluster-wide, so a
// transaction of another test running in parallel can hold back events for a moment: it
// reads until it gets every row of the table.
func readEverything(tb testing.TB, s *eventstore.Store, pool *pgxpool.Pool) []eventstore.Event {
	tb.Helper()
	var rows int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&rows); err != nil {
		tb.Fatal(err)
	}
	var all []eventstore.Event
	eventually(tb, 30*time.Second, fmt.Sprintf("read all %d events", rows), func() bool {
		all = all[:0]
		pos := eventstore.Start
		for {
			batch, err := s.ReadAll(context.Background(), pos, 1000, eventstore.ReadFilter{})
			if err != nil {
				tb.Fatal(err)
			}
			all = append(all, batch...)
			if len(batch) < 1000 {
				return len(all) == rows
			}
			pos = batch[len(batch)-1].Position()
		}
	})
	return all
}

// eventually retries cond until it holds or d passes.
func eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
