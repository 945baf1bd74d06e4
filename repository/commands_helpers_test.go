package repository_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/commands/commandstest"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/payments"
	"github.com/jobboard/jobboard/repository"
	"github.com/jobboard/jobboard/storedevents"
)

// The helpers both homes of the handler tests share (commands/commandstest), under the
// names these tests use.
var (
	quietLogger  = commandstest.QuietLogger
	ctxFor       = commandstest.Ctx
	employer     = commandstest.Employer
	candidate    = commandstest.Candidate
	stripeCaller = commandstest.StripeCaller
	wantCode     = commandstest.WantCode
)

// world is the write side wired on a fresh database and stripe-mock.
type world struct {
	*commandstest.Handlers
	pool    *pgxpool.Pool
	store   *repository.Store
	creds   *repository.Credentials
	clock   *commandstest.Clock
	prices  commands.ListingPrices
	gateway commands.PaymentGateway
}

func newWorld(t *testing.T) *world {
	t.Helper()
	dsn := testenv.NewDatabase(t)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 20
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	reg, err := storedevents.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	es, err := eventstore.NewStore(pool, eventstore.StoreConfig{Registry: reg, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{pool: pool, clock: commandstest.NewClock(), prices: commandstest.Prices()}
	if w.store, err = repository.NewStore(pool, es); err != nil {
		t.Fatal(err)
	}
	if w.creds, err = repository.NewCredentials(pool); err != nil {
		t.Fatal(err)
	}
	if w.gateway, err = payments.NewStripeGateway(payments.StripeConfig{SecretKey: "sk_test_123", APIBase: testenv.StripeAPIBase(t), Logger: quietLogger()}); err != nil {
		t.Fatal(err)
	}
	w.Handlers = commandstest.NewHandlers(t, w.store, w.gateway, w.clock, w.prices)
	return w
}

// countEvents counts stored events of a type, in one stream or ("" stream) everywhere.
func (w *world) countEvents(t *testing.T, eventType, streamID string) int {
	t.Helper()
	var n int
	if err := w.pool.QueryRow(ctxFor(t), `SELECT count(*) FROM events WHERE event_type = $1 AND ($2 = '' OR stream_id = $2)`,
		eventType, streamID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func ptr[T any](v T) *T { return &v }
