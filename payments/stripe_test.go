package payments_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/payments"
)

// recordingProxy forwards to stripe-mock and remembers what was asked, so a test can see the
// idempotency key and form that reached Stripe.
type recordingProxy struct {
	mu       sync.Mutex
	keys     []string
	forms    []url.Values
	upstream *httputil.ReverseProxy
}

func (p *recordingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err == nil {
		p.mu.Lock()
		p.keys = append(p.keys, r.Header.Get("Idempotency-Key"))
		p.forms = append(p.forms, r.PostForm)
		p.mu.Unlock()
		enc := r.PostForm.Encode()
		r.Body = newBody(enc)
		r.ContentLength = int64(len(enc))
	}
	p.upstream.ServeHTTP(w, r)
}

type body struct{ *strings.Reader }

func (body) Close() error { return nil }

func newBody(s string) body { return body{strings.NewReader(s)} }

func newProxy(t *testing.T) (*recordingProxy, string) {
	t.Helper()
	base, err := url.Parse(testenv.StripeAPIBase(t))
	if err != nil {
		t.Fatal(err)
	}
	p := &recordingProxy{upstream: httputil.NewSingleHostReverseProxy(base)}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv.URL
}

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
	proxy, base := newProxy(t)
	g := newGateway(t, base)
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
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	if len(proxy.keys) != 1 || proxy.keys[0] != "jobboard-listing-payment-p1" {
		t.Errorf("idempotency keys sent = %q", proxy.keys)
	}
	f := proxy.forms[0]
	if f.Get("amount") != "4900" || f.Get("currency") != "eur" || f.Get("metadata[job_id]") != "j1" || f.Get("metadata[payment_id]") != "p1" {
		t.Errorf("form sent = %v", f)
	}
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
