package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"
)

// ErrSubscriberClosed is returned by Subscribe after Close.
var ErrSubscriberClosed = errors.New("bus: subscriber is closed")

// SubscriberConfig configures a Subscriber. The defaults favour quick consumer-group
// joins and low latency over throughput; kafka-go's own defaults wait seconds.
type SubscriberConfig struct {
	// Brokers are the bootstrap addresses (host:port) of the Kafka cluster. Required.
	Brokers []string

	// ConsumerGroup is the Kafka consumer group. Members of one group share a topic's
	// partitions and continue from the group's committed offsets. Treat it as permanent:
	// a new name starts over from StartOffset. Empty selects the no-group mode: each
	// Subscribe reads every partition from StartOffset and commits nothing.
	ConsumerGroup string

	// StartOffset is where to begin in a partition without a committed offset:
	// kafka.FirstOffset (default) or kafka.LastOffset.
	StartOffset int64

	// NackResendSleep is the pause before a nacked message is delivered again.
	// Default: 100 ms.
	NackResendSleep time.Duration

	// RetryBackoff is the pause after a failed fetch, commit or group join before the next
	// attempt. Default: 500 ms.
	RetryBackoff time.Duration

	// MinBytes is the least data a fetch waits for; 1 answers as soon as a record exists.
	// Default: 1.
	MinBytes int

	// MaxBytes is the most data one fetch returns. Default: 10 MiB.
	MaxBytes int

	// MaxWait is how long the broker holds a fetch open waiting for MinBytes.
	// Default: 200 ms.
	MaxWait time.Duration

	// ReadBatchTimeout bounds reading each record of a fetched batch from the connection.
	// Default: 2 s.
	ReadBatchTimeout time.Duration

	// QueueCapacity is how many records are prefetched per partition. Default: 100.
	QueueCapacity int

	// MaxInFlightPerPartition is how many messages of one partition may be delivered and
	// not yet acked. 1 (default) delivers the next message only after the previous one's
	// Ack. More lets a consumer gather a backlog into batches; it must then restore the
	// order itself from Delivery.Run and Delivery.Seq, because Watermill's router handles
	// messages concurrently. Offsets are committed only up to the first message not acked.
	MaxInFlightPerPartition int

	// MaxInFlight caps the messages delivered and not yet acked over every partition of
	// the subscriber, so a window per partition large enough for one partition's backlog
	// does not multiply by the partition count (each message in flight holds its payload
	// and a handler goroutine). It applies with MaxInFlightPerPartition > 1. 0 (default): no
	// cap beyond MaxInFlightPerPartition.
	MaxInFlight int

	// HeartbeatInterval is how often a member heartbeats the group coordinator; it is
	// also how quickly a member notices a rebalance. Default: 500 ms.
	HeartbeatInterval time.Duration

	// SessionTimeout is how long the coordinator waits without heartbeats before it
	// evicts a member. The broker requires at least group.min.session.timeout.ms (6 s by
	// default). Default: 10 s.
	SessionTimeout time.Duration

	// RebalanceTimeout is how long the coordinator waits for members to rejoin during a
	// rebalance. Default: 10 s.
	RebalanceTimeout time.Duration

	// JoinGroupBackoff is the pause before rejoining the group after an error.
	// Default: 500 ms.
	JoinGroupBackoff time.Duration

	// CoordinatorTimeout is the network timeout for requests to the group coordinator
	// (join, sync, heartbeat, commit). Default: 5 s.
	CoordinatorTimeout time.Duration

	// GroupBalancers are the partition assignment strategies offered, in order of
	// preference. Default: range, then round robin.
	GroupBalancers []kafka.GroupBalancer

	// WatchPartitionChanges makes the group rebalance when partitions are added to a
	// subscribed topic, checking every PartitionWatchInterval.
	WatchPartitionChanges bool

	// PartitionWatchInterval is how often partition counts are checked when
	// WatchPartitionChanges is set. Default: 5 s.
	PartitionWatchInterval time.Duration

	// Dialer opens connections to brokers. Default: kafka.DefaultDialer.
	Dialer *kafka.Dialer

	// DisableTopicCreation stops Subscribe from creating a missing topic; by default it
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

	// Skip, if set, is asked about every fetched record, from its headers, before the
	// record becomes a message. A record it skips is never delivered: it counts as acked
	// at once, in its turn (its offset is committed once every record before it is acked).
	// It lets a consumer that already has a record's effect (a projector that read the
	// event from the store) pass over a backlog without a message, a context and a
	// handler per record. Called from every partition's goroutine at once.
	Skip func(Headers) bool
}

