// Package api is the HTTP adapter: routes, authentication, problem+json errors, idempotency,
// rate limits, the Stripe webhook, health and metrics. Commands go through the Commands port
// (implemented on top of commands/ by internal/app); queries are answered from the read
// models only. The raw history (GET /v1/admin/events) is the one read of the event store,
// for operators; projection status, rebuilds and a stream as of a time go through the
// Admin port. It must not import commands/, readmodels/ or projections/: internal/app
// wires them in.
package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jobboard/jobboard/internal/consistency"
)

// ServerConfig configures the HTTP API.
type ServerConfig struct {
	// Checks are the dependencies /readyz reports on, by name ("postgres", "kafka", …).
	Checks map[string]Check
	// CheckTimeout bounds each readiness check. Default 2 s.
	CheckTimeout time.Duration
	// Registry receives the HTTP metrics; Gatherer is served at /metrics.
	Registry prometheus.Registerer
	// Gatherer is what /metrics exposes.
	Gatherer prometheus.Gatherer

	// Commands runs the use cases of the command routes. Without it the command, webhook
	// and admin routes are not registered (a health-only server).
	Commands Commands
	// Credentials resolves employer and candidate bearer tokens. Required with Commands.
	Credentials Credentials
	// Events is the raw history for GET /v1/admin/events. Required with Commands.
	Events EventReader
	// Idempotency keeps the answers of POSTs sent with an Idempotency-Key. Required with
	// Commands.
	Idempotency *IdempotencyStore
	// OperatorToken is the bearer token of the operator named SharedOperatorName (≥ 16
	// characters). It or Operators is required with Commands.
	OperatorToken string
	// Operators are the operators with a token of their own (names unique, tokens distinct;
	// internal/app's configuration checks them).
	Operators []Operator
	// StripeWebhookSecret verifies the signatures of POST /v1/stripe/webhook. Required with
	// Commands.
	StripeWebhookSecret string
	// StripeWebhookTolerance is how old a signed webhook may be. Default 5 min (stripe-go's).
	StripeWebhookTolerance time.Duration
	// RegistrationRateLimit limits POST /v1/companies and POST /v1/candidates per client IP.
	RegistrationRateLimit RateLimit
	// ApplicationRateLimit limits POST /v1/jobs/{id}/applications per client IP.
	ApplicationRateLimit RateLimit
	// SearchRateLimit limits GET /v1/jobs per client IP (an IPv6 client by its /64).
	SearchRateLimit RateLimit
	// EmployerRateLimit limits the employer's job and payment commands (POST /v1/jobs,
	// PATCH /v1/jobs/{id}, POST /v1/jobs/{id}/payments, POST /v1/jobs/{id}/close) per
	// authenticated principal, from whatever addresses they come.
	EmployerRateLimit RateLimit
	// TrustForwardedFor keys rate limits by the last X-Forwarded-For address, for a server
	// behind one trusted reverse proxy. Off, the TCP peer address is used.
	TrustForwardedFor bool
	// Now is the clock of rate limits. Default time.Now.
	Now func() time.Time

	// SigningKey is the HMAC key of the values the server hands out and must get back
	// unchanged (consistency tokens, cursors). At least 32 bytes; required with Commands
	// or Queries (commands answer consistency tokens, queries verify them).
	SigningKey []byte

	// Queries answers the query routes from the read models. Without it they are not
	// registered. Requires Credentials (a token identifies owners).
	Queries Queries
	// ConsistencyTimeout bounds how long a query waits for the positions of its
	// X-Consistency-Token headers to be projected before it answers 504. Default 5 s.
	ConsistencyTimeout time.Duration

	// Admin serves the operator routes of projections (status, rebuilds) and of a stream as
	// of a time. Without it they are not registered. Requires Credentials and an operator
	// (another account's token must be told 403, not 401).
	Admin Admin
}

func (c *ServerConfig) setDefaults() {
	if c.CheckTimeout == 0 {
		c.CheckTimeout = 2 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ConsistencyTimeout == 0 {
		c.ConsistencyTimeout = DefaultConsistencyTimeout
	}
}

// Validate reports every problem of the configuration.
func (c ServerConfig) Validate() error {
	var errs []error
	if c.Registry == nil {
		errs = append(errs, errors.New("api: Registry is required"))
	}
	if c.Gatherer == nil {
		errs = append(errs, errors.New("api: Gatherer is required"))
	}
	if c.CheckTimeout < 0 {
		errs = append(errs, errors.New("api: CheckTimeout must not be negative"))
	}
	if c.Commands != nil {
		if c.Credentials == nil {
			errs = append(errs, errors.New("api: Credentials is required with Commands"))
		}
		if c.Events == nil {
			errs = append(errs, errors.New("api: Events is required with Commands"))
		}
		if c.Idempotency == nil {
			errs = append(errs, errors.New("api: Idempotency is required with Commands"))
		}
		if !c.hasOperators() {
			errs = append(errs, errors.New("api: OperatorToken must be at least 16 characters (or Operators set)"))
		}
		if c.StripeWebhookSecret == "" {
			errs = append(errs, errors.New("api: StripeWebhookSecret is required with Commands"))
		}
	}
	if (c.Commands != nil || c.Queries != nil) && len(c.SigningKey) < consistency.MinKeyLen {
		errs = append(errs, fmt.Errorf("api: SigningKey must be at least %d bytes with Commands or Queries", consistency.MinKeyLen))
	}
	if c.Queries != nil && c.Credentials == nil {
		errs = append(errs, errors.New("api: Credentials is required with Queries"))
	}
	if c.Admin != nil {
		if c.Credentials == nil {
			errs = append(errs, errors.New("api: Credentials is required with Admin"))
		}
		if !c.hasOperators() {
			errs = append(errs, errors.New("api: OperatorToken must be at least 16 characters (or Operators set) with Admin"))
		}
	}
	if c.ConsistencyTimeout < 0 {
		errs = append(errs, errors.New("api: ConsistencyTimeout must not be negative"))
	}
	if err := c.RegistrationRateLimit.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("api: RegistrationRateLimit: %w", err))
	}
	if err := c.ApplicationRateLimit.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("api: ApplicationRateLimit: %w", err))
	}
	if err := c.SearchRateLimit.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("api: SearchRateLimit: %w", err))
	}
	if err := c.EmployerRateLimit.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("api: EmployerRateLimit: %w", err))
	}
	if c.Queries != nil && len(c.SigningKey) < 32 {
		errs = append(errs, errors.New("api: SigningKey of at least 32 bytes is required with Queries (it signs cursors)"))
	}
	return errors.Join(errs...)
}

