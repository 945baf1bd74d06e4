package repository_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/payments"
)

// proxiedPayments are the payment handlers of w talking to stripe-mock through a proxy that
// records every call.
type proxiedPayments struct {
	proxy   *testenv.StripeProxy
	pay     *commands.PayForListingHandler
	confirm *commands.ConfirmListingPaymentHandler
}

func (w *world) proxiedPayments(t *testing.T) proxiedPayments {
	t.Helper()
	proxy := testenv.NewStripeProxy(t)
	g, err := payments.NewStripeGateway(payments.StripeConfig{SecretKey: "sk_test_123", APIBase: proxy.URL, Logger: quietLogger(), MaxNetworkRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	pay, err := commands.NewPayForListingHandler(w.store, g, w.clock.Now, commands.NewUUIDv7, w.prices)
	if err != nil {
		t.Fatal(err)
	}
	confirm, err := commands.NewConfirmListingPaymentHandler(w.store, g, w.clock.Now, commands.NewUUIDv7, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	return proxiedPayments{proxy: proxy, pay: pay, confirm: confirm}
}

// TestConcurrentPaymentRequestsOpenOnePaymentIntent races payment requests for one job: one
// payment is recorded, every answer names it and its intent, and every intent creation that
// reached Stripe carried that payment's idempotency key (one PaymentIntent at Stripe).
func TestConcurrentPaymentRequestsOpenOnePaymentIntent(t *testing.T) {
	t.Parallel()
	const requests = 4
	w := newWorld(t)
	ctx := ctxFor(t)
	p := w.proxiedPayments(t)
	company := w.MustRegisterCompany(t, "acme@example.com").ID
	job := w.MustPostJob(t, company)
	answers := make([]commands.PaymentResult, requests)
	errs := make([]error, requests)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range requests {
		wg.Go(func() {
			<-start
			answers[i], errs[i] = p.pay.Handle(ctx, commands.PayForListing{Caller: employer(company), JobID: job.ID, Plan: "featured"})
		})
	}
	close(start)
	wg.Wait()
	created := 0
	for i, a := range answers {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if a.PaymentID != answers[0].PaymentID || a.PaymentIntentID != answers[0].PaymentIntentID || a.PaymentIntentID == "" || a.ClientSecret == "" {
			t.Errorf("answer %d = %+v, answer 0 = %+v", i, a, answers[0])
		}
		if a.Created {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d answers created the payment, want 1", created)
	}
	if n := w.countEvents(t, domain.EventListingPaymentRequested, job.ID); n != 1 {
		t.Fatalf("%d payment requests recorded, want 1", n)
	}
	creates := p.proxy.Calls("POST", "/v1/payment_intents")
	if len(creates) == 0 {
		t.Fatal("no PaymentIntent was created")
	}
	for _, c := range creates {
		if c.IdempotencyKey != "jobboard-listing-payment-"+answers[0].PaymentID || c.Form.Get("metadata[payment_id]") != answers[0].PaymentID {
			t.Errorf("a creation for another payment reached Stripe: %+v", c)
		}
	}
	if n := len(p.proxy.Calls("POST", "/v1/payment_intents/*/cancel")); n != 0 {
		t.Errorf("%d intents canceled, want none", n)
	}
}

// TestOnePaymentAtATime: the same plan again answers the open payment without a new
// intent; another plan cancels the open intent at Stripe and opens a new payment; the
// canceled payment succeeding late is refunded once, however often Stripe tells us.
func TestOnePaymentAtATime(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := ctxFor(t)
	p := w.proxiedPayments(t)
	company := w.MustRegisterCompany(t, "acme@example.com").ID
	job := w.MustPostJob(t, company)
	ask := func(plan string) commands.PaymentResult {
		t.Helper()
		r, err := p.pay.Handle(ctx, commands.PayForListing{Caller: employer(company), JobID: job.ID, Plan: plan})
		if err != nil {
			t.Fatalf("PayForListing %s: %v", plan, err)
		}
		return r
	}
	std := ask("standard")
	if !std.Created || std.Amount != 4900 {
		t.Fatalf("first payment = %+v", std)
	}
	again := ask("standard")
	if again.Created || again.PaymentID != std.PaymentID || again.PaymentIntentID != std.PaymentIntentID || again.ClientSecret == "" || again.Version != std.Version {
		t.Fatalf("same plan again = %+v, first %+v", again, std)
	}
	if n := len(p.proxy.Calls("POST", "/v1/payment_intents")); n != 1 {
		t.Fatalf("%d intents created after asking twice for one plan, want 1", n)
	}
	feat := ask("featured")
	if !feat.Created || feat.PaymentID == std.PaymentID || feat.PaymentIntentID == std.PaymentIntentID || feat.Amount != 9900 {
		t.Fatalf("another plan = %+v, first %+v", feat, std)
	}
	if c := p.proxy.Calls("POST", "/v1/payment_intents/"+std.PaymentIntentID+"/cancel"); len(c) != 1 {
		t.Fatalf("cancel calls of the first intent = %+v, want 1", c)
	}
	if n := w.countEvents(t, domain.EventListingPaymentCanceled, job.ID); n != 1 {
		t.Fatalf("%d payments canceled, want 1", n)
	}

	late := commands.ConfirmListingPayment{Caller: stripeCaller, JobID: job.ID, PaymentID: std.PaymentID, PaymentIntentID: std.PaymentIntentID,
		Amount: 4900, Currency: "eur", PaidAt: w.clock.Now()}
	for i := range 2 { // delivered twice
		if _, err := p.confirm.Handle(ctx, late); err != nil {
			t.Fatalf("late success %d: %v", i+1, err)
		}
	}
	refunds := p.proxy.Calls("POST", "/v1/refunds")
	if len(refunds) != 1 || refunds[0].IdempotencyKey != "jobboard-listing-refund-"+std.PaymentID || refunds[0].Form.Get("payment_intent") != std.PaymentIntentID {
		t.Fatalf("refund calls = %+v, want one for %s", refunds, std.PaymentIntentID)
	}
	if n := w.countEvents(t, domain.EventListingPaymentRefunded, job.ID); n != 1 {
		t.Fatalf("%d refunds recorded, want 1", n)
	}
	if n := w.countEvents(t, domain.EventJobPublished, job.ID); n != 0 {
		t.Fatalf("a canceled payment published the job")
	}

	// The open payment still pays; a late second success of it changes nothing.
	paid := commands.ConfirmListingPayment{Caller: stripeCaller, JobID: job.ID, PaymentID: feat.PaymentID, Amount: 9900, Currency: "eur", PaidAt: w.clock.Now()}
	for range 2 {
		if _, err := p.confirm.Handle(ctx, paid); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.countEvents(t, domain.EventJobPublished, job.ID); n != 1 {
		t.Fatalf("%d publications, want 1", n)
	}
	if n := len(p.proxy.Calls("POST", "/v1/refunds")); n != 1 {
		t.Fatalf("%d refund calls, want still 1", n)
	}
}

// contendedStore lets another writer land on the stream between every load and append of
// the commands that use it, so each of their appends loses the race.
type contendedStore struct {
	commands.EventStore
	interfere func(ctx context.Context) error
}

func (s contendedStore) Append(ctx context.Context, req commands.AppendRequest) (int64, error) {
	if err := s.interfere(ctx); err != nil {
		return 0, err
	}
	return s.EventStore.Append(ctx, req)
}

// TestProviderNotificationsThatLoseEveryRaceAreUnavailable: a confirmation or failure that
// cannot be appended through all its retries is apperr.Unavailable (the webhook answers 503
// and Stripe retries), and nothing of it is written.
func TestProviderNotificationsThatLoseEveryRaceAreUnavailable(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := ctxFor(t)
	company := w.MustRegisterCompany(t, "acme@example.com").ID
	job := w.MustPostJob(t, company)
	pay, err := w.PayForListing.Handle(ctx, commands.PayForListing{Caller: employer(company), JobID: job.ID, Plan: "standard"})
	if err != nil {
		t.Fatal(err)
	}
	var edits atomic.Int64
	store := contendedStore{EventStore: w.store, interfere: func(ctx context.Context) error {
		_, err := w.UpdateJob.Handle(ctx, commands.UpdateJob{Caller: employer(company), JobID: job.ID,
			Patch: domain.JobDetailsPatch{Title: ptr(fmt.Sprintf("Go Engineer, edit %d", edits.Add(1)))}})
		return err
	}}
	confirm, err := commands.NewConfirmListingPaymentHandler(store, w.gateway, w.clock.Now, commands.NewUUIDv7, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	fail, err := commands.NewFailListingPaymentHandler(store, w.clock.Now, commands.NewUUIDv7)
	if err != nil {
		t.Fatal(err)
	}
	_, err = confirm.Handle(ctx, commands.ConfirmListingPayment{Caller: stripeCaller, JobID: job.ID, PaymentID: pay.PaymentID, Amount: 4900, Currency: "eur"})
	wantCode(t, err, apperr.Unavailable)
	_, err = fail.Handle(ctx, commands.FailListingPayment{Caller: stripeCaller, JobID: job.ID, PaymentID: pay.PaymentID, Reason: "card_declined"})
	wantCode(t, err, apperr.Unavailable)
	if edits.Load() < 2 {
		t.Fatalf("only %d interfering writes: the commands were not retried", edits.Load())
	}
	for _, typ := range []string{domain.EventListingPaid, domain.EventJobPublished, domain.EventListingPaymentFailed} {
		if n := w.countEvents(t, typ, job.ID); n != 0 {
			t.Errorf("%d %s events written by a command that failed", n, typ)
		}
	}
	// Once the stream is quiet, the redelivery applies.
	if _, err := w.ConfirmPayment.Handle(ctx, commands.ConfirmListingPayment{Caller: stripeCaller, JobID: job.ID, PaymentID: pay.PaymentID, Amount: 4900, Currency: "eur"}); err != nil {
		t.Fatal(err)
	}
	if n := w.countEvents(t, domain.EventJobPublished, job.ID); n != 1 {
		t.Fatalf("%d publications after the redelivery, want 1", n)
	}
}
