// Package web is the browser front door: server-rendered pages (html/template, embedded)
// for candidates and employers, served by the same process and HTTP server as the JSON API.
// Like api/ it is thin: every page parses its input, calls a handler of an
// application.Application and renders the result from view structs built here. It reads
// only the projections (Queries), holds no storage of its own, and imports neither the event
// store nor a database driver. Pages work without JavaScript; forms are protected against
// cross-site requests (net/http.CrossOriginProtection, docs/adr) and sessions are signed,
// HttpOnly, SameSite cookies.
package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/internal/consistency"
)

// Config configures the web pages.
type Config struct {
	// App is what the pages call: Commands, Queries and Tokens are required.
	App application.Application
	// SigningKey signs session cookies, sign-in links, cursors and consistency tokens (the
	// API's SIGNING_KEY: a consistency token of either front door is good for the other).
	// At least 32 bytes.
	SigningKey []byte
	// BaseURL is the site's public address (PUBLIC_BASE_URL, no trailing slash): the start of
	// canonical links, the sitemap and JSON-LD. Empty: the request's host.
	BaseURL string
	// SecureCookies marks the session cookie Secure. Requests that arrive over TLS get
	// Secure cookies whatever this says; set it behind a TLS-terminating proxy (internal/app
	// sets it when BaseURL is https).
	SecureCookies bool
	// SessionTTL is how long a session lasts after sign-in. Default 14 days.
	SessionTTL time.Duration
	// SignInLinkTTL is how long an e-mailed sign-in link can be used. Default 15 minutes.
	SignInLinkTTL time.Duration
	// ConsistencyTimeout bounds how long a page waits for the projection to show the
	// caller's own last write (read-your-writes). Default 5 s.
	ConsistencyTimeout time.Duration
	// TestPayments, when set (DEV_MODE only), offers the test-mode payment page: it pays a
	// listing at stripe-mock and delivers the signed webhook. Nil: no such page.
	TestPayments TestPayments
	// AccountRateLimit limits, per client address, the forms that register an account or
	// e-mail a sign-in link (POST /signup, POST /signin): each sends an e-mail.
	AccountRateLimit RateLimit
	// TrustForwardedFor keys rate limits by the last X-Forwarded-For address (one trusted
	// proxy in front).
	TrustForwardedFor bool
	// Operators may sign in to the operators' pages (operator.go) with their tokens; the
	// pages exist when App.Admin is set and there is at least one.
	Operators []Operator
	// Now is the clock of sessions, links and rate limits. Default time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.SessionTTL == 0 {
		c.SessionTTL = 14 * 24 * time.Hour
	}
	if c.SignInLinkTTL == 0 {
		c.SignInLinkTTL = 15 * time.Minute
	}
	if c.ConsistencyTimeout == 0 {
		c.ConsistencyTimeout = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports every problem of the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.App.Commands == nil || c.App.Queries == nil || c.App.Tokens == nil {
		errs = append(errs, errors.New("web: App.Commands, App.Queries and App.Tokens are required"))
	}
	if len(c.SigningKey) < consistency.MinKeyLen {
		errs = append(errs, fmt.Errorf("web: SigningKey must be at least %d bytes", consistency.MinKeyLen))
	}
	if c.SessionTTL < 0 || c.SignInLinkTTL < 0 || c.ConsistencyTimeout < 0 {
		errs = append(errs, errors.New("web: durations must not be negative"))
	}
	if l := c.AccountRateLimit; l.PerMinute < 0 || (l.PerMinute > 0 && l.Burst < 1) {
		errs = append(errs, errors.New("web: AccountRateLimit: want PerMinute ≥ 0 and, when set, Burst ≥ 1"))
	}
	return errors.Join(errs...)
}

// Server serves the pages.
type Server struct {
	cfg    Config
	log    *slog.Logger
	app    application.Application
	router *mux.Router
	// tokens reads the consistency tokens commands answer and signs those of this front
	// door's own redirects.
	tokens *consistency.Signer
	pages  *pages
	// handler is the router behind the cross-origin protection.
	handler http.Handler
	sitemap sitemapCache
	// accounts limits the forms that send e-mails.
	accounts *limiter
}

// NewServer builds the routes.
func NewServer(cfg Config, log *slog.Logger) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		return nil, errors.New("web: nil logger")
	}
	tokens, err := consistency.NewSigner(cfg.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, app: cfg.App, router: mux.NewRouter(), tokens: tokens, pages: p,
		accounts: newLimiter(cfg.AccountRateLimit, cfg.TrustForwardedFor, cfg.Now)}
	s.router.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.notFound(w, r)
	})
	s.router.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This page does not take "+r.Method+" requests.")
	})
	s.router.Use(s.recoverer, s.securityHeaders, s.loadSession)
	s.registerStaticRoutes()
	s.registerPublicRoutes()
	s.registerAccountRoutes()
	s.registerCandidateRoutes()
	s.registerAlertRoutes()
	s.registerEmployerRoutes()
	s.registerOperatorRoutes()
	// Every unsafe request (POST) must come from our own pages: browsers say where a request
	// comes from (Sec-Fetch-Site, Origin), and a cross-site form post is refused with 403.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusForbidden, "Request refused", "This form was sent from another site. Go back to the page and send it again.")
	}))
	s.handler = cop.Handler(s.router)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Router exposes the routes, so tests can walk them.
func (s *Server) Router() *mux.Router { return s.router }

// recoverer answers our own 500 page for a panic, and logs it.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("web: panic", "path", r.URL.Path, "panic", v)
				s.renderError(w, r, http.StatusInternalServerError, "Something went wrong", "We could not show this page. Please try again in a moment.")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders: no framing, no sniffing, no referrer beyond our origin. Pages carry no
// inline script except JSON-LD data, so the content security policy is strict.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		next.ServeHTTP(w, r)
	})
}