// Server is the HTTP handler of jobboard.
type Server struct {
	cfg    ServerConfig
	log    *slog.Logger
	router *mux.Router

	registrationLimiter *ipLimiter
	applicationLimiter  *ipLimiter
	searchLimiter       *ipLimiter
	employerLimiter     *ipLimiter
	// tokens signs the consistency tokens of command answers and verifies those of queries:
	// the one place that encodes them and the one that reads them.
	tokens *consistency.Signer
}

// NewServer builds the routes.
func NewServer(cfg ServerConfig, log *slog.Logger) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		return nil, errors.New("api: nil logger")
	}
	metrics, err := newHTTPMetrics(cfg.Registry)
	if err != nil {
		return nil, fmt.Errorf("api: register metrics: %w", err)
	}
	s := &Server{
		cfg: cfg, log: log, router: mux.NewRouter(),
		registrationLimiter: newIPLimiter(cfg.RegistrationRateLimit, cfg.TrustForwardedFor, cfg.Now),
		applicationLimiter:  newIPLimiter(cfg.ApplicationRateLimit, cfg.TrustForwardedFor, cfg.Now),
		searchLimiter:       newIPLimiter(cfg.SearchRateLimit, cfg.TrustForwardedFor, cfg.Now),
		employerLimiter:     newIPLimiter(cfg.EmployerRateLimit, cfg.TrustForwardedFor, cfg.Now),
	}
	if cfg.Commands != nil || cfg.Queries != nil {
		if s.tokens, err = consistency.NewSigner(cfg.SigningKey); err != nil {
			return nil, fmt.Errorf("api: %w", err)
		}
	}
	// Middleware of every matched route, outermost first. gorilla/mux does not run them for
	// the not-found and method-not-allowed handlers, which are wrapped by hand below.
	common := []mux.MiddlewareFunc{requestID, s.recoverer, s.accessLog, metrics.middleware}
	s.router.Use(common...)
	methodNotAllowed := func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, Problem{Type: problemTypeBase + "method-not-allowed", Title: "Method not allowed", Status: http.StatusMethodNotAllowed, Detail: r.Method + " is not allowed on " + r.URL.Path, Instance: requestIDFrom(r.Context())})
	}
	s.router.NotFoundHandler = chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// gorilla/mux reports a method mismatch inside a route group as "not found"; look
		// for the path under the other methods to answer 405 with Allow instead.
		if allow := s.allowedMethods(r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			methodNotAllowed(w, r)
			return
		}
		writeProblem(w, Problem{Type: problemTypeBase + "not-found", Title: "Not found", Status: http.StatusNotFound, Detail: "no route " + r.URL.Path, Instance: requestIDFrom(r.Context())})
	}), requestID, s.accessLog)
	// A 405 names the methods the path takes (RFC 9110 requires Allow), whichever of the two
	// handlers gorilla/mux picks for the mismatch.
	s.router.MethodNotAllowedHandler = chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", strings.Join(s.allowedMethods(r), ", "))
		methodNotAllowed(w, r)
	}), requestID, s.accessLog)

	s.registerHealthRoutes()
	s.registerMetricsRoute(cfg.Gatherer)
	v1 := s.router.PathPrefix("/v1").Subrouter()
	s.registerDocsRoutes(v1)
	if cfg.Commands != nil {
		s.registerAccountRoutes(v1)
		s.registerJobRoutes(v1)
		s.registerApplicationRoutes(v1)
		s.registerStripeRoutes(v1)
		s.registerAdminRoutes(v1)
		s.registerTokenRoutes(v1)
	}
	if cfg.Queries != nil {
		s.registerQueryRoutes(v1)
	}
	if cfg.Admin != nil {
		s.registerOperatorRoutes(v1)
	}
	return s, nil
}

// Router exposes the routes, so other route groups (the query API) can be added and tests
// can walk them.
func (s *Server) Router() *mux.Router { return s.router }

// allowedMethods lists the methods a route of r's path accepts.
func (s *Server) allowedMethods(r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		var match mux.RouteMatch
		if s.router.Match(probe, &match) && match.MatchErr == nil && match.Route != nil {
			allow = append(allow, m)
		}
	}
	return allow
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// chain wraps h in middleware, the first outermost.
func chain(h http.Handler, mw ...mux.MiddlewareFunc) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// group is a set of routes sharing middleware.
func group(parent *mux.Router, mw ...mux.MiddlewareFunc) *mux.Router {
	g := parent.NewRoute().Subrouter()
	g.Use(mw...)
	return g
}

// commandMeta is the metadata of the command a request runs.
func commandMeta(r *http.Request) CommandMeta {
	return CommandMeta{
		Principal:      principalFrom(r.Context()),
		CorrelationID:  requestIDFrom(r.Context()),
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
	}
}
