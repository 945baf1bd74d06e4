package app

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/jobboard/jobboard/bus"
	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/readmodels"
)

// The roles `jobboard serve` can play. All of them run in one process by default (the
// embedded, single-machine setup); --roles runs a subset so each scales on its own.
const (
	RoleAPI        = "api"        // the HTTP API: stateless, any number behind a load balancer
	RoleRelay      = "relay"      // the outbox relay: one active, the others hot standbys
	RoleProjectors = "projectors" // consumer-group members, up to the partition count
	RoleScheduler  = "scheduler"  // expires due listings; instances share the work safely
	RoleNotifier   = "notifier"   // events in, email out; instances share the outbox
)

// AllRoles is every role, the default.
var AllRoles = []string{RoleAPI, RoleRelay, RoleProjectors, RoleScheduler, RoleNotifier, RoleWeb}

func validateRoles(roles []string) error {
	if len(roles) == 0 {
		return fmt.Errorf("ROLES: want at least one of %s", strings.Join(AllRoles, ","))
	}
	for _, r := range roles {
		known := false
		for _, k := range AllRoles {
			known = known || r == k
		}
		if !known {
			return fmt.Errorf("ROLES: unknown role %q (known: %s)", r, strings.Join(AllRoles, ","))
		}
	}
	return nil
}

// HasRole reports whether the configuration runs role.
func (c Config) HasRole(role string) bool {
	for _, r := range c.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// workers owns the long-running goroutines of the roles: Close cancels and waits for them.
type workers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error
}

func (w *workers) start(ctx context.Context, name string, run func(ctx context.Context) error) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		if err := run(ctx); err != nil && ctx.Err() == nil {
			w.errs <- fmt.Errorf("%s: %w", name, err)
		}
	}()
}

// startRelay runs the relay: it tails the event store and publishes to Kafka.
func (m *Main) startRelay(ctx context.Context) error {
	pub, err := bus.NewPublisher(bus.PublisherConfig{
		Brokers:                m.cfg.KafkaBrokers,
		TopicPartitions:        m.cfg.KafkaPartitions,
		TopicReplicationFactor: m.cfg.KafkaReplicationFactor,
		TopicMinInsyncReplicas: m.cfg.KafkaMinInsyncReplicas,
	}, watermill.NewSlogLogger(m.log.With("component", "bus")))
	if err != nil {
		return fmt.Errorf("relay publisher: %w", err)
	}
	m.closers = append(m.closers, pub.Close)
	relay, err := eventstore.NewRelay(m.store, pub, eventstore.RelayConfig{
		TopicFunc: m.cfg.topic,
		Logger:    m.log,
	})
	if err != nil {
		return err
	}
	m.workers.start(ctx, "relay", relay.Run)
	return nil
}

// topic names the topic of a stream type under the configured prefix.
func (c Config) topic(streamType string) string { return c.KafkaTopicPrefix + "events." + streamType }

// SearchAlias is the Elasticsearch alias queries read; SearchIndexPrefix names the versions
// of the search index ("<prefix>-v<N>").
func (c Config) SearchAlias() string {
	return c.ElasticsearchIndexPrefix + readmodels.DefaultSearchAlias
}
func (c Config) SearchIndexPrefix() string { return c.ElasticsearchIndexPrefix + "jobs" }

// ensureLiveSearchIndex creates the live version's search index (with its mapping) and the
// alias if they are missing; a promoted version N+1 stays live across restarts.
func (m *Main) ensureLiveSearchIndex(ctx context.Context) error {
	// The migration registers version 1 as "jobs-v1", without ELASTICSEARCH_INDEX_PREFIX.
	if err := m.versions.AdoptIndexPrefix(ctx, m.cfg.ElasticsearchIndexPrefix); err != nil {
		return err
	}
	live, err := m.versions.Live(ctx, readmodels.JobSearchProjection)
	if err != nil {
		return err
	}
	return readmodels.EnsureSearchIndex(ctx, m.es, live.Index, m.cfg.SearchAlias(), m.cfg.SearchIndexSettings())
}

// startProjectors runs every projector as a member of its consumer group. The search index
// is created first (with its explicit mapping), retrying while Elasticsearch is down.
func (m *Main) startProjectors(ctx context.Context) error {
	wlog := watermill.NewSlogLogger(m.log.With("component", "projections"))
	dlq, err := bus.NewPublisher(bus.PublisherConfig{Brokers: m.cfg.KafkaBrokers, TopicPartitions: 1,
		TopicReplicationFactor: m.cfg.KafkaReplicationFactor, TopicMinInsyncReplicas: m.cfg.KafkaMinInsyncReplicas}, wlog)
	if err != nil {
		return fmt.Errorf("dead-letter publisher: %w", err)
	}
	m.closers = append(m.closers, dlq.Close)
	// They follow the live version of the registry, so a rebuild's promotion moves them to
	// the new version without losing an event (projections/README.md).
	projectors, err := projections.LiveProjectors(m.Projections())
	if err != nil {
		return err
	}
	deadLetters, err := m.DeadLetters()
	if err != nil {
		return err
	}
	prefix := m.cfg.KafkaTopicPrefix
	runner, err := projections.NewRunner(projections.RunnerConfig{
		Brokers: m.cfg.KafkaBrokers,
		Subscriber: bus.SubscriberConfig{TopicPartitions: m.cfg.KafkaPartitions,
			TopicReplicationFactor: m.cfg.KafkaReplicationFactor, TopicMinInsyncReplicas: m.cfg.KafkaMinInsyncReplicas},
		DeadLetterPublisher: dlq,
		DeadLetters:         deadLetters,
		Topic:               m.cfg.topic,
		DeadLetterTopic:     func(projector string) string { return prefix + "dlq." + projector },
		// Consumer groups carry the prefix too: deployments (and test runs) sharing a cluster
		// must not share groups. The projector names are permanent: renaming one replays all.
		ConsumerGroup: func(projector string) string { return prefix + projector },
		// A backlog (after an outage, a deployment) is read from the store as a rebuild
		// reads it, not event by event through Kafka (ADR 0006).
		CatchUp:      projections.CatchUpConfig{Store: m.store, Pool: m.pool, Behind: projections.DefaultCatchUpBehind},
		BatchMaxSize: m.cfg.ProjectorBatchSize,
		Metrics:      m.metrics,
		Logger:       m.log,
	}, projectors...)
	if err != nil {
		return err
	}
	m.closers = append(m.closers, runner.Close)
	m.workers.start(ctx, "projectors", func(ctx context.Context) error {
		for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
			err := m.ensureLiveSearchIndex(ctx)
			if err == nil {
				break
			}
			m.log.Warn("search index or registry not ready, retrying", "error", err, "in", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
		}
		return runner.Run(ctx)
	})
	return nil
}

// startScheduler runs the expiry scheduler: published jobs past expires_at are expired
// through the ExpireJob command.
func (m *Main) startScheduler(ctx context.Context) error {
	expire, err := commands.NewExpireJobHandler(m.repo, time.Now, commands.NewUUIDv7)
	if err != nil {
		return err
	}
	sched, err := commands.NewExpiryScheduler(m.repo, expire, time.Now, commands.ExpirySchedulerConfig{
		Interval: m.cfg.ExpiryInterval,
		Logger:   m.log,
	})
	if err != nil {
		return err
	}
	m.workers.start(ctx, "scheduler", sched.Run)
	return nil
}
