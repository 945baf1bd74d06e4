package app

import (
	"context"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/jobboard/jobboard/alerting"
	"github.com/jobboard/jobboard/bus"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/readmodels"
)

// alertDigestInterval is how often the digest scheduler looks for a period that ended.
const alertDigestInterval = time.Minute

// alertsStore is a read model store for the alert matcher, the digests and the e-mail
// preferences of the sender: the job search alias and the alerts tables.
func (m *Main) alertsStore() (*readmodels.Store, error) {
	return readmodels.NewStore(m.pool, m.es, readmodels.StoreConfig{SearchAlias: m.cfg.SearchAlias(),
		WaitPollInterval: 200 * time.Millisecond, Logger: m.log})
}

// startAlerts runs the job alerts with the notifier: the instant matcher as a consumer
// group over the job streams (the projections' runner: retries, poison queue) and the digest
// scheduler. Their e-mails go through the notifier's outbox.
func (m *Main) startAlerts(ctx context.Context) error {
	store, err := m.alertsStore()
	if err != nil {
		return err
	}
	cfg := alerting.Config{BaseURL: m.cfg.PublicBaseURL, SigningKey: []byte(m.cfg.SigningKey), Logger: m.log.With("component", "alerts")}
	matcher, err := alerting.NewMatcher(m.pool, store, cfg)
	if err != nil {
		return err
	}
	digests, err := alerting.NewDigests(m.pool, store, cfg)
	if err != nil {
		return err
	}
	wlog := watermill.NewSlogLogger(m.log.With("component", "alerts"))
	dlq, err := bus.NewPublisher(bus.PublisherConfig{Brokers: m.cfg.KafkaBrokers, TopicPartitions: 1,
		TopicReplicationFactor: m.cfg.KafkaReplicationFactor, TopicMinInsyncReplicas: m.cfg.KafkaMinInsyncReplicas}, wlog)
	if err != nil {
		return fmt.Errorf("dead-letter publisher: %w", err)
	}
	m.closers = append(m.closers, dlq.Close)
	prefix := m.cfg.KafkaTopicPrefix
	runner, err := projections.NewRunner(projections.RunnerConfig{
		Brokers: m.cfg.KafkaBrokers,
		Subscriber: bus.SubscriberConfig{TopicPartitions: m.cfg.KafkaPartitions,
			TopicReplicationFactor: m.cfg.KafkaReplicationFactor, TopicMinInsyncReplicas: m.cfg.KafkaMinInsyncReplicas},
		DeadLetterPublisher: dlq,
		Topic:               m.cfg.topic,
		DeadLetterTopic:     func(name string) string { return prefix + "dlq." + name },
		ConsumerGroup:       func(name string) string { return prefix + name },
		Logger:              m.log.With("component", "alerts"),
	}, matcher)
	if err != nil {
		return err
	}
	m.closers = append(m.closers, runner.Close)
	m.workers.start(ctx, "alert matcher", runner.Run)
	m.workers.start(ctx, "alert digests", func(ctx context.Context) error { return digests.Run(ctx, alertDigestInterval) })
	return nil
}
