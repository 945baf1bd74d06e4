package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// TopicSpec describes a topic the application owns.
type TopicSpec struct {
	// Name is the topic name.
	Name string
	// Partitions is the number of partitions; it bounds how many members of one consumer
	// group can work in parallel.
	Partitions int
	// ReplicationFactor is the number of replicas of each partition (1 on a single broker).
	ReplicationFactor int
	// MinInsyncReplicas is the topic's min.insync.replicas: how many replicas must have a
	// message before an acks=all write (every write of the Publisher) succeeds. 0 keeps the
	// broker's default. With ReplicationFactor 3 and 2, one broker may be down without
	// stopping writes or losing an acknowledged message.
	MinInsyncReplicas int
}

// Validate reports every problem of the spec.
func (s TopicSpec) Validate() error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New("topic name is empty"))
	}
	if s.Partitions < 1 {
		errs = append(errs, fmt.Errorf("topic %q: partitions must be at least 1, got %d", s.Name, s.Partitions))
	}
	if s.ReplicationFactor < 1 {
		errs = append(errs, fmt.Errorf("topic %q: replication factor must be at least 1, got %d", s.Name, s.ReplicationFactor))
	}
	if s.MinInsyncReplicas < 0 || s.MinInsyncReplicas > s.ReplicationFactor {
		errs = append(errs, fmt.Errorf("topic %q: min.insync.replicas must be 0 (broker default) to the replication factor %d, got %d", s.Name, s.ReplicationFactor, s.MinInsyncReplicas))
	}
	return errors.Join(errs...)
}

// EnsureTopics creates the topics that do not exist yet, through the cluster's controller,
// and waits until every partition of every topic has a leader, so producers and consumer
// groups can use them at once. A topic that already exists counts as success; its partition
// count is not changed. The broker runs with auto.create.topics.enable=false, so the
// application creates its topics itself.
func EnsureTopics(ctx context.Context, brokers []string, specs ...TopicSpec) error {
	return ensureTopics(ctx, kafka.DefaultDialer, brokers, specs...)
}

func ensureTopics(ctx context.Context, dialer *kafka.Dialer, brokers []string, specs ...TopicSpec) error {
	if len(brokers) == 0 {
		return errors.New("ensure topics: no brokers")
	}
	var errs []error
	for _, s := range specs {
		errs = append(errs, s.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ensure topics: %w", err)
	}
	if len(specs) == 0 {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}

	conn, err := dialAny(ctx, dialer, brokers)
	if err != nil {
		return fmt.Errorf("ensure topics: %w", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)

	configs := make([]kafka.TopicConfig, 0, len(specs))
	names := make([]string, 0, len(specs))
	for _, s := range specs {
		tc := kafka.TopicConfig{
			Topic:             s.Name,
			NumPartitions:     s.Partitions,
			ReplicationFactor: s.ReplicationFactor,
		}
		if s.MinInsyncReplicas > 0 {
			tc.ConfigEntries = []kafka.ConfigEntry{{ConfigName: "min.insync.replicas", ConfigValue: strconv.Itoa(s.MinInsyncReplicas)}}
		}
		configs = append(configs, tc)
		names = append(names, s.Name)
	}
	// A broker that just died may still be named the controller by the metadata; asking
	// again (the metadata moves on) until ctx ends rides that out. (The chaos run found a
	// projector restarted right after a broker's kill failing to start on it.)
	for {
		err := createTopics(ctx, dialer, conn, configs)
		if err == nil {
			break
		}
		var kerr kafka.Error
		if errors.As(err, &kerr) && !kerr.Temporary() {
			return fmt.Errorf("ensure topics %v: %w", names, err) // refused: asking again will not help
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ensure topics %v: %w", names, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
	return waitForLeaders(ctx, conn, names)
}

// createTopics sends CreateTopics to the controller the metadata names or, when that one
// cannot be reached, to the broker of conn: in KRaft every broker forwards it to the active
// controller.
func createTopics(ctx context.Context, dialer *kafka.Dialer, conn *kafka.Conn, configs []kafka.TopicConfig) error {
	target := conn
	if controller, err := conn.Controller(); err == nil {
		cconn, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(controller.Host, strconv.Itoa(controller.Port)))
		if err == nil {
			defer cconn.Close()
			if deadline, ok := ctx.Deadline(); ok {
				_ = cconn.SetDeadline(deadline)
			}
			target = cconn
		}
	}
	// kafka-go's Conn.CreateTopics already treats TopicAlreadyExists as success.
	if err := target.CreateTopics(configs...); err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return err
	}
	return nil
}

func dialAny(ctx context.Context, dialer *kafka.Dialer, brokers []string) (*kafka.Conn, error) {
	var errs []error
	for _, b := range brokers {
		c, err := dialer.DialContext(ctx, "tcp", b)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("dial brokers %v: %w", brokers, errors.Join(errs...))
}

// waitForLeaders polls the metadata until every named topic is known and each of its
// partitions has a leader: a CreateTopics answer precedes the metadata propagation.
func waitForLeaders(ctx context.Context, conn *kafka.Conn, topics []string) error {
	for {
		parts, err := conn.ReadPartitions(topics...)
		if err == nil && allLed(parts, topics) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for leaders of %v: %w (last error: %v)", topics, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func allLed(parts []kafka.Partition, topics []string) bool {
	seen := make(map[string]bool, len(topics))
	for _, p := range parts {
		if p.Error != nil || p.Leader.Host == "" {
			return false
		}
		seen[p.Topic] = true
	}
	for _, t := range topics {
		if !seen[t] {
			return false
		}
	}
	return true
}

// topicCreator creates missing topics on demand, once per topic per process.
type topicCreator struct {
	dialer   *kafka.Dialer
	brokers  []string
	spec     TopicSpec // without a name: the shape of every topic created
	disabled bool

	mu    sync.Mutex
	known map[string]bool
}

func newTopicCreator(dialer *kafka.Dialer, brokers []string, spec TopicSpec, disabled bool) *topicCreator {
	return &topicCreator{
		dialer:   dialer,
		brokers:  brokers,
		spec:     spec,
		disabled: disabled,
		known:    map[string]bool{},
	}
}

func (c *topicCreator) ensure(ctx context.Context, topic string) error {
	if c.disabled {
		return nil
	}
	c.mu.Lock()
	done := c.known[topic]
	c.mu.Unlock()
	if done {
		return nil
	}
	// Concurrent first calls may both create: harmless, "already exists" is success.
	spec := c.spec
	spec.Name = topic
	err := ensureTopics(ctx, c.dialer, c.brokers, spec)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.known[topic] = true
	c.mu.Unlock()
	return nil
}
