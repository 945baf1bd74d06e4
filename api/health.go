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

// CheckResult is the state of one dependency on /readyz.
type CheckResult struct {
	Status    string  `json:"status"` // "up" or "down"
	Error     string  `json:"error,omitempty"`
	LatencyMS float64 `json:"latency_ms"`
}

// registerHealthRoutes adds /healthz (the process is alive) and /readyz (every dependency
// answers; 503 problem naming those that do not).
func (s *Server) registerHealthRoutes() {
	s.router.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc("/readyz", s.handleReadyz).Methods(http.MethodGet, http.MethodHead)
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	results := s.runChecks(r.Context())
	var down []string
	for name, res := range results {
		if res.Status != "up" {
			down = append(down, name)
		}
	}
	if len(down) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": results})
		return
	}
	sort.Strings(down)
	writeProblem(w, Problem{
		Type:   problemTypeBase + "not-ready",
		Title:  "Not ready",
		Status: http.StatusServiceUnavailable,
		Detail: "unavailable: " + strings.Join(down, ", "),
		Checks: results,
	})
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
