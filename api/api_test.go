package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/internal/apperr"
)

// fixed is a handler that answers every command or query with r.
func fixed[Q, R any](r R) application.Handler[Q, R] {
	return application.HandlerFunc[Q, R](func(context.Context, Q) (R, error) { return r, nil })
}

// fakeCommands answers every command with a fixed result.
func fakeCommands() *application.Commands {
	return &application.Commands{
		RegisterCompany:         fixed[commands.RegisterCompany](commands.RegistrationResult{Result: commands.Result{ID: "c1", Version: 1}, Token: "tok"}),
		RegisterCandidate:       fixed[commands.RegisterCandidate](commands.RegistrationResult{Result: commands.Result{ID: "k1", Version: 1}, Token: "tok"}),
		PostJob:                 fixed[commands.PostJob](commands.Result{ID: "j1", Version: 1}),
		UpdateJob:               fixed[commands.UpdateJob](commands.Result{ID: "j1", Version: 2}),
		PayForListing:           fixed[commands.PayForListing](commands.PaymentResult{}),
		CloseJob:                fixed[commands.CloseJob](commands.Result{}),
		Apply:                   fixed[commands.Apply](commands.Result{}),
		WithdrawApplication:     fixed[commands.WithdrawApplication](commands.Result{}),
		ChangeApplicationStatus: fixed[commands.ChangeApplicationStatus](commands.Result{}),
		ConfirmListingPayment:   fixed[commands.ConfirmListingPayment](commands.Result{}),
		FailListingPayment:      fixed[commands.FailListingPayment](commands.Result{}),
		RotateToken:             fixed[commands.RotateToken](commands.RotatedToken{Token: "new-tok"}),
		CreateAlert:             fixed[commands.CreateAlert](commands.Result{ID: testAlert.ID, Version: 1}),
		DeleteAlert:             fixed[commands.DeleteAlert](commands.Result{ID: testAlert.ID, Version: 2}),
		SetEmailPreferences:     fixed[commands.SetEmailPreferences](commands.Result{ID: "k1", Version: 3}),
	}
}

// tokensOf resolves bearer tokens with authenticate. Describe knows no stored token: the
// API tests run without a database.
func tokensOf(authenticate func(token string) (Principal, error)) *application.Tokens {
	return &application.Tokens{
		Authenticate: application.HandlerFunc[application.Authenticate, commands.Actor](func(_ context.Context, q application.Authenticate) (commands.Actor, error) {
			p, err := authenticate(q.Token)
			return commands.Actor{Role: commands.Role(p.Role), ID: p.ID}, err
		}),
		Describe: application.HandlerFunc[application.DescribeToken, application.TokenInfo](func(context.Context, application.DescribeToken) (application.TokenInfo, error) {
			return application.TokenInfo{}, apperr.New(apperr.Unauthorized, "unknown bearer token")
		}),
	}
}

// fakeCredentials knows an employer and a candidate.
func fakeCredentials(token string) (Principal, error) {
	switch token {
	case "employer":
		return Principal{Role: RoleEmployer, ID: "c1"}, nil
	case "candidate":
		return Principal{Role: RoleCandidate, ID: "k1"}, nil
	}
	return Principal{}, apperr.New(apperr.Unauthorized, "unknown bearer token")
}

// noIdempotency is an Idempotency-Key store that is never reached: the tests that use the
// default server send no Idempotency-Key.
type noIdempotency struct{}

func (noIdempotency) Claim(context.Context, application.IdempotentRequest) (application.StoredAnswer, bool, error) {
	return application.StoredAnswer{}, false, errors.New("no idempotency store in the API tests")
}
func (noIdempotency) Finish(context.Context, application.IdempotentRequest, application.StoredAnswer) error {
	return nil
}
func (noIdempotency) Release(context.Context, application.IdempotentRequest) error { return nil }

