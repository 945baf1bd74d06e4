// Package app wires every adapter into the running program. It is the only package that
// knows them all: Open builds the adapters `serve` (Main) and the CLI's operator and
// analyst commands share; cmd/jobboard turns flags and environment into a Config and asks
// Open for what a command needs.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/segmentio/kafka-go"

	"github.com/jobboard/jobboard/api"
	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/repository"
)

// Main is the running program: `Run` starts it, `Close` stops it gracefully.
type Main struct {
	cfg Config
	log *slog.Logger

	// Adapters are the pool, the event store and registry, Elasticsearch and the
	// projection versions, opened by Run.
	*Adapters
	repo    *repository.Store
	metrics *prometheus.Registry
	workers workers
	// closers release what the roles opened, in reverse order, after the workers stopped.
	closers []func() error
	ln      net.Listener
	server  *http.Server
	served  chan error
}

// New checks the configuration; nothing is started yet.
func New(cfg Config, log *slog.Logger) (*Main, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		return nil, errors.New("app: nil logger")
	}
	if envs := cfg.developmentSecretsInUse(); len(envs) > 0 {
		log.Warn("built-in development secrets in use: this instance must not be reachable by others",
			"variables", envs, "http_addr", cfg.HTTPAddr, "dev_mode", cfg.DevMode)
	}
	return &Main{cfg: cfg, log: log}, nil
}

// Run connects the adapters and starts serving; it returns once the listener is open.
// Dependencies that are down do not stop it: /readyz reports them until they come back.
func (m *Main) Run(ctx context.Context) error {
	var err error
	if m.Adapters, err = Open(ctx, m.cfg, m.log); err != nil {
		return err
	}
	m.repo, err = repository.NewStore(m.pool, m.store)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.metrics = reg

	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.workers.cancel = cancel
	m.workers.errs = make(chan error, 8)
	for _, role := range []struct {
		name  string
		start func(context.Context) error
	}{
		{RoleRelay, m.startRelay},
		{RoleProjectors, m.startProjectors},
		{RoleScheduler, m.startScheduler},
		{RoleNotifier, m.startNotifier},
		{RoleNotifier, m.startAlerts},
	} {
		if !m.cfg.HasRole(role.name) {
			continue
		}
		if err := role.start(wctx); err != nil {
			return fmt.Errorf("%s: %w", role.name, err)
		}
	}
	apiCfg := api.ServerConfig{
		Checks: map[string]api.Check{
			"postgres":      m.checkPostgres,
			"kafka":         m.checkKafka,
			"elasticsearch": m.checkElasticsearch,
		},
		CheckTimeout: m.cfg.ReadinessTimeout,
		Registry:     reg,
		Gatherer:     reg,
		// Operators see the details of /readyz on every process, not only the API's.
		OperatorToken: m.cfg.OperatorToken,
		Operators:     m.cfg.Operators,
	}
	// Every process serves /healthz, /readyz and /metrics; the API role adds the routes.
	if m.readPool != nil {
		apiCfg.Checks["postgres-replica"] = m.checkReplica
	}
	// The web pages call the same Application as the API: it is wired for either role.
	var app application.Application
	if m.cfg.HasRole(RoleAPI) || m.cfg.HasRole(RoleWeb) {
		if err := m.wireAPI(wctx, &apiCfg, reg); err != nil {
			return fmt.Errorf("API: %w", err)
		}
		if app = apiCfg.App; !m.cfg.HasRole(RoleAPI) {
			apiCfg.App = application.Application{}
		}
	}
	apiHandler, err := api.NewServer(apiCfg, m.log)
	if err != nil {
		return err
	}
	var handler http.Handler = apiHandler
	if m.cfg.HasRole(RoleWeb) {
		if handler, err = m.withWeb(app, apiHandler); err != nil {
			return fmt.Errorf("web: %w", err)
		}
	}

	m.ln, err = net.Listen("tcp", m.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR %s: %w", m.cfg.HTTPAddr, err)
	}
	m.server = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	}
	m.served = make(chan error, 1)
	go func() { m.served <- m.server.Serve(m.ln) }()
	m.log.Info("serving", "url", m.URL(), "roles", m.cfg.Roles)
	return nil
}

// Errors reports a role that stopped on its own with an error (the program should exit).
func (m *Main) Errors() <-chan error { return m.workers.errs }

// URL is the base URL the API answers on (with the real port when HTTP_ADDR asked for 0).
func (m *Main) URL() string {
	if m.ln == nil {
		return ""
	}
	return "http://" + m.ln.Addr().String()
}

// Close stops accepting requests, lets those in flight finish within ShutdownTimeout, then
// closes the adapters.
func (m *Main) Close() error {
	var errs []error
	if m.workers.cancel != nil {
		m.workers.cancel()
		m.workers.wg.Wait()
		close(m.workers.errs)
		for err := range m.workers.errs {
			errs = append(errs, err)
		}
	}
	for i := len(m.closers) - 1; i >= 0; i-- {
		if err := m.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.ShutdownTimeout)
		defer cancel()
		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		if err := <-m.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("http: %w", err))
		}
	}
	if m.Adapters != nil {
		m.Adapters.Close()
	}
	return errors.Join(errs...)
}

func (m *Main) checkPostgres(ctx context.Context) error {
	var one int
	return m.pool.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// checkReplica asks the read replica, which the read-table queries use.
func (m *Main) checkReplica(ctx context.Context) error {
	var one int
	return m.readPool.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// checkKafka asks a broker for the cluster metadata (a real request, not just a TCP dial).
func (m *Main) checkKafka(ctx context.Context) error {
	var errs []error
	for _, addr := range m.cfg.KafkaBrokers {
		conn, err := (&kafka.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if dl, ok := ctx.Deadline(); ok {
			_ = conn.SetDeadline(dl)
		}
		_, err = conn.Brokers()
		conn.Close()
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (m *Main) checkElasticsearch(ctx context.Context) error {
	res, err := m.es.Cluster.Health(m.es.Cluster.Health.WithContext(ctx))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.IsError() {
		return fmt.Errorf("cluster health: %s", res.Status())
	}
	return nil
}
