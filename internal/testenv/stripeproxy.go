package testenv

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// StripeCall is one request that went through a StripeProxy.
type StripeCall struct {
	Method string
	Path   string
	// IdempotencyKey is the request's Idempotency-Key header.
	IdempotencyKey string
	Form           url.Values
}

// StripeProxy forwards to stripe-mock and remembers every request, so a test sees what
// reached "Stripe": which calls, with which idempotency keys and forms. stripe-mock itself
// is stateless (it neither replays idempotency keys nor remembers intents), so tests assert
// on the calls.
type StripeProxy struct {
	// URL is the proxy's base URL, to configure as the Stripe API base.
	URL      string
	mu       sync.Mutex
	calls    []StripeCall
	upstream *httputil.ReverseProxy
}

// NewStripeProxy starts a proxy in front of the local stack's stripe-mock, closed at the
// end of the test.
func NewStripeProxy(tb testing.TB) *StripeProxy {
	tb.Helper()
	base, err := url.Parse(StripeAPIBase(tb))
	if err != nil {
		tb.Fatal(err)
	}
	p := &StripeProxy{upstream: httputil.NewSingleHostReverseProxy(base)}
	srv := httptest.NewServer(p)
	tb.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// ServeHTTP records the request and forwards it.
func (p *StripeProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := StripeCall{Method: r.Method, Path: r.URL.Path, IdempotencyKey: r.Header.Get("Idempotency-Key")}
	if err := r.ParseForm(); err == nil {
		call.Form = r.PostForm
		enc := r.PostForm.Encode()
		r.Body = http.NoBody
		if enc != "" {
			r.Body = readCloser{strings.NewReader(enc)}
		}
		r.ContentLength = int64(len(enc))
	}
	p.mu.Lock()
	p.calls = append(p.calls, call)
	p.mu.Unlock()
	p.upstream.ServeHTTP(w, r)
}

// Calls returns the recorded calls whose method is method and whose path matches path
// ("*" in path matches one path segment, e.g. "/v1/payment_intents/*/cancel").
func (p *StripeProxy) Calls(method, path string) []StripeCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []StripeCall
	for _, c := range p.calls {
		if c.Method == method && segmentsMatch(strings.Split(path, "/"), strings.Split(c.Path, "/")) {
			out = append(out, c)
		}
	}
	return out
}

func segmentsMatch(pattern, path []string) bool {
	if len(pattern) != len(path) {
		return false
	}
	for i := range pattern {
		if pattern[i] != "*" && pattern[i] != path[i] {
			return false
		}
	}
	return true
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }
