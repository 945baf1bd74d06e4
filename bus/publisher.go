package bus

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"
)

// ErrPublisherClosed is returned by Publish after Close.
var ErrPublisherClosed = errors.New("bus: publisher is closed")

// Defaults shared by the publisher and the subscriber.
const (
	// DefaultTopicPartitions is the partition count of topics created on demand.
	DefaultTopicPartitions = 4
	// DefaultTopicReplicationFactor is the replication factor of topics created on demand.
	DefaultTopicReplicationFactor = 1
)

// PublisherConfig configures a Publisher.
type PublisherConfig struct {
	// Brokers are the bootstrap addresses (host:port) of the Kafka cluster. Required.
	Brokers []string

	// Balancer maps a record key to a partition. Default: kafka.Murmur2Balancer, the Java
	// client's default partitioner, so any client agrees on where a stream's events live.
	Balancer kafka.Balancer

	// BatchTimeout is how long the writer waits to fill a batch before sending it. kafka-go
	// defaults to 1 s, which would delay every lone event; default here: 5 ms.
	BatchTimeout time.Duration

	// BatchSize is the most messages sent to one partition in one request. Default: 100.
	BatchSize int

	// BatchBytes is the largest request to one partition, in bytes; a bigger message is
	// refused. Default: 1 MiB (Kafka's default message.max.bytes).
	BatchBytes int64

	// MaxAttempts is how often a failed produce request is tried before Publish fails.
	// Default: 10.
	MaxAttempts int

	// WriteTimeout bounds each produce request. Default: 10 s.
	WriteTimeout time.Duration

	// MetadataTTL is how long cluster metadata (topics, leaders) is cached. Default: 2 s.
	MetadataTTL time.Duration

	// Compression is the codec applied to batches. Default: none.
	Compression kafka.Compression

	// ClientID names this client in broker logs and quotas. Default: "jobboard".
	ClientID string

	// Dialer opens connections for topic administration. Default: kafka.DefaultDialer.
	Dialer *kafka.Dialer

	// DisableTopicCreation stops Publish from creating a missing topic; by default it
	// creates it with TopicPartitions and TopicReplicationFactor.
	DisableTopicCreation bool

	// TopicPartitions is the partition count of topics created on demand.
	// Default: DefaultTopicPartitions.
	TopicPartitions int

	// TopicReplicationFactor is the replication factor of topics created on demand.
	// Default: DefaultTopicReplicationFactor.
	TopicReplicationFactor int

	// TopicMinInsyncReplicas is the min.insync.replicas of topics created on demand; 0
	// keeps the broker's default. At most TopicReplicationFactor.
	TopicMinInsyncReplicas int
}

func (c *PublisherConfig) setDefaults() {
	if c.Balancer == nil {
		c.Balancer = &kafka.Murmur2Balancer{}
	}
	if c.BatchTimeout == 0 {
		c.BatchTimeout = 5 * time.Millisecond
	}
	if c.BatchSize == 0 {
		c.BatchSize = 100
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = 1 << 20
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 10
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.MetadataTTL == 0 {
		c.MetadataTTL = 2 * time.Second
	}
	if c.ClientID == "" {
		c.ClientID = "jobboard"
	}
	if c.Dialer == nil {
		c.Dialer = kafka.DefaultDialer
	}
	if c.TopicPartitions == 0 {
		c.TopicPartitions = DefaultTopicPartitions
	}
	if c.TopicReplicationFactor == 0 {
		c.TopicReplicationFactor = DefaultTopicReplicationFactor
	}
}

// Validate reports every problem of the configuration.
func (c PublisherConfig) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("brokers are missing"))
	}
	for _, b := range c.Brokers {
		if b == "" {
			errs = append(errs, errors.New("a broker address is empty"))
		}
	}
	if c.BatchTimeout < 0 {
		errs = append(errs, fmt.Errorf("batch timeout must not be negative, got %s", c.BatchTimeout))
	}
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch size must not be negative, got %d", c.BatchSize))
	}
	if c.BatchBytes < 0 {
		errs = append(errs, fmt.Errorf("batch bytes must not be negative, got %d", c.BatchBytes))
	}
	if c.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("max attempts must not be negative, got %d", c.MaxAttempts))
	}
	if c.WriteTimeout < 0 {
		errs = append(errs, fmt.Errorf("write timeout must not be negative, got %s", c.WriteTimeout))
	}
	if c.MetadataTTL < 0 {
		errs = append(errs, fmt.Errorf("metadata TTL must not be negative, got %s", c.MetadataTTL))
	}
	if c.TopicPartitions < 0 {
		errs = append(errs, fmt.Errorf("topic partitions must not be negative, got %d", c.TopicPartitions))
	}
	if c.TopicReplicationFactor < 0 {
		errs = append(errs, fmt.Errorf("topic replication factor must not be negative, got %d", c.TopicReplicationFactor))
	}
	if c.TopicMinInsyncReplicas < 0 || c.TopicMinInsyncReplicas > max(c.TopicReplicationFactor, DefaultTopicReplicationFactor) {
		errs = append(errs, fmt.Errorf("topic min.insync.replicas must be 0 to the replication factor, got %d", c.TopicMinInsyncReplicas))
	}
	return errors.Join(errs...)
}

