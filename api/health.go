package api

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Check reports whether one dependency answers a real request.
type Check func(ctx context.Context) error

// CheckResult is the state of one dependency on /readyz, as operators see it (the error
// text can name hosts, users or internals, so the public answer carries Status only).
type CheckResult struct {
	Status    string  `json:"status"` // "up" or "down"
	Error     string  `json:"error,omitempty"`
	LatencyMS float64 `json:"latency_ms"`
}

// registerHealthRoutes adds /healthz (the process is alive) and /readyz (every dependency
// answers; 503 problem naming those that do not). /readyz answers the state of each engine
// ("engines": up or down) to everyone; the error text and latency of each check ("checks")
// only to a request with an operator's token.
func (s *Server) registerHealthRoutes() {
	s.router.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc("/readyz", s.handleReadyz).Methods(http.MethodGet, http.MethodHead)
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	results := s.runChecks(r.Context())
	engines := make(map[string]string, len(results))
	var down []string
	for name, res := range results {
		engines[name] = res.Status
		if res.Status != "up" {
			down = append(down, name)
		}
	}
	if !s.fromOperator(r) {
		results = nil
	}
	if len(down) == 0 {
		writeJSON(w, http.StatusOK, readiness{Status: "ready", Engines: engines, Checks: results})
		return
	}
	sort.Strings(down)
	writeProblem(w, Problem{
		Type:    problemTypeBase + "not-ready",
		Title:   "Not ready",
		Status:  http.StatusServiceUnavailable,
		Detail:  "unavailable: " + strings.Join(down, ", "),
		Engines: engines,
		Checks:  results,
	})
}

// fromOperator tells whether r carries an operator's token. Load balancers probe /readyz
// without one; an account's or a wrong token is not refused either, it gets the public
// answer (and costs no database lookup).
func (s *Server) fromOperator(r *http.Request) bool {
	token, ok := bearerToken(r)
	if !ok {
		return false
	}
	_, ok = s.operatorNamed(token)
	return ok
}

// readiness is the 200 answer of /readyz.
type readiness struct {
	Status string `json:"status"` // "ready"
	// Engines is "up" per dependency.
	Engines map[string]string `json:"engines"`
	// Checks are the details, for operators only.
	Checks map[string]CheckResult `json:"checks,omitempty"`
}

// runChecks runs every check at once, each bounded by the configured timeout.
func (s *Server) runChecks(ctx context.Context) map[string]CheckResult {
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		results = make(map[string]CheckResult, len(s.cfg.Checks))
	)
	for name, check := range s.cfg.Checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, s.cfg.CheckTimeout)
			defer cancel()
			start := time.Now()
			err := check(ctx)
			res := CheckResult{Status: "up", LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
			if err != nil {
				res.Status, res.Error = "down", err.Error()
			}
			mu.Lock()
			results[name] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	return results
}
