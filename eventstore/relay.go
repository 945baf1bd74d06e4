package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Metadata keys of the messages the relay publishes. The bus maps them to Kafka headers and
// uses the partition key as the Kafka message key; consumers read them through bus.Metadata*
// (the public contract: the two packages may not import each other, so the values repeat).
const (
	metadataPartitionKey  = "partition_key"
	metadataEventType     = "event_type"
	metadataStreamID      = "stream_id"
	metadataStreamType    = "stream_type"
	metadataStreamVersion = "stream_version"
	metadataGlobalPos     = "global_position"
	metadataSchemaVersion = "schema_version"
	metadataCorrelationID = "correlation_id"
	metadataCausationID   = "causation_id"
)

// TopicFunc names the topic the events of a stream type are published to.
type TopicFunc func(streamType string) string

// DefaultTopic publishes each stream type to its own topic, "jobboard.events.<stream type>":
// a projector subscribes to the stream types it needs, and per-topic ordering (per stream,
// with the stream id as partition key) is all consumers may rely on.
func DefaultTopic(streamType string) string { return "jobboard.events." + streamType }

// RelayConfig configures a Relay.
type RelayConfig struct {
	// Name names the relay's checkpoint row and its advisory lock; relays with the same name
	// are one active relay and its standbys. Default "relay".
	Name string
	// TopicFunc picks the topic of an event from its stream type. Default DefaultTopic.
	TopicFunc TopicFunc
	// BatchSize is the most events read and published at once. Default 500.
	BatchSize int
	// PollInterval is how long the active relay waits for a notification before reading
	// anyway. Default 1 s.
	PollInterval time.Duration
	// LockRetryInterval is how often a standby tries to take the lock. Default 1 s.
	LockRetryInterval time.Duration
	// MinBackoff is the first wait after a failed publish or database error. Default 100 ms.
	MinBackoff time.Duration
	// MaxBackoff caps the wait between retries. Default 10 s.
	MaxBackoff time.Duration
	// Logger receives the relay's logs. Default slog.Default().
	Logger *slog.Logger
}

func (c *RelayConfig) setDefaults() {
	if c.Name == "" {
		c.Name = "relay"
	}
	if c.TopicFunc == nil {
		c.TopicFunc = DefaultTopic
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultReadLimit
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.LockRetryInterval == 0 {
		c.LockRetryInterval = time.Second
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem with the configuration.
func (c RelayConfig) Validate() error {
	var errs []error
	if c.BatchSize < 1 || c.BatchSize > MaxReadLimit {
		errs = append(errs, fmt.Errorf("batch size %d is outside 1..%d", c.BatchSize, MaxReadLimit))
	}
	if c.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("poll interval %s <= 0", c.PollInterval))
	}
	if c.LockRetryInterval <= 0 {
		errs = append(errs, fmt.Errorf("lock retry interval %s <= 0", c.LockRetryInterval))
	}
	if c.MinBackoff <= 0 || c.MaxBackoff < c.MinBackoff {
		errs = append(errs, fmt.Errorf("backoff %s..%s is not a positive range", c.MinBackoff, c.MaxBackoff))
	}
	return errors.Join(errs...)
}

// Relay publishes every event of the store, in commit-safe order, at least once, through a
// Watermill publisher, and keeps its checkpoint in the checkpoints table. One relay of a name
// is active at a time: it holds a session advisory lock on a dedicated connection, which
// also LISTENs, reads and saves the checkpoint, so a relay that lost its connection (and
// with it the lock) cannot move the checkpoint. The others wait as hot standbys.
type Relay struct {
	store   *Store
	pub     message.Publisher
	cfg     RelayConfig
	lockKey int64
	log     *slog.Logger
	active  atomic.Bool
}

// NewRelay returns a relay from store to pub.
func NewRelay(store *Store, pub message.Publisher, cfg RelayConfig) (*Relay, error) {
	var errs []error
	if store == nil {
		errs = append(errs, errors.New("nil store"))
	}
	if pub == nil {
		errs = append(errs, errors.New("nil publisher"))
	}
	cfg.setDefaults()
	errs = append(errs, cfg.Validate())
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("eventstore: new relay: %w", err)
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte("jobboard.eventstore.relay:" + cfg.Name))
	return &Relay{
		store:   store,
		pub:     pub,
		cfg:     cfg,
		lockKey: int64(h.Sum64()),
		log:     cfg.Logger.With("component", "relay", "relay", cfg.Name),
	}, nil
}

// Active reports whether this relay currently holds the lock and publishes.
func (r *Relay) Active() bool { return r.active.Load() }