// Publisher is a Watermill message.Publisher writing to Kafka. Publish is synchronous: it
// returns nil only after Kafka acknowledged every message with acks=all, so a caller may
// advance a checkpoint afterwards. It is safe for concurrent use; concurrent Publish calls
// share batches.
type Publisher struct {
	cfg       PublisherConfig
	logger    watermill.LoggerAdapter
	transport *kafka.Transport
	writer    *kafka.Writer
	topics    *topicCreator

	mu     sync.RWMutex // held for reading by Publish, for writing by Close
	closed bool
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher returns a Publisher. It does not contact Kafka: the first Publish does.
func NewPublisher(cfg PublisherConfig, logger watermill.LoggerAdapter) (*Publisher, error) {
	if logger == nil {
		return nil, errors.New("bus: new publisher: logger is nil")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bus: invalid publisher config: %w", err)
	}
	logger = logger.With(watermill.LogFields{"component": "kafka_publisher"})
	info, errs := kafkaLoggers(logger)
	transport := &kafka.Transport{
		ClientID:    cfg.ClientID,
		MetadataTTL: cfg.MetadataTTL,
		DialTimeout: cfg.Dialer.Timeout,
	}
	w := &kafka.Writer{
		Addr:         kafka.TCP(cfg.Brokers...),
		Balancer:     cfg.Balancer,
		MaxAttempts:  cfg.MaxAttempts,
		BatchSize:    cfg.BatchSize,
		BatchBytes:   cfg.BatchBytes,
		BatchTimeout: cfg.BatchTimeout,
		WriteTimeout: cfg.WriteTimeout,
		RequiredAcks: kafka.RequireAll,
		Compression:  cfg.Compression,
		Logger:       info,
		ErrorLogger:  errs,
		Transport:    transport,
	}
	return &Publisher{
		cfg:       cfg,
		logger:    logger,
		transport: transport,
		writer:    w,
		topics: newTopicCreator(cfg.Dialer, cfg.Brokers, TopicSpec{
			Partitions:        cfg.TopicPartitions,
			ReplicationFactor: cfg.TopicReplicationFactor,
			MinInsyncReplicas: cfg.TopicMinInsyncReplicas,
		}, cfg.DisableTopicCreation),
	}, nil
}

// Publish writes msgs to topic and waits until Kafka acknowledged all of them. The
// context of the first message bounds the call (Watermill's Publish takes no context).
// The messages are not written atomically: after an error some may have been written,
// and publishing them again may duplicate them (delivery is at-least-once).
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return ErrPublisherClosed
	}
	if len(msgs) == 0 {
		return nil
	}
	ctx := msgs[0].Context()

	if err := p.topics.ensure(ctx, topic); err != nil {
		return fmt.Errorf("bus: publish to %s: %w", topic, err)
	}

	records := make([]kafka.Message, len(msgs))
	for i, msg := range msgs {
		records[i] = toKafka(topic, msg)
	}

	// A topic created a moment ago (here or by another process) may be missing from the
	// cached metadata; that error comes before anything is written, so retrying is safe.
	backoff := 50 * time.Millisecond
	deadline := time.Now().Add(p.cfg.MetadataTTL + 5*time.Second)
	for {
		err := p.writer.WriteMessages(ctx, records...)
		if err == nil {
			p.logger.Trace("published", watermill.LogFields{"topic": topic, "messages": len(msgs)})
			return nil
		}
		if !isUnknownTopic(err) || time.Now().After(deadline) {
			return fmt.Errorf("bus: publish %d messages to %s: %w", len(msgs), topic, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bus: publish to %s: %w", topic, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

func isUnknownTopic(err error) bool {
	var kerr kafka.Error
	if !errors.As(err, &kerr) {
		return false
	}
	return kerr == kafka.UnknownTopicOrPartition || kerr == kafka.LeaderNotAvailable
}

// Close waits for Publish calls in flight, flushes the writer and releases connections.
// It is idempotent.
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	err := p.writer.Close()
	p.transport.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("bus: close publisher: %w", err)
	}
	return nil
}
