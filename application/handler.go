package application

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jobboard/jobboard/internal/apperr"
)

// Handler is the one shape of every command and query: the command or query in, its
// result out. Errors the caller should see are *apperr.Error; anything else is internal.
type Handler[Q any, R any] interface {
	Handle(ctx context.Context, q Q) (R, error)
}

// HandlerFunc lets a plain function be a Handler (tests build an Application from them).
type HandlerFunc[Q any, R any] func(ctx context.Context, q Q) (R, error)

// Handle calls f.
func (f HandlerFunc[Q, R]) Handle(ctx context.Context, q Q) (R, error) { return f(ctx, q) }

type correlationKey struct{}

// WithCorrelationID returns ctx carrying the id that ties together everything one request
// causes (the HTTP API's X-Request-ID); the decorators put it in every log line.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

// CorrelationID is the id WithCorrelationID put in ctx, "" when none.
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}

// Kinds of handler, the "kind" label of the metrics.
const (
	kindCommand = "command"
	kindQuery   = "query"
)

// metrics are the decorators' Prometheus series, one set per command or query name.
type metrics struct {
	handled  *prometheus.CounterVec
	failed   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "jobboard", Subsystem: "app", Name: "handled_total",
			Help: "Commands and queries handled, by kind and name.",
		}, []string{"kind", "name"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "jobboard", Subsystem: "app", Name: "errors_total",
			Help: "Commands and queries that returned an error, by kind, name and error code (internal: not an application error).",
		}, []string{"kind", "name", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "jobboard", Subsystem: "app", Name: "handle_duration_seconds",
			Help:    "Time to handle a command or query, by kind and name.",
			Buckets: prometheus.DefBuckets,
		}, []string{"kind", "name"}),
	}
	for _, c := range []prometheus.Collector{m.handled, m.failed, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("application: register metrics: %w", err)
		}
	}
	return m, nil
}

// decorators wrap every handler of an Application once.
type decorators struct {
	log     *slog.Logger
	metrics *metrics
}

// decorate wraps h in the logging, metrics and tracing-context decorators under name.
func decorate[Q, R any](d decorators, kind, name string, h Handler[Q, R]) Handler[Q, R] {
	handled := d.metrics.handled.WithLabelValues(kind, name)
	duration := d.metrics.duration.WithLabelValues(kind, name)
	return HandlerFunc[Q, R](func(ctx context.Context, q Q) (R, error) {
		start := time.Now()
		r, err := h.Handle(ctx, q)
		elapsed := time.Since(start)
		handled.Inc()
		duration.Observe(elapsed.Seconds())
		attrs := []any{"kind", kind, "name", name, "duration", elapsed, "request_id", CorrelationID(ctx)}
		if err == nil {
			d.log.DebugContext(ctx, "handled", attrs...)
			return r, nil
		}
		code := apperr.CodeOf(err) // Internal for anything that is not an *apperr.Error
		d.metrics.failed.WithLabelValues(kind, name, string(code)).Inc()
		if code == apperr.Internal {
			d.log.ErrorContext(ctx, "handler failed", append(attrs, "code", string(code), "error", err)...)
		} else {
			d.log.DebugContext(ctx, "handled", append(attrs, "code", string(code), "error", err)...)
		}
		return r, err
	})
}

// command and query name what they decorate.
func command[Q, R any](d decorators, name string, h Handler[Q, R]) Handler[Q, R] {
	return decorate(d, kindCommand, name, h)
}

func query[Q, R any](d decorators, name string, h Handler[Q, R]) Handler[Q, R] {
	return decorate(d, kindQuery, name, h)
}
