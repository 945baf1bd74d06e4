package notifier

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the notifier's Prometheus collectors. A nil *Metrics records nothing.
type Metrics struct {
	sentTotal, failedTotal, deadTotal *prometheus.CounterVec
	sendSeconds                       prometheus.Histogram
}

// NewMetrics registers the notifier's collectors on reg, including the outbox's messages by
// state, read from pool at each scrape.
func NewMetrics(reg prometheus.Registerer, pool *pgxpool.Pool) (*Metrics, error) {
	m := &Metrics{
		sentTotal: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jobboard_notifier_sent_total",
			Help: "Messages handed to the mail server, by template."}, []string{"template"}),
		failedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jobboard_notifier_failed_total",
			Help: "Failed attempts to send a message (the mail server unreachable is not counted), by template."}, []string{"template"}),
		deadTotal: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jobboard_notifier_dead_total",
			Help: "Messages given up on (dead-lettered), by template."}, []string{"template"}),
		sendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "jobboard_notifier_send_seconds",
			Help: "Time to hand one message to the mail server.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
	}
	for _, c := range []prometheus.Collector{m.sentTotal, m.failedTotal, m.deadTotal, m.sendSeconds, outboxCollector{pool}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) sent(template string, took time.Duration) {
	if m != nil {
		m.sentTotal.WithLabelValues(template).Inc()
		m.sendSeconds.Observe(took.Seconds())
	}
}

func (m *Metrics) failed(template string) {
	if m != nil {
		m.failedTotal.WithLabelValues(template).Inc()
	}
}

func (m *Metrics) dead(template string) {
	if m != nil {
		m.deadTotal.WithLabelValues(template).Inc()
	}
}

// outboxCollector reports the outbox's messages by state (the queue depth is "pending") and
// the age of the oldest due one, from PostgreSQL at each scrape: every instance sees the
// same shared outbox.
type outboxCollector struct{ pool *pgxpool.Pool }

var (
	outboxMessagesDesc = prometheus.NewDesc("jobboard_notifier_outbox_messages",
		"Messages in the notifier's outbox by state (pending is the queue depth).", []string{"state"}, nil)
	outboxOldestDesc = prometheus.NewDesc("jobboard_notifier_outbox_oldest_due_seconds",
		"Age of the oldest pending message that is due (0: none).", nil, nil)
)

func (outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxMessagesDesc
	ch <- outboxOldestDesc
}

func (c outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := ReadStatus(ctx, c.pool, 0)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxMessagesDesc, err)
		return
	}
	for state, n := range map[string]int64{"pending": s.Pending, "sent": s.Sent, "dead": s.Dead, "canceled": s.Canceled} {
		ch <- prometheus.MustNewConstMetric(outboxMessagesDesc, prometheus.GaugeValue, float64(n), state)
	}
	ch <- prometheus.MustNewConstMetric(outboxOldestDesc, prometheus.GaugeValue, s.OldestPending.Seconds())
}
