package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jobboard/jobboard/bus"
	"github.com/jobboard/jobboard/eventstore"
)

// DeadLetterTopic is the default dead-letter topic of a projector: "jobboard.dlq.<name>".
func DeadLetterTopic(projector string) string { return "jobboard.dlq." + projector }

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// Brokers are the Kafka bootstrap addresses. Required unless NewSubscriber is set.
	Brokers []string
	// Subscriber is the template of each projector's bus subscriber; Brokers and
	// ConsumerGroup are filled in per projector. Its MaxInFlightPerPartition and
	// MaxInFlight default to twice BatchMaxSize, so one partition's backlog can fill a
	// batch while the previous batch is written, and no more than that is in flight.
	Subscriber bus.SubscriberConfig
	// NewSubscriber, if set, builds the subscriber of a consumer group instead of
	// bus.NewSubscriber (tests, other transports).
	NewSubscriber func(consumerGroup string) (message.Subscriber, error)
	// DeadLetterPublisher publishes events given up on. Required.
	DeadLetterPublisher message.Publisher
	// DeadLetters, if set, records every dead letter in PostgreSQL before it is published,
	// for `projections dlq` and the dead-letter counts of Status.
	DeadLetters *DeadLetters
	// Topic names the topic of a stream type. Default eventstore.DefaultTopic.
	Topic func(streamType string) string
	// DeadLetterTopic names a projector's dead-letter topic. Default DeadLetterTopic.
	DeadLetterTopic func(projector string) string
	// ConsumerGroup names a projector's consumer group. Default: the projector's name.
	ConsumerGroup func(projector string) string
	// MaxRetries is how often a failed event is retried (with exponential backoff) before
	// it goes to the dead-letter topic. Default 5.
	MaxRetries int
	// RetryInitialInterval is the first backoff. Default 100 ms.
	RetryInitialInterval time.Duration
	// RetryMaxInterval caps the backoff. Default 5 s.
	RetryMaxInterval time.Duration
	// BatchMaxSize is the most events applied in one write. Default 5000, a rebuild's
	// batch (RebuilderConfig.BatchSize). A write takes the events that arrived while the
	// previous one ran, without waiting for more.
	BatchMaxSize int
	// ApplyTimeout bounds one write. Default 30 s.
	ApplyTimeout time.Duration
	// CatchUp, if its Store is set, makes Run apply each projector's backlog from the event
	// store (in batches of BatchMaxSize, at most eventstore.MaxReadLimit) before the
	// projector's Kafka subscription starts, and the subscription skip the records of what it
	// applied. Only for projectors that record applied stream versions
	// (applyFresh) in the live version's schema, and only with the bus subscriber.
	CatchUp CatchUpConfig
	// Metrics registers the runner's Prometheus collectors; nil registers nothing.
	Metrics prometheus.Registerer
	// Logger receives the runner's logs. Default slog.Default().
	Logger *slog.Logger
}

func (c *RunnerConfig) setDefaults() {
	if c.Topic == nil {
		c.Topic = eventstore.DefaultTopic
	}
	if c.DeadLetterTopic == nil {
		c.DeadLetterTopic = DeadLetterTopic
	}
	if c.ConsumerGroup == nil {
		c.ConsumerGroup = func(name string) string { return name }
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 5
	}
	if c.RetryInitialInterval == 0 {
		c.RetryInitialInterval = 100 * time.Millisecond
	}
	if c.RetryMaxInterval == 0 {
		c.RetryMaxInterval = 5 * time.Second
	}
	if c.BatchMaxSize == 0 {
		c.BatchMaxSize = 5000
	}
	// Two batches in flight: the next one gathers while one is written.
	if c.Subscriber.MaxInFlightPerPartition == 0 {
		c.Subscriber.MaxInFlightPerPartition = 2 * c.BatchMaxSize
	}
	if c.Subscriber.MaxInFlight == 0 {
		c.Subscriber.MaxInFlight = 2 * c.BatchMaxSize
	}
	if c.ApplyTimeout == 0 {
		c.ApplyTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.CatchUp.Window == 0 {
		c.CatchUp.Window = 100000
	}
}

// Validate reports every problem of the configuration.
func (c RunnerConfig) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 && c.NewSubscriber == nil {
		errs = append(errs, errors.New("brokers are missing"))
	}
	if c.DeadLetterPublisher == nil {
		errs = append(errs, errors.New("dead-letter publisher is missing"))
	}
	if c.MaxRetries < 0 {
		errs = append(errs, fmt.Errorf("max retries must not be negative, got %d", c.MaxRetries))
	}
	if c.RetryInitialInterval < 0 || c.RetryMaxInterval < 0 {
		errs = append(errs, errors.New("retry intervals must not be negative"))
	}
	if c.BatchMaxSize < 0 {
		errs = append(errs, fmt.Errorf("batch max size must not be negative, got %d", c.BatchMaxSize))
	}
	if c.ApplyTimeout < 0 {
		errs = append(errs, errors.New("apply timeout must not be negative"))
	}
	if c.CatchUp.Store != nil && c.CatchUp.Pool == nil {
		errs = append(errs, errors.New("catch-up needs a pool"))
	}
	if c.CatchUp.Store != nil && c.NewSubscriber != nil {
		errs = append(errs, errors.New("catch-up needs the bus subscriber (NewSubscriber is set)"))
	}
	if c.CatchUp.Window < 0 {
		errs = append(errs, fmt.Errorf("catch-up window must not be negative, got %d", c.CatchUp.Window))
	}
	return errors.Join(errs...)
}

// Runner runs projectors as handlers of one Watermill router: each projector has its own
// subscriber in its own consumer group, one handler per topic it consumes, and a batcher
// shared by its handlers. Several Runners (processes) with the same projectors share the
// partitions of the group.
type Runner struct {
	cfg          RunnerConfig
	router       *message.Router
	subscribers  []message.Subscriber
	batchers     []*batcher
	catchUps     []*catchUp
	catchUpReads *catchUpReads
	decoders     *decoders
	logger       *slog.Logger

	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewRunner builds the router for projectors; Run starts it.
func NewRunner(cfg RunnerConfig, projectors ...Projector) (*Runner, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("projections: invalid runner config: %w", err)
	}
	if len(projectors) == 0 {
		return nil, errors.New("projections: new runner: no projectors")
	}
	wlog := newRouterLogger(cfg.Logger)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, wlog)
	if err != nil {
		return nil, fmt.Errorf("projections: new router: %w", err)
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, router: router, decoders: newDecoders(), logger: cfg.Logger, done: make(chan struct{})}

	names := map[string]bool{}
	for _, p := range projectors {
		name := p.Name()
		if name == "" || names[name] {
			r.closeSubscribers()
			return nil, fmt.Errorf("projections: projector name %q is empty or repeated", name)
		}
		names[name] = true
		if err := r.addProjector(p, m, wlog); err != nil {
			r.closeSubscribers()
			return nil, err
		}
	}
	return r, nil
}

func (r *Runner) addProjector(p Projector, m *metrics, wlog watermill.LoggerAdapter) error {
	name := p.Name()
	group := r.cfg.ConsumerGroup(name)
	var skips *caughtUp
	if r.cfg.CatchUp.Store != nil {
		skips = newCaughtUp()
	}
	var sub message.Subscriber
	var err error
	if r.cfg.NewSubscriber != nil {
		sub, err = r.cfg.NewSubscriber(group)
	} else {
		sc := r.cfg.Subscriber
		sc.Brokers = r.cfg.Brokers
		sc.ConsumerGroup = group
		if skips != nil {
			sc.Skip = skips.skip
		}
		sub, err = bus.NewSubscriber(sc, wlog)
	}
	if err != nil {
		return fmt.Errorf("projections: subscriber of %s: %w", name, err)
	}
	r.subscribers = append(r.subscribers, sub)

	logger := r.logger.With("projector", name)
	observe := m.observeBatch(name)
	// The debug log gives each write's size and duration in order, which the histograms
	// do not: how batches grow and shrink while a backlog drains (docs/BENCHMARKS.md).
	onBatch := func(events []Event, took time.Duration, err error) {
		observe(events, took, err)
		if logger.Enabled(context.Background(), slog.LevelDebug) {
			logger.Debug("batch applied", "events", len(events), "took", took, "err", err)
		}
	}
	// One write of the projector at a time: its subscriptions' or its catch-up's.
	applyMu := &sync.Mutex{}
	var c *catchUp
	pos := &positions{}
	out := m.outcomes(name, pos)
	if skips != nil {
		if r.catchUpReads == nil {
			r.catchUpReads = newCatchUpReads(r.cfg.CatchUp.Store)
		}
		types := slices.Sorted(slices.Values(p.StreamTypes()))
		r.catchUpReads.join(types)
		c = &catchUp{
			cfg: r.cfg.CatchUp, projector: p, typeList: types, reads: r.catchUpReads, batchSize: min(r.cfg.BatchMaxSize, eventstore.MaxReadLimit), timeout: r.cfg.ApplyTimeout,
			onBatch: onBatch, outcomes: out, skips: skips, applyMu: applyMu, wake: make(chan struct{}, 1), logger: logger,
		}
		r.catchUps = append(r.catchUps, c)
	}
	apply := func(ctx context.Context, events []Event) error {
		applyMu.Lock()
		err := p.Apply(ctx, events)
		applyMu.Unlock()
		if err == nil && c != nil {
			c.noticeLive(events)
		}
		return err
	}
	b := newBatcher(apply, r.cfg.BatchMaxSize, r.cfg.ApplyTimeout, onBatch)
	r.batchers = append(r.batchers, b)

	var dlqPub message.Publisher = r.cfg.DeadLetterPublisher
	if r.cfg.DeadLetters != nil {
		dlqPub = recordingPublisher{Publisher: dlqPub, projection: name, dl: r.cfg.DeadLetters}
	}
	dlq := countingPublisher{Publisher: dlqPub, counter: m.deadLettered.WithLabelValues(name)}
	// intake hands the poison queue only what is given up on.
	poison, err := middleware.PoisonQueue(dlq, r.cfg.DeadLetterTopic(name))
	if err != nil {
		return fmt.Errorf("projections: poison queue of %s: %w", name, err)
	}
	in := intake{
		outcomes: out,
		poison:   poison,
		batcher:  b,
		retries: retryPolicy{
			max: r.cfg.MaxRetries, initial: r.cfg.RetryInitialInterval, maxInterval: r.cfg.RetryMaxInterval,
			logger: logger,
		},
	}
	handle := func(msg *message.Message) error {
		ev, err := r.decoders.decode(msg)
		if IsTransient(err) { // cancelled, or the runner stops
			return err
		}
		if err != nil {
			logger.Warn("undecodable event", "err", err, "message_uuid", msg.UUID)
			return err
		}
		if err := b.submit(msg.Context(), ev); err != nil {
			if !IsTransient(err) {
				logger.Warn("projecting event failed", "err", err, "event_type", ev.Type,
					"stream_id", ev.StreamID, "stream_version", ev.StreamVersion,
					"correlation_id", msg.Metadata.Get(middleware.CorrelationIDMetadataKey))
			}
			return err
		}
		return nil
	}
	for _, st := range p.StreamTypes() {
		topic := r.cfg.Topic(st)
		h := r.router.AddConsumerHandler(name+"/"+topic, topic, sub, handle)
		h.AddMiddleware(in.middleware)
	}
	return nil
}

