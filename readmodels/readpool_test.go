package readmodels_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/readmodels"
)

// TestAReadPoolServesTheQueriesAndTheirWaits: with ReadPool set (DATABASE_READ_URL, a
// streaming replica), the read-table queries and the applied versions a consistency wait
// checks both go to it — a read pool that cannot connect fails both — and with a reachable
// one both answer, while the notification listener stays on the primary.
func TestAReadPoolServesTheQueriesAndTheirWaits(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{testenv.ElasticsearchURL(t)}})
	if err != nil {
		t.Fatal(err)
	}
	storeWith := func(read *pgxpool.Pool) *readmodels.Store {
		t.Helper()
		s, err := readmodels.NewStore(f.pool, es, readmodels.StoreConfig{ReadPool: read, SearchAlias: f.alias})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	jobID := f.ids["go"]

	unreachable, err := pgxpool.New(ctx, "postgres://jobboard:jobboard@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer unreachable.Close()
	down := storeWith(unreachable)
	var ce *pgconn.ConnectError
	if _, err := down.GetJob(ctx, jobID); !errors.As(err, &ce) {
		t.Fatalf("GetJob through an unreachable read pool: err = %v, want a connect error", err)
	}
	if err := down.WaitForStream(ctx, readmodels.ReadTablesProjection, jobID, 1, 2*time.Second); !errors.As(err, &ce) {
		t.Fatalf("a wait through an unreachable read pool: err = %v, want a connect error", err)
	}

	replica, err := pgxpool.NewWithConfig(ctx, f.pool.Config().Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	up := storeWith(replica)
	listenCtx, stopListening := context.WithCancel(ctx)
	defer stopListening()
	go func() { _ = up.ListenApplied(listenCtx) }()
	if err := up.WaitForStream(ctx, readmodels.ReadTablesProjection, jobID, 1, 5*time.Second); err != nil {
		t.Fatalf("wait through the read pool: %v", err)
	}
	j, err := up.GetJob(ctx, jobID)
	if err != nil || j.ID != jobID {
		t.Fatalf("GetJob through the read pool = %+v, %v", j.ID, err)
	}
	if replica.Stat().AcquireCount() == 0 {
		t.Fatal("the read pool served nothing")
	}
}