// Headers are a record's Kafka headers (its metadata, see toKafka).
type Headers []kafka.Header

// Get returns the value of the first header named key, nil if there is none.
func (h Headers) Get(key string) []byte {
	for _, x := range h {
		if x.Key == key {
			return x.Value
		}
	}
	return nil
}

func (c *SubscriberConfig) setDefaults() {
	if c.StartOffset == 0 {
		c.StartOffset = kafka.FirstOffset
	}
	if c.NackResendSleep == 0 {
		c.NackResendSleep = 100 * time.Millisecond
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = 500 * time.Millisecond
	}
	if c.MinBytes == 0 {
		c.MinBytes = 1
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 10 << 20
	}
	if c.MaxWait == 0 {
		c.MaxWait = 200 * time.Millisecond
	}
	if c.ReadBatchTimeout == 0 {
		c.ReadBatchTimeout = 2 * time.Second
	}
	if c.QueueCapacity == 0 {
		c.QueueCapacity = 100
	}
	if c.MaxInFlightPerPartition == 0 {
		c.MaxInFlightPerPartition = 1
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = 500 * time.Millisecond
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.RebalanceTimeout == 0 {
		c.RebalanceTimeout = 10 * time.Second
	}
	if c.JoinGroupBackoff == 0 {
		c.JoinGroupBackoff = 500 * time.Millisecond
	}
	if c.CoordinatorTimeout == 0 {
		c.CoordinatorTimeout = 5 * time.Second
	}
	if len(c.GroupBalancers) == 0 {
		c.GroupBalancers = []kafka.GroupBalancer{kafka.RangeGroupBalancer{}, kafka.RoundRobinGroupBalancer{}}
	}
	if c.PartitionWatchInterval == 0 {
		c.PartitionWatchInterval = 5 * time.Second
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
func (c SubscriberConfig) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("brokers are missing"))
	}
	for _, b := range c.Brokers {
		if b == "" {
			errs = append(errs, errors.New("a broker address is empty"))
		}
	}
	if c.StartOffset != kafka.FirstOffset && c.StartOffset != kafka.LastOffset {
		errs = append(errs, fmt.Errorf("start offset must be kafka.FirstOffset or kafka.LastOffset, got %d", c.StartOffset))
	}
	positive := []struct {
		name string
		d    time.Duration
	}{
		{"nack resend sleep", c.NackResendSleep},
		{"retry backoff", c.RetryBackoff},
		{"max wait", c.MaxWait},
		{"read batch timeout", c.ReadBatchTimeout},
		{"heartbeat interval", c.HeartbeatInterval},
		{"session timeout", c.SessionTimeout},
		{"rebalance timeout", c.RebalanceTimeout},
		{"join group backoff", c.JoinGroupBackoff},
		{"coordinator timeout", c.CoordinatorTimeout},
		{"partition watch interval", c.PartitionWatchInterval},
	}
	for _, p := range positive {
		if p.d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %s", p.name, p.d))
		}
	}
	if c.HeartbeatInterval > 0 && c.SessionTimeout > 0 && c.HeartbeatInterval >= c.SessionTimeout {
		errs = append(errs, fmt.Errorf("heartbeat interval %s must be shorter than session timeout %s", c.HeartbeatInterval, c.SessionTimeout))
	}
	if c.MinBytes < 0 || c.MaxBytes < 0 || (c.MaxBytes > 0 && c.MinBytes > c.MaxBytes) {
		errs = append(errs, fmt.Errorf("need 0 <= min bytes (%d) <= max bytes (%d)", c.MinBytes, c.MaxBytes))
	}
	if c.QueueCapacity < 0 {
		errs = append(errs, fmt.Errorf("queue capacity must not be negative, got %d", c.QueueCapacity))
	}
	if c.MaxInFlightPerPartition < 0 {
		errs = append(errs, fmt.Errorf("max in flight per partition must not be negative, got %d", c.MaxInFlightPerPartition))
	}
	if c.MaxInFlight < 0 {
		errs = append(errs, fmt.Errorf("max in flight must not be negative, got %d", c.MaxInFlight))
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

// Subscriber is a Watermill message.Subscriber reading from Kafka.
//
// Each partition is consumed by its own goroutine and reader, by default one message at a
// time: the next message of a partition is delivered only after the previous one was
// acked, and only then is the partition's offset committed (offset+1, through the consumer
// group's current generation). A nacked message is delivered again after NackResendSleep,
// until it is acked. With MaxInFlightPerPartition > 1 that many messages of a partition
// may await their Ack; the offset committed is the one after the last message below which
// every message was acked, and a nack delivers every unacked message again, in order
// (see Delivery.Run). Order is therefore kept per partition, hence per partition key; messages
// of different partitions are delivered concurrently. When the group rebalances, every
// partition goroutine stops (its in-flight message's context is cancelled and a late Ack
// is ignored) and the new owner continues from the last committed offset, so delivery is
// at-least-once.
type Subscriber struct {
	cfg    SubscriberConfig
	logger watermill.LoggerAdapter
	topics *topicCreator

	closing   chan struct{}
	closeOnce sync.Once

	// inFlight holds a token per message in flight when MaxInFlight caps them (else nil).
	inFlight chan struct{}

	mu     sync.Mutex // guards closed and wg.Add against Close
	closed bool
	wg     sync.WaitGroup // every goroutine started by Subscribe
}

var (
	_ message.Subscriber           = (*Subscriber)(nil)
	_ message.SubscribeInitializer = (*Subscriber)(nil)
)

// NewSubscriber returns a Subscriber. It does not contact Kafka: Subscribe does.
func NewSubscriber(cfg SubscriberConfig, logger watermill.LoggerAdapter) (*Subscriber, error) {
	if logger == nil {
		return nil, errors.New("bus: new subscriber: logger is nil")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bus: invalid subscriber config: %w", err)
	}
	var tokens chan struct{}
	if cfg.MaxInFlight > 0 {
		tokens = make(chan struct{}, cfg.MaxInFlight)
	}
	return &Subscriber{
		cfg:    cfg,
		logger: logger.With(watermill.LogFields{"component": "kafka_subscriber", "consumer_group": cfg.ConsumerGroup}),
		topics: newTopicCreator(cfg.Dialer, cfg.Brokers, TopicSpec{
			Partitions:        cfg.TopicPartitions,
			ReplicationFactor: cfg.TopicReplicationFactor,
			MinInsyncReplicas: cfg.TopicMinInsyncReplicas,
		}, cfg.DisableTopicCreation),
		closing:  make(chan struct{}),
		inFlight: tokens,
	}, nil
}

// SubscribeInitialize creates topic if it is missing (unless DisableTopicCreation).
func (s *Subscriber) SubscribeInitialize(topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.topics.ensure(ctx, topic); err != nil {
		return fmt.Errorf("bus: initialize %s: %w", topic, err)
	}
	return nil
}

// Subscribe starts consuming topic and returns the channel of its messages. Every message
// must be acked or nacked. The channel is closed after ctx is cancelled or Close is
// called, once every goroutine of this subscription has stopped. Messages carry a context
// derived from ctx that is cancelled after Ack, Nack, Close or the loss of their
// partition; DeliveryFromContext reads their Kafka position from it.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if topic == "" {
		return nil, errors.New("bus: subscribe: topic is empty")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrSubscriberClosed
	}
	s.wg.Add(1)
	s.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	started := false
	defer func() {
		if !started {
			cancel()
			s.wg.Done()
		}
	}()

	if err := s.topics.ensure(ctx, topic); err != nil {
		return nil, fmt.Errorf("bus: subscribe to %s: %w", topic, err)
	}

	logger := s.logger.With(watermill.LogFields{"topic": topic})
	out := make(chan *message.Message)

	var run func(ctx context.Context)
	if s.cfg.ConsumerGroup != "" {
		info, errs := kafkaLoggers(logger)
		group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
			ID:                     s.cfg.ConsumerGroup,
			Brokers:                s.cfg.Brokers,
			Dialer:                 s.cfg.Dialer,
			Topics:                 []string{topic},
			GroupBalancers:         s.cfg.GroupBalancers,
			HeartbeatInterval:      s.cfg.HeartbeatInterval,
			PartitionWatchInterval: s.cfg.PartitionWatchInterval,
			WatchPartitionChanges:  s.cfg.WatchPartitionChanges,
			SessionTimeout:         s.cfg.SessionTimeout,
			RebalanceTimeout:       s.cfg.RebalanceTimeout,
			JoinGroupBackoff:       s.cfg.JoinGroupBackoff,
			StartOffset:            s.cfg.StartOffset,
			Timeout:                s.cfg.CoordinatorTimeout,
			Logger:                 info,
			ErrorLogger:            errs,
		})
		if err != nil {
			return nil, fmt.Errorf("bus: subscribe to %s: %w", topic, err)
		}
		run = func(ctx context.Context) { s.runGroup(ctx, group, topic, out, logger) }
	} else {
		parts, err := s.partitions(ctx, topic)
		if err != nil {
			return nil, fmt.Errorf("bus: subscribe to %s: %w", topic, err)
		}
		run = func(ctx context.Context) { s.runNoGroup(ctx, parts, topic, out, logger) }
	}

	started = true
	// The watcher cancels the subscription when the subscriber closes; it ends with ctx.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer cancel()
		run(ctx)
		logger.Debug("subscription stopped", nil)
	}()
	return out, nil
}

// runGroup consumes the partitions the group assigns to this member, generation after
// generation, until ctx is done. It returns after every partition goroutine stopped.
func (s *Subscriber) runGroup(ctx context.Context, group *kafka.ConsumerGroup, topic string, out chan<- *message.Message, logger watermill.LoggerAdapter) {
	var workers sync.WaitGroup
	defer workers.Wait()
	// Closing the group ends the current generation, waits for the goroutines it started
	// and leaves the group, so partitions move to other members at once.
	defer group.Close()

	for {
		gen, err := group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed) {
				return
			}
			// kafka-go backs off by itself before the next attempt.
			logger.Info("consumer group generation failed, rejoining", watermill.LogFields{"err": err.Error()})
			continue
		}
		assigned := gen.Assignments[topic]
		logger.Debug("consumer group generation started", watermill.LogFields{
			"generation": gen.ID, "member": gen.MemberID, "partitions": len(assigned),
		})
		// Workers hand acked offsets to the committer, which commits them in the
		// background, coalescing whatever was acked while a commit was in flight. It
		// commits a last time after every worker of the generation stopped.
		c := newCommitter(gen, topic, s.cfg.RetryBackoff, logger)
		var genWorkers sync.WaitGroup
		for _, pa := range assigned {
			workers.Add(1)
			genWorkers.Add(1)
			gen.Start(func(genCtx context.Context) {
				defer workers.Done()
				defer genWorkers.Done()
				s.consumePartition(ctx, genCtx, c.mark, topic, pa.ID, pa.Offset, out, logger)
			})
		}
		if len(assigned) > 0 {
			workers.Add(1)
			gen.Start(func(genCtx context.Context) {
				defer workers.Done()
				c.run(genCtx, &genWorkers)
			})
		}
	}
}

// runNoGroup consumes every partition from StartOffset, committing nothing.
func (s *Subscriber) runNoGroup(ctx context.Context, partitions []int, topic string, out chan<- *message.Message, logger watermill.LoggerAdapter) {
	var workers sync.WaitGroup
	for _, p := range partitions {
		workers.Add(1)
		go func() {
			defer workers.Done()
			s.consumePartition(ctx, ctx, nil, topic, p, s.cfg.StartOffset, out, logger)
		}()
	}
	workers.Wait()
}

func (s *Subscriber) partitions(ctx context.Context, topic string) ([]int, error) {
	conn, err := dialAny(ctx, s.cfg.Dialer, s.cfg.Brokers)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	} else {
		_ = conn.SetDeadline(time.Now().Add(s.cfg.CoordinatorTimeout))
	}
	parts, err := conn.ReadPartitions(topic)
	if err != nil {
		return nil, fmt.Errorf("read partitions: %w", err)
	}
	ids := make([]int, 0, len(parts))
	for _, p := range parts {
		ids = append(ids, p.ID)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("topic %s has no partitions", topic)
	}
	return ids, nil
}

// consumePartition delivers one partition's messages one at a time until ctx or genCtx
// is done. After each Ack it calls commit with the partition's next offset; commit is nil
// in the no-group mode, where nothing is committed.
func (s *Subscriber) consumePartition(
	ctx, genCtx context.Context,
	commit func(partition int, next int64),
	topic string, partition int, offset int64,
	out chan<- *message.Message,
	logger watermill.LoggerAdapter,
) {
	// ctx ends the subscription; genCtx ends this member's ownership of the partition.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(genCtx, cancel)
	defer stop()
	if ctx.Err() != nil || genCtx.Err() != nil {
		return
	}

	logger = logger.With(watermill.LogFields{"partition": partition})
	info, errs := kafkaLoggers(logger)
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:          s.cfg.Brokers,
		Topic:            topic,
		Partition:        partition,
		Dialer:           s.cfg.Dialer,
		QueueCapacity:    s.cfg.QueueCapacity,
		MinBytes:         s.cfg.MinBytes,
		MaxBytes:         s.cfg.MaxBytes,
		MaxWait:          s.cfg.MaxWait,
		ReadBatchTimeout: s.cfg.ReadBatchTimeout,
		ReadBackoffMin:   s.cfg.RetryBackoff / 5,
		ReadBackoffMax:   s.cfg.RetryBackoff,
		Logger:           info,
		ErrorLogger:      errs,
	})
	defer r.Close()
	if err := r.SetOffset(offset); err != nil {
		logger.Error("cannot set partition offset", err, watermill.LogFields{"offset": offset})
		return
	}
	logger.Debug("consuming partition", watermill.LogFields{"offset": offset})

	if s.cfg.MaxInFlightPerPartition > 1 {
		s.consumeWindow(ctx, r, commit, partition, out, logger)
		return
	}
	for {
		km, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			logger.Error("fetch failed, retrying", err, nil)
			if !sleep(ctx, s.cfg.RetryBackoff) {
				return
			}
			continue
		}
		if !s.skip(km) && !s.deliver(ctx, km, out, logger) {
			return
		}
		if commit != nil {
			commit(partition, km.Offset+1)
		}
	}
}