func globalPosition(msg *message.Message) int64 {
	v, _ := strconv.ParseInt(msg.Metadata.Get(bus.MetadataGlobalPosition), 10, 64)
	return v
}

// Run consumes until ctx ends or Close is called. It returns nil after a clean stop.
func (r *Runner) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.started || r.closed {
		r.mu.Unlock()
		return errors.New("projections: runner already started or closed")
	}
	r.started = true
	ctx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	r.mu.Unlock()
	defer close(r.done)
	defer cancel()

	var wg sync.WaitGroup
	batchCtx, stopBatchers := context.WithCancel(context.Background())
	for _, b := range r.batchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.run(batchCtx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.decoders.run(batchCtx, runtime.GOMAXPROCS(0))
	}()
	var err error
	if r.catchUpAll(ctx) == nil {
		watchCtx, stopWatching := context.WithCancel(ctx)
		for _, c := range r.catchUps {
			if c.cfg.Behind > 0 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c.watch(watchCtx)
				}()
			}
		}
		err = r.router.Run(ctx)
		stopWatching()
	}
	// The router waited for its handlers; the batchers and decoders have nothing left to
	// answer.
	stopBatchers()
	wg.Wait()
	r.closeSubscribers()
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("projections: router: %w", err)
	}
	return nil
}

// catchUpAll runs the catch-up of every projector at once (see CatchUpConfig); it returns an
// error only when ctx ended.
func (r *Runner) catchUpAll(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, c := range r.catchUps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.run(ctx)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// Running is closed once every handler subscribed.
func (r *Runner) Running() <-chan struct{} { return r.router.Running() }

// Close stops the router, waits for Run to return and closes the subscribers. It is
// idempotent.
func (r *Runner) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	started, cancel := r.started, r.cancel
	r.mu.Unlock()
	if started {
		select {
		case <-r.router.Running():
		default:
			// Still subscribing: Watermill's Close would wait its whole CloseTimeout for the
			// handlers that never start. Cancelling Run's context ends the subscriptions
			// (and the handlers already running), so Run returns on its own.
			cancel()
			<-r.done
			return nil
		}
	}
	err := r.router.Close()
	if started {
		cancel()
		<-r.done
	} else {
		r.closeSubscribers()
	}
	return err
}

func (r *Runner) closeSubscribers() {
	for _, s := range r.subscribers {
		if err := s.Close(); err != nil {
			r.logger.Warn("close subscriber", "err", err)
		}
	}
}
