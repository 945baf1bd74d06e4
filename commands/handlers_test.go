package commands_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/commands/memstore"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

// recordingGateway is commands' PaymentGateway port answering from memory, as Stripe does
// for what the handlers rely on: a repeated idempotency key returns the first intent. It
// records the requests and fails every call with err when set. The Stripe adapter itself is
// tested against stripe-mock (payments/), and the handlers over stripe-mock in
// repository/commands_payments_test.go.
type recordingGateway struct {
	mu      sync.Mutex
	err     error
	byKey   map[string]commands.PaymentIntent
	intents []commands.PaymentIntentRequest
}

func newRecordingGateway() *recordingGateway {
	return &recordingGateway{byKey: map[string]commands.PaymentIntent{}}
}

func (g *recordingGateway) fail(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.err = err
}

func (g *recordingGateway) requests() []commands.PaymentIntentRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]commands.PaymentIntentRequest(nil), g.intents...)
}

func (g *recordingGateway) CreatePaymentIntent(_ context.Context, req commands.PaymentIntentRequest) (commands.PaymentIntent, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return commands.PaymentIntent{}, g.err
	}
	g.intents = append(g.intents, req)
	if pi, ok := g.byKey[req.IdempotencyKey]; ok {
		return pi, nil
	}
	pi := commands.PaymentIntent{ID: fmt.Sprintf("pi_%d", len(g.byKey)+1), ClientSecret: fmt.Sprintf("pi_%d_secret", len(g.byKey)+1),
		Amount: req.Amount, Currency: req.Currency, Status: "requires_payment_method"}
	g.byKey[req.IdempotencyKey] = pi
	return pi, nil
}

func (g *recordingGateway) PaymentIntent(_ context.Context, id string) (commands.PaymentIntent, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return commands.PaymentIntent{}, g.err
	}
	for _, pi := range g.byKey {
		if pi.ID == id {
			return pi, nil
		}
	}
	return commands.PaymentIntent{}, apperr.New(apperr.NotFound, "no payment intent %s", id)
}

func (g *recordingGateway) CancelPaymentIntent(context.Context, string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

func (g *recordingGateway) RefundPayment(_ context.Context, req commands.RefundRequest) (commands.Refund, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return commands.Refund{ID: "re_" + req.PaymentIntentID, Status: "succeeded"}, g.err
}

func TestPaymentsGoThroughTheGateway(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := ctxFor(t)
	company := w.MustRegisterCompany(t, "acme@example.com").ID
	gateway := w.gateway.(*recordingGateway)
	t.Run("publishing asks for one intent of the plan's price, keyed and tagged with the job", func(t *testing.T) {
		job := w.MustPublishJob(t, company)
		reqs := gateway.requests()
		if len(reqs) != 1 || reqs[0].Amount != 4900 || reqs[0].IdempotencyKey == "" || reqs[0].Metadata["job_id"] != job {
			t.Fatalf("intents asked for = %+v", reqs)
		}
	})
	t.Run("a provider that cannot be reached is unavailable and records nothing", func(t *testing.T) {
		job := w.MustPostJob(t, company)
		gateway.fail(apperr.New(apperr.Unavailable, "the payment provider cannot be reached"))
		defer gateway.fail(nil)
		_, err := w.PayForListing.Handle(ctx, commands.PayForListing{Caller: employer(company), JobID: job.ID, Plan: "standard"})
		wantCode(t, err, apperr.Unavailable)
		if n := w.countEvents(t, domain.EventListingPaymentRequested, job.ID); n != 0 {
			t.Fatalf("%d payment requests recorded after the gateway failed", n)
		}
	})
}

// conflictingStore loses every append to a concurrent writer.
type conflictingStore struct {
	*memstore.Store
	mu      sync.Mutex
	appends int
}

func (s *conflictingStore) Append(context.Context, commands.AppendRequest) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appends++
	return 0, fmt.Errorf("append: %w", commands.ErrConcurrencyConflict)
}

// failingStore cannot load.
type failingStore struct{ *memstore.Store }

func (failingStore) Load(context.Context, string) (commands.Stream, error) {
	return commands.Stream{}, errors.New("connection refused")
}

func TestStoreErrorsAreTranslated(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := ctxFor(t)
	register := func(store commands.EventStore) error {
		h, err := commands.NewRegisterCompanyHandler(store, w.clock.Now, commands.NewUUIDv7)
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Handle(ctx, commands.RegisterCompany{Input: domain.CompanyInput{Name: "Acme", Email: "acme@example.com"}})
		return err
	}
	t.Run("an append that keeps losing races is retried a bounded number of times, then a conflict", func(t *testing.T) {
		store := &conflictingStore{Store: memstore.New()}
		wantCode(t, register(store), apperr.Conflict)
		if store.appends < 2 || store.appends > 8 {
			t.Fatalf("%d appends, want a few retries and a bound", store.appends)
		}
	})
	t.Run("a store that cannot load is an internal error", func(t *testing.T) {
		wantCode(t, register(failingStore{memstore.New()}), apperr.Internal)
	})
	t.Run("a cancelled request is unavailable", func(t *testing.T) {
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		h, err := commands.NewPostJobHandler(w.store, w.clock.Now, commands.NewUUIDv7)
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Handle(cancelled, commands.PostJob{Caller: employer("co-1"), Details: detailsInput()})
		wantCode(t, err, apperr.Unavailable)
	})
}