// Run relays until ctx is done, then returns ctx's error. It waits as a standby while another
// relay of the same name is active, and retries database and publish errors with backoff,
// reconnecting as needed (a PostgreSQL restart included). It starts no goroutine.
func (r *Relay) Run(ctx context.Context) error {
	backoff := r.cfg.MinBackoff
	for {
		err := r.runOnce(ctx, func() { backoff = r.cfg.MinBackoff })
		r.active.Store(false)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.log.WarnContext(ctx, "relay: error, reconnecting", "backoff", backoff, "error", err)
		if !sleep(ctx, backoff) {
			return ctx.Err()
		}
		backoff = min(2*backoff, r.cfg.MaxBackoff)
	}
}

// runOnce runs on one dedicated connection: standby until the lock is taken, then active
// until an error. Closing the connection releases the lock.
func (r *Relay) runOnce(ctx context.Context, progressed func()) error {
	pc, err := r.store.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	conn := pc.Hijack()
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	standbyLogged := false
	for {
		var locked bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, r.lockKey).Scan(&locked); err != nil {
			return fmt.Errorf("try advisory lock: %w", err)
		}
		if locked {
			break
		}
		if !standbyLogged {
			r.log.InfoContext(ctx, "relay: standing by, another relay is active")
			standbyLogged = true
		}
		if !sleep(ctx, r.cfg.LockRetryInterval) {
			return ctx.Err()
		}
	}
	r.active.Store(true)
	if err := r.store.listen(ctx, conn); err != nil {
		return err
	}
	pos, err := loadCheckpoint(ctx, conn, r.cfg.Name)
	if err != nil {
		return fmt.Errorf("load checkpoint: %w", err)
	}
	r.log.InfoContext(ctx, "relay: active", "checkpoint", pos.String())
	return r.store.follow(ctx, followParams{
		listen:       conn,
		q:            conn,
		pos:          &pos,
		batchSize:    r.cfg.BatchSize,
		pollInterval: r.cfg.PollInterval,
		handle: func(ctx context.Context, b TailBatch) error {
			if err := r.publish(ctx, b.Events, progressed); err != nil {
				return err
			}
			if err := saveCheckpoint(ctx, conn, r.cfg.Name, b.Last()); err != nil {
				return fmt.Errorf("save checkpoint at %s: %w", b.Last(), err)
			}
			return nil
		},
		progressed: progressed,
	})
}

// publish publishes a batch, one Publish call per topic, in order within each topic, retrying
// each topic until it is accepted; a topic already accepted is not published again.
func (r *Relay) publish(ctx context.Context, events []Event, progressed func()) error {
	var topics []string
	byTopic := map[string][]Event{}
	for _, e := range events {
		t := r.cfg.TopicFunc(e.StreamType)
		if _, ok := byTopic[t]; !ok {
			topics = append(topics, t)
		}
		byTopic[t] = append(byTopic[t], e)
	}
	for _, topic := range topics {
		backoff := r.cfg.MinBackoff
		msgs, err := messages(byTopic[topic])
		if err != nil {
			return err
		}
		for {
			err := r.pub.Publish(topic, msgs...)
			if err == nil {
				break
			}
			r.log.WarnContext(ctx, "relay: publish failed, retrying", "topic", topic, "events", len(msgs), "backoff", backoff, "error", err)
			if !sleep(ctx, backoff) {
				return ctx.Err()
			}
			backoff = min(2*backoff, r.cfg.MaxBackoff)
		}
		progressed()
	}
	return nil
}

// messages builds one message per event: UUID = event id, payload = the event envelope.
func messages(events []Event) ([]*message.Message, error) {
	msgs := make([]*message.Message, len(events))
	for i, e := range events {
		payload, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode event %s: %w", e.EventID, err)
		}
		m := message.NewMessage(e.EventID.String(), payload)
		m.Metadata.Set(metadataPartitionKey, e.StreamID)
		m.Metadata.Set(metadataEventType, e.Type)
		m.Metadata.Set(metadataStreamID, e.StreamID)
		m.Metadata.Set(metadataStreamType, e.StreamType)
		m.Metadata.Set(metadataStreamVersion, strconv.FormatInt(e.StreamVersion, 10))
		m.Metadata.Set(metadataGlobalPos, strconv.FormatInt(e.GlobalPosition, 10))
		m.Metadata.Set(metadataSchemaVersion, strconv.Itoa(e.SchemaVersion))
		m.Metadata.Set(metadataCorrelationID, e.Metadata.CorrelationID)
		m.Metadata.Set(metadataCausationID, e.Metadata.CausationID)
		msgs[i] = m
	}
	return msgs, nil
}