func (s *Subscriber) skip(km kafka.Message) bool {
	return s.cfg.Skip != nil && s.cfg.Skip(Headers(km.Headers))
}

// deliver sends km until it is acked. It returns false when ctx ended first.
func (s *Subscriber) deliver(ctx context.Context, km kafka.Message, out chan<- *message.Message, logger watermill.LoggerAdapter) bool {
	for {
		msg := fromKafka(km)
		msgCtx, cancelMsg := context.WithCancel(withDelivery(ctx, km))
		msg.SetContext(msgCtx)

		select {
		case out <- msg:
		case <-ctx.Done():
			cancelMsg()
			return false
		}

		select {
		case <-msg.Acked():
			cancelMsg()
			logger.Trace("message acked", watermill.LogFields{"offset": km.Offset, "uuid": msg.UUID})
			return true
		case <-msg.Nacked():
			cancelMsg()
			logger.Trace("message nacked, resending", watermill.LogFields{"offset": km.Offset, "uuid": msg.UUID})
			if !sleep(ctx, s.cfg.NackResendSleep) {
				return false
			}
		case <-ctx.Done():
			cancelMsg()
			return false
		}
	}
}

// runs numbers the runs of Delivery.Run across every subscriber of the process.
var runs atomic.Uint64

// inFlight is a message of a partition delivered and not yet committed.
type inFlight struct {
	km      kafka.Message
	acked   bool
	gone    bool // its run ended; a late Ack or Nack is ignored
	skipped bool // passed over by SubscriberConfig.Skip: never delivered, holds no token
	ctx     context.Context
	cancel  context.CancelFunc
}

// tokens counts the delivered messages of ms, each holding a token of Subscriber.inFlight.
func tokens(ms []*inFlight) int {
	n := 0
	for _, m := range ms {
		if !m.skipped {
			n++
		}
	}
	return n
}

// outcome is the Ack or Nack of an inFlight message.
type outcome struct {
	m     *inFlight
	acked bool
}

