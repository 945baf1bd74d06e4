package app

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/jobboard/jobboard/bus"
	"github.com/jobboard/jobboard/eventstore"
)

// The roles `jobboard serve` can play. All of them run in one process by default (the
// embedded, single-machine setup); --roles runs a subset so each scales on its own.
const (
	RoleAPI   = "api"   // the HTTP API: stateless, any number behind a load balancer
	RoleRelay = "relay" // the outbox relay: one active, the others hot standbys
)

// AllRoles is every role, the default.
var AllRoles = []string{RoleAPI, RoleRelay}

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
		Brokers:         m.cfg.KafkaBrokers,
		TopicPartitions: m.cfg.KafkaPartitions,
	}, watermill.NewSlogLogger(m.log.With("component", "bus")))
	if err != nil {
		return fmt.Errorf("relay publisher: %w", err)
	}
	m.closers = append(m.closers, pub.Close)
	prefix := m.cfg.KafkaTopicPrefix
	relay, err := eventstore.NewRelay(m.store, pub, eventstore.RelayConfig{
		TopicFunc: func(streamType string) string { return prefix + "events." + streamType },
		Logger:    m.log,
	})
	if err != nil {
		return err
	}
	m.workers.start(ctx, "relay", relay.Run)
	return nil
}