// testSigningKey signs the consistency tokens of test servers.
const testSigningKey = "signing-key-for-api-tests-0123456789"

// newTestServer is a server with fake ports and no idempotency store.
func newTestServer(t *testing.T, mutate func(*ServerConfig)) *Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg := ServerConfig{
		Registry: reg, Gatherer: reg,
		App: application.Application{
			Commands: fakeCommands(), Tokens: tokensOf(fakeCredentials), Queries: (&fakeQueries{}).queries(),
			Idempotency: noIdempotency{},
		},
		OperatorToken: "operator-token-for-tests", StripeWebhookSecret: "whsec_test", SigningKey: []byte(testSigningKey),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := NewServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTheOpenAPIDocumentDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	s := newTestServer(t, nil)
	n := 0
	err := s.Router().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil // a group: its routes are walked one by one
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil
		}
		for _, m := range methods {
			n++
			if _, ok := doc.Paths[tpl][strings.ToLower(m)]; !ok {
				t.Errorf("%s %s is not in openapi.json", m, tpl)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 15 {
		t.Fatalf("walked only %d routes", n)
	}
}

func TestTheOpenAPIDocumentIsServed(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	newTestServer(t, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/v1/openapi.json", nil))
	if rec.Code != 200 || !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("GET /v1/openapi.json = %d", rec.Code)
	}
}

func TestRateLimitsAnswer429WithRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newTestServer(t, func(c *ServerConfig) {
		c.RegistrationRateLimit = RateLimit{PerMinute: 6, Burst: 2}
		c.Now = func() time.Time { return now }
	})
	register := func(ip string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v1/candidates", strings.NewReader(`{"name":"Ada","email":"ada@example.com"}`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = ip + ":1234"
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	for i := range 2 {
		if rec := register("10.0.0.1"); rec.Code != 201 {
			t.Fatalf("request %d within the burst = %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := register("10.0.0.1")
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "10" || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("over the limit = %d, Retry-After %q, %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if rec := register("10.0.0.2"); rec.Code != 201 {
		t.Fatalf("another client = %d", rec.Code)
	}
	now = now.Add(10 * time.Second)
	if rec := register("10.0.0.1"); rec.Code != 201 {
		t.Fatalf("after Retry-After = %d", rec.Code)
	}
}

func TestClientIPTrustsXForwardedForOnlyWhenConfigured(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "10.0.0.9:555"
	req.Header.Set("X-Forwarded-For", "1.1.1.1, 2.2.2.2")
	if got := clientIP(req, false); got != "10.0.0.9" {
		t.Errorf("untrusted = %s", got)
	}
	if got := clientIP(req, true); got != "2.2.2.2" {
		t.Errorf("trusted = %s, want the address the proxy appended", got)
	}
}

func TestEveryErrorCodeHasItsStatus(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	want := map[apperr.Code]int{
		apperr.Invalid: 400, apperr.Unauthorized: 401, apperr.Forbidden: 403, apperr.NotFound: 404, apperr.Conflict: 409,
		apperr.VersionMismatch: 409, apperr.Unprocessable: 422, apperr.TooLarge: 413, apperr.RateLimited: 429,
		apperr.Timeout: 504, apperr.Unavailable: 503, apperr.Internal: 500,
	}
	for code, status := range want {
		rec := httptest.NewRecorder()
		s.writeError(rec, httptest.NewRequest("GET", "/", nil), apperr.Wrap(code, io.ErrUnexpectedEOF, "secret detail"))
		if rec.Code != status {
			t.Errorf("%s = %d, want %d", code, rec.Code, status)
		}
		if code == apperr.Internal && strings.Contains(rec.Body.String(), "secret") {
			t.Errorf("an internal error shows its detail: %s", rec.Body)
		}
	}
}

func TestRequestIDIsEchoed(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/healthz", nil)
	req.Header.Set("X-Request-ID", "abc-123")
	s.ServeHTTP(rec, req)
	if rec.Header().Get("X-Request-ID") != "abc-123" {
		t.Fatalf("X-Request-ID = %q", rec.Header().Get("X-Request-ID"))
	}
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/nope", nil))
	if rec.Code != 404 || rec.Header().Get("X-Request-ID") == "" {
		t.Fatalf("unknown route: %d, X-Request-ID %q", rec.Code, rec.Header().Get("X-Request-ID"))
	}
}

func TestMethodNotAllowedIsAProblem(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	newTestServer(t, nil).ServeHTTP(rec, httptest.NewRequest("DELETE", "/v1/jobs/x", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("= %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	// A method no route uses is routed by gorilla/mux to its own 405 handler: it too names
	// the methods the path takes.
	rec = httptest.NewRecorder()
	newTestServer(t, nil).ServeHTTP(rec, httptest.NewRequest("TRACE", "/healthz", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Fatalf("TRACE /healthz = %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

// If-Match takes exactly the forms the OpenAPI document's pattern states (schemathesis
// checks that the two agree): the version, or the ETag this API sends.
func TestIfMatchTakesTheVersionOrItsETagOnly(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]int64{"": 0, "3": 3, `"3"`: 3, `W/"42"`: 42, "999999999999999999": 999999999999999999} {
		r := httptest.NewRequest("PATCH", "/", nil)
		r.Header.Set("If-Match", h)
		if v, err := ifMatch(r); err != nil || v != want {
			t.Errorf("If-Match %q = %d, %v; want %d", h, v, err, want)
		}
	}
	for _, h := range []string{"0", "-1", "+3", "03", `""3""`, `"3`, `W/3`, "*", "soon", "1000000000000000000"} {
		r := httptest.NewRequest("PATCH", "/", nil)
		r.Header.Set("If-Match", h)
		if v, err := ifMatch(r); err == nil {
			t.Errorf("If-Match %q = %d, want an error", h, v)
		}
	}
}

// A number JSON Schema counts as an integer (2864.0, 2.864e3) decodes into an integer field;
// one with a fraction stays refused, naming the field.
func TestIntegralNumbersDecodeAsIntegers(t *testing.T) {
	t.Parallel()
	var dst struct {
		Salary struct{ Min, Max int64 } `json:"salary"`
	}
	if err := decodeJSON([]byte(`{"salary":{"Min":2864.0,"Max":2.864e3}}`), &dst); err != nil || dst.Salary.Min != 2864 || dst.Salary.Max != 2864 {
		t.Fatalf("= %+v, %v", dst, err)
	}
	err := decodeJSON([]byte(`{"salary":{"Min":2864.5}}`), &dst)
	ae, _ := err.(*apperr.Error)
	if ae == nil || len(ae.Fields) != 1 || ae.Fields[0].Field != "salary.Min" {
		t.Fatalf("2864.5: %v", err)
	}
}

// A JSON null is a wrong type wherever it is, and the problem names where.
func TestNullIsRefusedNamingWhere(t *testing.T) {
	t.Parallel()
	var dst struct {
		Salary struct{ Min int64 } `json:"salary"`
		Tags   []string            `json:"tags"`
		Name   string              `json:"name"`
	}
	for body, field := range map[string]string{
		`null`: "body", `{"name":null}`: "name", `{"salary":{"Min":null}}`: "salary.Min", `{"tags":["a",null]}`: "tags[1]",
		`{"name":"null","tags":[],"salary":{"Min":null}}`: "salary.Min",
	} {
		ae, _ := decodeJSON([]byte(body), &dst).(*apperr.Error)
		if ae == nil || len(ae.Fields) != 1 || ae.Fields[0].Field != field {
			t.Errorf("%s: %v, want a problem naming %s", body, ae, field)
		}
	}
	if err := decodeJSON([]byte(`{"name":"null"}`), &dst); err != nil {
		t.Errorf("the string \"null\": %v", err)
	}
}
