package payments_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/payments"
)

func newGateway(t *testing.T, base string) *payments.StripeGateway {
	t.Helper()
	return newGatewayWithKey(t, base, "sk_test_123")
}

func newGatewayWithKey(t *testing.T, base, key string) *payments.StripeGateway {
	t.Helper()
	g, err := payments.NewStripeGateway(payments.StripeConfig{SecretKey: key, APIBase: base, MaxNetworkRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestStripeGatewayCreatesPaymentIntents(t *testing.T) {
	t.Parallel()
	proxy := testenv.NewStripeProxy(t)
	g := newGateway(t, proxy.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := commands.PaymentIntentRequest{
		Amount: 4900, Currency: "EUR", IdempotencyKey: "jobboard-listing-payment-p1",
		Metadata: map[string]string{"job_id": "j1", "payment_id": "p1"}, Description: "a listing",
	}
	pi, err := g.CreatePaymentIntent(ctx, req)
	if err != nil {
		t.Fatalf("CreatePaymentIntent: %v", err)
	}
	if !strings.HasPrefix(pi.ID, "pi_") || pi.ClientSecret == "" || pi.Amount != 4900 || pi.Currency != "EUR" {
		t.Fatalf("intent = %+v", pi)
	}
	calls := proxy.Calls("POST", "/v1/payment_intents")
	if len(calls) != 1 || calls[0].IdempotencyKey != "jobboard-listing-payment-p1" {
		t.Fatalf("calls = %+v", calls)
	}
	f := calls[0].Form
	if f.Get("amount") != "4900" || f.Get("currency") != "eur" || f.Get("metadata[job_id]") != "j1" || f.Get("metadata[payment_id]") != "p1" {
		t.Errorf("form sent = %v", f)
	}
}

func TestStripeGatewayReadsCancelsAndRefunds(t *testing.T) {
	t.Parallel()
	proxy := testenv.NewStripeProxy(t)
	g := newGateway(t, proxy.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	t.Run("reads an intent back, with its client secret", func(t *testing.T) {
		pi, err := g.PaymentIntent(ctx, "pi_read1")
		if err != nil || pi.ID != "pi_read1" || pi.ClientSecret == "" {
			t.Fatalf("PaymentIntent = %+v, %v", pi, err)
		}
		if n := len(proxy.Calls("GET", "/v1/payment_intents/pi_read1")); n != 1 {
			t.Fatalf("%d reads reached stripe-mock, want 1", n)
		}
	})
	t.Run("cancels an intent as abandoned", func(t *testing.T) {
		if err := g.CancelPaymentIntent(ctx, "pi_cancel1"); err != nil {
			t.Fatalf("CancelPaymentIntent: %v", err)
		}
		calls := proxy.Calls("POST", "/v1/payment_intents/pi_cancel1/cancel")
		if len(calls) != 1 || calls[0].Form.Get("cancellation_reason") != "abandoned" {
			t.Fatalf("cancel calls = %+v", calls)
		}
	})
	t.Run("refunds an intent with the caller's idempotency key", func(t *testing.T) {
		r, err := g.RefundPayment(ctx, commands.RefundRequest{
			PaymentIntentID: "pi_refund1", IdempotencyKey: "jobboard-listing-refund-p1",
			Metadata: map[string]string{"payment_id": "p1"},
		})
		if err != nil || !strings.HasPrefix(r.ID, "re_") {
			t.Fatalf("RefundPayment = %+v, %v", r, err)
		}
		calls := proxy.Calls("POST", "/v1/refunds")
		if len(calls) != 1 || calls[0].IdempotencyKey != "jobboard-listing-refund-p1" ||
			calls[0].Form.Get("payment_intent") != "pi_refund1" || calls[0].Form.Get("metadata[payment_id]") != "p1" {
			t.Fatalf("refund calls = %+v", calls)
		}
	})
}

func TestStripeGatewayMapsErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("a request Stripe refuses is internal", func(t *testing.T) {
		t.Parallel()
		g := newGatewayWithKey(t, testenv.StripeAPIBase(t), "not-a-stripe-key")
		_, err := g.CreatePaymentIntent(ctx, commands.PaymentIntentRequest{Amount: 4900, Currency: "eur"})
		if apperr.CodeOf(err) != apperr.Internal {
			t.Fatalf("error = %v (code %s), want internal", err, apperr.CodeOf(err))
		}
	})
	t.Run("an unreachable Stripe is unavailable", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		g := newGateway(t, "http://"+addr)
		_, err = g.CreatePaymentIntent(ctx, commands.PaymentIntentRequest{Amount: 4900, Currency: "eur"})
		if apperr.CodeOf(err) != apperr.Unavailable {
			t.Fatalf("error = %v (code %s), want unavailable", err, apperr.CodeOf(err))
		}
	})
}

func TestStripeConfigValidate(t *testing.T) {
	t.Parallel()
	if _, err := payments.NewStripeGateway(payments.StripeConfig{}); err == nil {
		t.Error("no secret key accepted")
	}
	if _, err := payments.NewStripeGateway(payments.StripeConfig{SecretKey: "sk", APIBase: "ftp://x"}); err == nil {
		t.Error("ftp base accepted")
	}
}
