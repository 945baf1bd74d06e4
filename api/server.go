// Package api is the HTTP adapter: routes, authentication, problem+json errors, health and
// metrics. It answers queries from the read models only, never from the event store.
package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
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
}

func (c *ServerConfig) setDefaults() {
	if c.CheckTimeout == 0 {
		c.CheckTimeout = 2 * time.Second
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
	return errors.Join(errs...)
}

// Server is the HTTP handler of jobboard.
type Server struct {
	cfg    ServerConfig
	log    *slog.Logger
	router *mux.Router
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
	s := &Server{cfg: cfg, log: log, router: mux.NewRouter()}
	s.router.Use(metrics.middleware)
	s.router.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, Problem{Type: problemTypeBase + "not-found", Title: "Not found", Status: http.StatusNotFound, Detail: "no route " + r.URL.Path})
	})
	s.router.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, Problem{Type: problemTypeBase + "method-not-allowed", Title: "Method not allowed", Status: http.StatusMethodNotAllowed, Detail: r.Method + " is not allowed on " + r.URL.Path})
	})
	s.registerHealthRoutes()
	s.registerMetricsRoute(cfg.Gatherer)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }
