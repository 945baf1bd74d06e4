package commands_test

import (
	"testing"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/commands/commandstest"
	"github.com/jobboard/jobboard/commands/memstore"
)

// The helpers both homes of the handler tests share (commands/commandstest), under the
// names these tests use.
var (
	quietLogger  = commandstest.QuietLogger
	ctxFor       = commandstest.Ctx
	employer     = commandstest.Employer
	candidate    = commandstest.Candidate
	stripeCaller = commandstest.StripeCaller
	detailsInput = commandstest.DetailsInput
	wantCode     = commandstest.WantCode
)

// world is the write side wired on an in-memory store (commands/memstore, which passes the
// same acceptance suite as the PostgreSQL store) and a recording payment gateway: no engine.
// The handler tests that are about PostgreSQL or stripe-mock themselves are in
// repository/commands_*_test.go.
type world struct {
	*commandstest.Handlers
	store *memstore.Store
	// creds is the store too: it looks tokens up as repository.Credentials does.
	creds   *memstore.Store
	clock   *commandstest.Clock
	prices  commands.ListingPrices
	gateway commands.PaymentGateway
}

func newWorld(t *testing.T) *world {
	t.Helper()
	store := memstore.New()
	w := &world{store: store, creds: store, gateway: newRecordingGateway(), clock: commandstest.NewClock(), prices: commandstest.Prices()}
	w.Handlers = commandstest.NewHandlers(t, w.store, w.gateway, w.clock, w.prices)
	return w
}

// countEvents counts stored events of a type, in one stream or ("" stream) everywhere.
func (w *world) countEvents(t *testing.T, eventType, streamID string) int {
	t.Helper()
	return w.store.CountEvents(eventType, streamID)
}

func ptr[T any](v T) *T { return &v }