// consumeWindow delivers the messages of r with up to MaxInFlightPerPartition awaiting
// their Ack, until ctx is done. Messages are sent to out in offset order; commit gets the
// offset after the acked prefix. A nack ends the run: every unacked message is cancelled
// and, after NackResendSleep, delivered again in a new run ahead of newer ones.
func (s *Subscriber) consumeWindow(ctx context.Context, r *kafka.Reader, commit func(partition int, next int64), partition int, out chan<- *message.Message, logger watermill.LoggerAdapter) {
	fetched := make(chan kafka.Message)
	var fetcher sync.WaitGroup
	fetcher.Add(1)
	go func() {
		defer fetcher.Done()
		for {
			km, err := r.FetchMessage(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				logger.Error("fetch failed, retrying", err, nil)
				if !sleep(ctx, s.cfg.RetryBackoff) {
					return
				}
				continue
			}
			select {
			case fetched <- km:
			case <-ctx.Done():
				return
			}
		}
	}()
	outcomes := make(chan outcome)
	var watchers sync.WaitGroup
	var (
		window   []*inFlight     // delivered, in offset order, from the first unacked
		queue    []kafka.Message // to deliver, in offset order
		next     *message.Message
		nextM    *inFlight
		run      = runs.Add(1)
		seq      int64
		resendAt <-chan time.Time
		token    bool // a token of s.inFlight is held for the next delivery
	)
	release := func(n int) {
		for range n {
			<-s.inFlight
		}
	}
	if s.inFlight == nil {
		token = true // no cap: every delivery may go
		release = func(int) {}
	}
	defer func() {
		for _, m := range window {
			m.cancel()
		}
		release(tokens(window))
		if nextM != nil {
			nextM.cancel()
		}
		if token && s.inFlight != nil {
			release(1)
		}
		watchers.Wait()
		fetcher.Wait()
	}()
	for {
		// Records the consumer skips take their turn without a delivery: committed at once
		// when nothing before them awaits its Ack, else acked in the window.
		for next == nil && len(queue) > 0 && s.skip(queue[0]) {
			km := queue[0]
			queue = queue[1:]
			if len(window) > 0 {
				window = append(window, &inFlight{km: km, acked: true, skipped: true, cancel: func() {}})
			} else if commit != nil {
				commit(partition, km.Offset+1)
			}
		}
		var send chan<- *message.Message
		var fetch <-chan kafka.Message
		var acquire chan<- struct{}
		if len(window) < s.cfg.MaxInFlightPerPartition && resendAt == nil {
			if len(queue) > 0 && !token {
				acquire = s.inFlight
			} else if len(queue) > 0 {
				if next == nil {
					km := queue[0]
					msgCtx, cancel := context.WithCancel(withRunDelivery(ctx, km, run, seq))
					next, nextM = fromKafka(km), &inFlight{km: km, ctx: msgCtx, cancel: cancel}
					next.SetContext(msgCtx)
				}
				send = out
			} else {
				fetch = fetched
			}
		}
		select {
		case km := <-fetch:
			queue = append(queue, km)
		case acquire <- struct{}{}:
			token = true
		case send <- next:
			token = s.inFlight == nil // the token went with the message
			msg, m := next, nextM
			next, nextM = nil, nil
			queue = queue[1:]
			seq++
			window = append(window, m)
			watchers.Add(1)
			go func() {
				defer watchers.Done()
				var o outcome
				select {
				case <-msg.Acked():
					o = outcome{m: m, acked: true}
				case <-msg.Nacked():
					o = outcome{m: m}
				case <-m.ctx.Done():
					return
				}
				select {
				case outcomes <- o:
				case <-ctx.Done():
				}
			}()
		case o := <-outcomes:
			o.m.cancel()
			if o.m.gone {
				continue
			}
			if o.acked {
				o.m.acked = true
				done := 0
				for done < len(window) && window[done].acked {
					done++
				}
				if done > 0 {
					last := window[done-1].km.Offset
					release(tokens(window[:done]))
					window = window[done:]
					if commit != nil {
						commit(partition, last+1)
					}
				}
				continue
			}
			logger.Trace("message nacked, resending every unacked message", watermill.LogFields{"offset": o.m.km.Offset})
			redo := make([]kafka.Message, 0, len(window)+len(queue))
			for _, m := range window {
				m.gone = true
				m.cancel()
				redo = append(redo, m.km)
			}
			if nextM != nil {
				nextM.cancel()
				next, nextM = nil, nil
			}
			queue = append(redo, queue...)
			release(tokens(window))
			window = nil
			run, seq = runs.Add(1), 0
			resendAt = time.After(s.cfg.NackResendSleep)
		case <-resendAt:
			resendAt = nil
		case <-ctx.Done():
			return
		}
	}
}

func isGenerationOver(err error) bool {
	var kerr kafka.Error
	if !errors.As(err, &kerr) {
		return false
	}
	switch kerr {
	case kafka.RebalanceInProgress, kafka.IllegalGeneration, kafka.UnknownMemberId, kafka.FencedInstanceID:
		return true
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Close stops every subscription, waits for all their goroutines and closes their
// channels. Messages in flight have their context cancelled; their late Ack is ignored
// and they are redelivered later. Close is idempotent.
func (s *Subscriber) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.closing)
	})
	s.wg.Wait()
	return nil
}
