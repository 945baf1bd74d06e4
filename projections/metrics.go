package projections

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
)

// panicError is a panic of a projector, recovered in the batcher's goroutine.
type panicError struct {
	value any
	stack []byte
}

func (p panicError) Error() string {
	return fmt.Sprintf("projector panicked: %v\n%s", p.value, p.stack)
}

// metrics are the Prometheus collectors of the projections of one runner; every series is
// labelled with the projector's name.
type metrics struct {
	handled      *prometheus.CounterVec
	failed       *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	lastSeen     *prometheus.GaugeVec
	lastApplied  *prometheus.GaugeVec
	lag          *prometheus.GaugeVec
	eventAge     *prometheus.GaugeVec
	batchSize    *prometheus.HistogramVec
	batchSeconds *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	labels := []string{"projector"}
	m := &metrics{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "jobboard", Subsystem: "projection", Name: "events_handled_total",
			Help: "Events acknowledged by the projector (applied, skipped as duplicates, or dead-lettered).",
		}, labels),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "jobboard", Subsystem: "projection", Name: "events_failed_total",
			Help: "Deliveries that failed after the handler's retries and were nacked for redelivery.",
		}, labels),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "jobboard", Subsystem: "projection", Name: "events_dead_lettered_total",
			Help: "Events given up on and published to the projector's dead-letter topic.",
		}, labels),
		lastSeen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "jobboard", Subsystem: "projection", Name: "last_seen_global_position",
			Help: "Highest global position of an event delivered to the projector.",
		}, labels),
		lastApplied: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "jobboard", Subsystem: "projection", Name: "last_applied_global_position",
			Help: "Highest global position of an event the projector finished with.",
		}, labels),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "jobboard", Subsystem: "projection", Name: "lag_events",
			Help: "Global positions between the newest event seen and the newest applied.",
		}, labels),
		eventAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "jobboard", Subsystem: "projection", Name: "lag_seconds",
			Help: "Seconds from the recording of the newest event of the last write to the write's end.",
		}, labels),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "jobboard", Subsystem: "projection", Name: "batch_size",
			Help:    "Events per projector write.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192},
		}, labels),
		batchSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "jobboard", Subsystem: "projection", Name: "batch_duration_seconds",
			Help:    "Duration of projector writes.",
			Buckets: prometheus.DefBuckets,
		}, labels),
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	register := func(c prometheus.Collector, set func(prometheus.Collector)) {
		err := reg.Register(c)
		var are prometheus.AlreadyRegisteredError
		switch {
		case err == nil:
		case errors.As(err, &are):
			set(are.ExistingCollector) // another runner in this process registered it
		default:
			errs = append(errs, err)
		}
	}
	register(m.handled, func(c prometheus.Collector) { m.handled = c.(*prometheus.CounterVec) })
	register(m.failed, func(c prometheus.Collector) { m.failed = c.(*prometheus.CounterVec) })
	register(m.deadLettered, func(c prometheus.Collector) { m.deadLettered = c.(*prometheus.CounterVec) })
	register(m.lastSeen, func(c prometheus.Collector) { m.lastSeen = c.(*prometheus.GaugeVec) })
	register(m.lastApplied, func(c prometheus.Collector) { m.lastApplied = c.(*prometheus.GaugeVec) })
	register(m.lag, func(c prometheus.Collector) { m.lag = c.(*prometheus.GaugeVec) })
	register(m.eventAge, func(c prometheus.Collector) { m.eventAge = c.(*prometheus.GaugeVec) })
	register(m.batchSize, func(c prometheus.Collector) { m.batchSize = c.(*prometheus.HistogramVec) })
	register(m.batchSeconds, func(c prometheus.Collector) { m.batchSeconds = c.(*prometheus.HistogramVec) })
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register projection metrics: %w", err)
	}
	return m, nil
}

// positions tracks the newest global positions seen and applied by one projector.
type positions struct {
	mu            sync.Mutex
	seen, applied int64
}

func (p *positions) see(pos int64) (seen, applied int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = max(p.seen, pos)
	return p.seen, p.applied
}

func (p *positions) apply(pos int64) (seen, applied int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.applied = max(p.applied, pos)
	return p.seen, p.applied
}

// outcomes counts a projector's outcomes and tracks its positions; a dead-lettered event
// counts as handled.
type outcomes struct {
	pos                        *positions
	handled, failed            prometheus.Counter
	lastSeen, lastApplied, lag prometheus.Gauge
}

func (m *metrics) outcomes(projector string, pos *positions) *outcomes {
	return &outcomes{
		pos:         pos,
		handled:     m.handled.WithLabelValues(projector),
		failed:      m.failed.WithLabelValues(projector),
		lastSeen:    m.lastSeen.WithLabelValues(projector),
		lastApplied: m.lastApplied.WithLabelValues(projector),
		lag:         m.lag.WithLabelValues(projector),
	}
}

// see records the delivery of msg and returns its global position.
func (o *outcomes) see(msg *message.Message) int64 {
	gp := globalPosition(msg)
	seen, applied := o.pos.see(gp)
	o.lastSeen.Set(float64(seen))
	o.lag.Set(float64(max(0, seen-applied)))
	return gp
}

// done records the outcome of the message at global position gp.
func (o *outcomes) done(gp int64, err error) {
	if err != nil {
		o.failed.Inc()
		return
	}
	o.handled.Inc()
	seen, applied := o.pos.apply(gp)
	o.lastApplied.Set(float64(applied))
	o.lag.Set(float64(max(0, seen-applied)))
}

// caughtUp records the events the catch-up read from the store and applied.
func (o *outcomes) caughtUp(events []Event) {
	var newest int64
	for _, ev := range events {
		newest = max(newest, ev.GlobalPosition)
	}
	o.handled.Add(float64(len(events)))
	o.pos.see(newest)
	seen, applied := o.pos.apply(newest)
	o.lastSeen.Set(float64(seen))
	o.lastApplied.Set(float64(applied))
	o.lag.Set(float64(max(0, seen-applied)))
}

func (m *metrics) observeBatch(projector string) func(events []Event, took time.Duration, err error) {
	size := m.batchSize.WithLabelValues(projector)
	secs := m.batchSeconds.WithLabelValues(projector)
	age := m.eventAge.WithLabelValues(projector)
	return func(events []Event, took time.Duration, err error) {
		size.Observe(float64(len(events)))
		secs.Observe(took.Seconds())
		if err != nil {
			return
		}
		if newest := newestRecorded(events); !newest.IsZero() {
			age.Set(max(0, time.Since(newest).Seconds()))
		}
	}
}

// newestRecorded is when the newest of events was recorded; zero for none.
func newestRecorded(events []Event) time.Time {
	var newest time.Time
	for _, e := range events {
		if e.RecordedAt.After(newest) {
			newest = e.RecordedAt
		}
	}
	return newest
}

// countingPublisher counts the messages published to the dead-letter topic.
type countingPublisher struct {
	message.Publisher
	counter prometheus.Counter
}

func (p countingPublisher) Publish(topic string, msgs ...*message.Message) error {
	if err := p.Publisher.Publish(topic, msgs...); err != nil {
		return err
	}
	p.counter.Add(float64(len(msgs)))
	return nil
}
