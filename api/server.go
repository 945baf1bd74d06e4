// Package api is the HTTP front door: routes, authentication, problem+json errors,
// Idempotency-Key, rate limits, the Stripe webhook, health and metrics. Everything else is
// the application layer's: every route calls a handler of an application.Application
// (s.app.Commands.PostJob.Handle(ctx, commands.PostJob{…})) with the commands/ and
// readmodels/ types themselves, whose JSON is the answer. api keeps only HTTP concerns; it
// imports neither the event store nor a database driver, and internal/app builds the
// Application it is given.
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

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/internal/consistency"
	"github.com/jobboard/jobboard/internal/unsubscribe"
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

	// App is what the routes call. Without App.Commands the command and webhook routes are
	// not registered (a health-only server); they need App.Tokens and App.Idempotency. The
	// query routes come with App.Queries (they need App.Tokens: a token identifies owners),
	// the operator routes with App.Admin (they need App.Tokens and an operator: another
	// account's token must be told 403, not 401).
	App application.Application
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

	// ConsistencyTimeout bounds how long a query waits for the positions of its
	// X-Consistency-Token headers to be projected before it answers 504. Default 5 s.
	ConsistencyTimeout time.Duration
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
	if c.App.Commands != nil {
		if c.App.Tokens == nil {
			errs = append(errs, errors.New("api: App.Tokens is required with App.Commands"))
		}
		if c.App.Idempotency == nil {
			errs = append(errs, errors.New("api: App.Idempotency is required with App.Commands"))
		}
		if !c.hasOperators() {
			errs = append(errs, errors.New("api: OperatorToken must be at least 16 characters (or Operators set)"))
		}
		if c.StripeWebhookSecret == "" {
			errs = append(errs, errors.New("api: StripeWebhookSecret is required with Commands"))
		}
	}
	if (c.App.Commands != nil || c.App.Queries != nil) && len(c.SigningKey) < consistency.MinKeyLen {
		errs = append(errs, fmt.Errorf("api: SigningKey must be at least %d bytes with Commands or Queries", consistency.MinKeyLen))
	}
	if c.App.Queries != nil && c.App.Tokens == nil {
		errs = append(errs, errors.New("api: App.Tokens is required with App.Queries"))
	}
	if c.App.Admin != nil {
		if c.App.Tokens == nil {
			errs = append(errs, errors.New("api: App.Tokens is required with App.Admin"))
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
	if c.App.Queries != nil && len(c.SigningKey) < 32 {
		errs = append(errs, errors.New("api: SigningKey of at least 32 bytes is required with Queries (it signs cursors)"))
	}
	return errors.Join(errs...)
}

// Server is the HTTP handler of jobboard.
type Server struct {
	cfg    ServerConfig
	log    *slog.Logger
	router *mux.Router
	// app is cfg.App: the handlers the routes call.
	app application.Application
	// idem keeps the answers of POSTs sent with an Idempotency-Key (nil: not offered).
	idem application.IdempotencyStore

	registrationLimiter *ipLimiter
	applicationLimiter  *ipLimiter
	searchLimiter       *ipLimiter
	employerLimiter     *ipLimiter
	// tokens signs the consistency tokens of command answers and verifies those of queries:
	// the one place that encodes them and the one that reads them.
	tokens *consistency.Signer
	// unsubscribe verifies the one-click unsubscribe links of e-mails (SigningKey).
	unsubscribe *unsubscribe.Signer
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
		cfg: cfg, log: log, router: mux.NewRouter(), app: cfg.App, idem: cfg.App.Idempotency,
		registrationLimiter: newIPLimiter(cfg.RegistrationRateLimit, cfg.TrustForwardedFor, cfg.Now),
		applicationLimiter:  newIPLimiter(cfg.ApplicationRateLimit, cfg.TrustForwardedFor, cfg.Now),
		searchLimiter:       newIPLimiter(cfg.SearchRateLimit, cfg.TrustForwardedFor, cfg.Now),
		employerLimiter:     newIPLimiter(cfg.EmployerRateLimit, cfg.TrustForwardedFor, cfg.Now),
	}
	if cfg.App.Commands != nil || cfg.App.Queries != nil {
		if s.tokens, err = consistency.NewSigner(cfg.SigningKey); err != nil {
			return nil, fmt.Errorf("api: %w", err)
		}
		if s.unsubscribe, err = unsubscribe.NewSigner(cfg.SigningKey); err != nil {
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
	if cfg.App.Commands != nil {
		s.registerAccountRoutes(v1)
		s.registerJobRoutes(v1)
		s.registerApplicationRoutes(v1)
		s.registerStripeRoutes(v1)
		s.registerTokenRoutes(v1)
		s.registerAlertRoutes(v1)
	}
	if cfg.App.Queries != nil {
		s.registerQueryRoutes(v1)
		s.registerAlertQueryRoutes(v1)
	}
	if cfg.App.Admin != nil {
		s.registerAdminRoutes(v1)
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

// caller is the context of the command a request runs: who asks (anonymous on public
// routes), the request id that ties its events together and the client's Idempotency-Key.
func caller(r *http.Request) commands.Caller {
	c := commands.Caller{CorrelationID: requestIDFrom(r.Context()), IdempotencyKey: r.Header.Get("Idempotency-Key")}
	if p := principalFrom(r.Context()); p.Role != "" {
		c.Actor = commands.Actor{Role: commands.Role(p.Role), ID: p.ID}
	} else {
		c.Actor = commands.Actor{Role: commands.RoleAnonymous}
	}
	return c
}
