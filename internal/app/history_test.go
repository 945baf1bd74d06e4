package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/readmodels"
	"github.com/jobboard/jobboard/seed"
	"github.com/jobboard/jobboard/storedevents"
)

// history writes realistic histories (companies, jobs, payments, applications, closes,
// expiries) through the seed package into the test database.
type history struct {
	pool     *pgxpool.Pool
	store    *eventstore.Store
	registry *eventstore.Registry
}

func newHistory(t testing.TB, dsn string) *history {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
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
	return &history{pool: pool, store: store, registry: reg}
}

func (h *history) seed(t testing.TB, events int, seedValue uint64) {
	t.Helper()
	s, err := seed.NewSeeder(h.pool, h.store, seed.Config{Events: events, Seed: seedValue, End: time.Now().UTC(), Span: 20 * 24 * time.Hour, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// heads is every stream's last version in the store.
func (h *history) heads(t testing.TB) []readmodels.StreamVersion {
	t.Helper()
	rows, err := h.pool.Query(context.Background(), `SELECT stream_id, max(stream_version) FROM events GROUP BY stream_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []readmodels.StreamVersion
	for rows.Next() {
		var sv readmodels.StreamVersion
		if err := rows.Scan(&sv.StreamID, &sv.Version); err != nil {
			t.Fatal(err)
		}
		out = append(out, sv)
	}
	return out
}
