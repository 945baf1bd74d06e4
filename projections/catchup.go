package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/bus"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/readmodels"
)

// CatchUpConfig lets a Runner read a projector's backlog straight from the event store, as a
// rebuild does, before it consumes Kafka (ADR 0006). Delivering a backlog through Kafka costs
// a fetch, a message, a handler goroutine and a decode per event and consumer group; reading
// it from the store in batches costs what a rebuild costs, several times less.
type CatchUpConfig struct {
	// Store is the event store to read; nil turns the catch-up off.
	Store *eventstore.Store
	// Pool reads the projections' registry and applied versions.
	Pool *pgxpool.Pool
	// Window is how many of the store's newest events the first search for an unapplied
	// event looks at; it grows (×8) while the whole window is behind. Default 100,000.
	Window int64
	// Behind, when positive, also catches up while the subscriptions run: a write from
	// Kafka whose newest event is older than Behind (a backlog built up while the projector
	// ran: an Elasticsearch outage, a burst beyond the live path's rate) starts a catch-up
	// beside the subscriptions, at most one per Behind; the writes of the two take turns.
	// 0: only at the runner's start.
	Behind time.Duration
}

// DefaultCatchUpBehind is the CatchUpConfig.Behind that serve runs with: a projector 10 s
// behind reads the rest from the store.
const DefaultCatchUpBehind = 10 * time.Second

// catchUp brings one live projector up to the store's head from the store: before its Kafka
// subscription starts, and again whenever the subscription's writes show it cfg.Behind
// (watch). It only ever applies a stream's events in order from the version its
// projection applied: a stream whose next event is missing from what it read (an older event
// not applied yet, before where it started) or cannot be decoded or applied is left, from
// there on, to Kafka, which delivers it as before (retries, dead letters). Every event it
// applied is recorded in skips, so the Kafka subscription passes over its records without
// delivering them.
type catchUp struct {
	cfg       CatchUpConfig
	projector Projector
	typeList  []string // the projector's stream types, sorted
	reads     *catchUpReads
	batchSize int
	timeout   time.Duration                                       // of one write (RunnerConfig.ApplyTimeout)
	onBatch   func(events []Event, took time.Duration, err error) // the runner's, as for its batcher
	outcomes  *outcomes
	skips     *caughtUp
	applyMu   *sync.Mutex     // held by each write: the catch-up's and the subscriptions' take turns
	wake      chan struct{}   // a write from Kafka found its events older than cfg.Behind
	left      map[string]bool // streams left to Kafka by the catch-up running
	logger    *slog.Logger
}

// noticeLive wakes watch when events, just applied from Kafka, show the projector behind.
func (c *catchUp) noticeLive(events []Event) {
	if c.cfg.Behind <= 0 {
		return
	}
	if newest := newestRecorded(events); !newest.IsZero() && time.Since(newest) >= c.cfg.Behind {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// watch runs a catch-up each time the subscriptions' writes show the projector behind, at
// most one per cfg.Behind, until ctx ends. (A catch-up's last writes are followed by the
// records Kafka had in flight, found applied: their age must not start another at once.)
func (c *catchUp) watch(ctx context.Context) {
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
		if time.Since(last) < c.cfg.Behind {
			continue
		}
		c.logger.Info("projector behind its subscriptions' pace: catching up from the event store", "behind", c.cfg.Behind)
		if c.run(ctx) != nil {
			return
		}
		last = time.Now()
	}
}

// run catches up; it returns an error only when ctx ended. Any other failure ends the
// catch-up early: Kafka delivers what is left.
func (c *catchUp) run(ctx context.Context) error {
	start := time.Now()
	c.left = map[string]bool{}
	from, head, ok, err := c.start(ctx)
	if err == nil && ok {
		var n int
		n, err = c.follow(ctx, from, head)
		if n > 0 {
			c.logger.Info("caught up from the event store", "events", n, "took", time.Since(start).Round(time.Millisecond),
				"streams_left_to_kafka", len(c.left))
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		c.logger.Warn("catch-up from the event store stopped; Kafka delivers the rest", "err", err)
	}
	c.skips.forgetAfter(skipFor)
	return nil
}

// start finds where to read from: just before the oldest event of the projector's stream
// types that its live version has not applied, among the newest Window events (widened while
// the oldest one found is at the window's start). ok is false when none is behind.
func (c *catchUp) start(ctx context.Context) (from eventstore.Position, head int64, ok bool, err error) {
	t, err := readmodels.LiveTarget(ctx, c.cfg.Pool, c.projector.Name())
	if err != nil {
		return eventstore.Position{}, 0, false, err
	}
	if err := c.cfg.Pool.QueryRow(ctx, `SELECT coalesce(max(global_position), 0) FROM events`).Scan(&head); err != nil {
		return eventstore.Position{}, 0, false, fmt.Errorf("head of the store: %w", err)
	}
	for window := c.cfg.Window; ; window *= 8 {
		low := max(0, head-window)
		var p eventstore.Position
		err := c.cfg.Pool.QueryRow(ctx, fmt.Sprintf(`SELECT e.transaction_id, e.global_position FROM events e
			WHERE e.global_position > $1 AND e.stream_type = ANY($2)
			  AND e.stream_version > coalesce((SELECT a.version FROM %s.applied_streams a WHERE a.stream_id = e.stream_id), 0)
			ORDER BY e.global_position LIMIT 1`, t.Schema), low, c.typeList).Scan(&p.TransactionID, &p.GlobalPosition)
		if errors.Is(err, pgx.ErrNoRows) {
			return eventstore.Position{}, 0, false, nil
		}
		if err != nil {
			return eventstore.Position{}, 0, false, fmt.Errorf("oldest unapplied event: %w", err)
		}
		if low == 0 || p.GlobalPosition > low+window/100 {
			// Read from just before it: the events of its transaction after it, and of
			// later transactions. Events before it in commit order are either applied or
			// left to Kafka (their streams' later events then miss a predecessor).
			p.GlobalPosition--
			return p, head, true, nil
		}
	}
}

// follow reads batches after from and applies them until it has read every event up to
// global position head (the store's head when the catch-up started; what comes later, Kafka
// delivers). The next batch is read (and decoded) while one is applied. Reads are
// commit-safe: events committed but held back by an older transaction still in flight are
// waited for, up to heldBackWait without progress, then left to Kafka. It returns how many
// events of the projector's stream types it read.
func (c *catchUp) follow(ctx context.Context, from eventstore.Position, head int64) (int, error) {
	ahead := make(chan *sharedRead, 1)
	readAfter := func(pos eventstore.Position) {
		go func() { ahead <- c.reads.read(ctx, c.typeList, pos, c.batchSize) }()
	}
	pending := true
	defer func() {
		if pending {
			<-ahead // the reader goroutine ends with its read
		}
	}()
	readAfter(from)
	pos, total := from, 0
	var stalled time.Time // since when reads came back empty while events were held back
	for {
		res := <-ahead
		pending = false
		if res.err != nil {
			return total, res.err
		}
		n := len(res.events)
		if n > 0 {
			pos, stalled = res.events[n-1].Position(), time.Time{}
		}
		if n == c.batchSize {
			readAfter(pos)
			pending = true
		}
		if err := c.apply(ctx, res); err != nil {
			return total, err
		}
		total += n
		if n == c.batchSize {
			continue
		}
		var more bool
		where, args := eventstore.AfterWhere(pos, eventstore.ReadFilter{StreamTypes: c.typeList})
		args = append(args, head)
		if err := c.cfg.Pool.QueryRow(ctx, fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM events WHERE %s AND global_position <= $%d)`,
			where, len(args)), args...).Scan(&more); err != nil {
			return total, fmt.Errorf("events left to read: %w", err)
		}
		if !more {
			return total, nil
		}
		if n == 0 {
			if stalled.IsZero() {
				stalled = time.Now()
			} else if time.Since(stalled) > heldBackWait {
				return total, fmt.Errorf("events held back by a transaction in flight for %s", heldBackWait)
			}
			select {
			case <-ctx.Done():
				return total, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		readAfter(pos)
		pending = true
	}
}

// heldBackWait is how long a catch-up waits without progress for events an older
// transaction in flight holds back before it leaves them to Kafka.
const heldBackWait = 5 * time.Second

// apply applies the events of one read that the catch-up may apply.
func (c *catchUp) apply(ctx context.Context, read *sharedRead) error {
	if len(read.events) == 0 {
		return nil
	}
	t, err := readmodels.LiveTarget(ctx, c.cfg.Pool, c.projector.Name())
	if err != nil {
		return err
	}
	if err := c.checkOrder(ctx, t.Schema, read.events); err != nil {
		return err
	}
	batch := make([]Event, 0, len(read.events))
	for i, e := range read.events {
		if c.left[e.StreamID] {
			continue
		}
		if read.undecodable[i] {
			// Kafka's delivery retries it and dead-letters it, as for any event.
			c.left[e.StreamID] = true
			continue
		}
		batch = append(batch, read.decoded[i])
	}
	if len(batch) == 0 {
		return nil
	}
	c.applyMu.Lock()
	began := time.Now()
	applyCtx, cancel := context.WithTimeout(ctx, c.timeout)
	if b, ok := c.projector.(backlogApplier); ok {
		err = b.ApplyBacklog(applyCtx, batch)
	} else {
		err = c.projector.Apply(applyCtx, batch)
	}
	cancel()
	c.applyMu.Unlock()
	if c.onBatch != nil {
		c.onBatch(batch, time.Since(began), err)
	}
	if err != nil {
		return fmt.Errorf("apply %d events: %w", len(batch), err)
	}
	c.skips.record(batch)
	c.outcomes.caughtUp(batch)
	return nil
}

// catchUpReads reads and decodes the store for the catch-ups of a runner. The catch-ups of
// projectors that consume the same stream types read the same batches when they start at the
// same place (every projector after an outage or a deployment of the whole service): the
// first to ask for a batch reads and decodes it, the others take it. At most maxSharedReads
// batches wait for their other readers; a catch-up that finds its batch gone reads it itself.
type catchUpReads struct {
	store *eventstore.Store
	mu    sync.Mutex
	users map[string]int // stream types → catch-ups reading them
	reads map[readKey]*sharedRead
	order []readKey // waiting batches, oldest first
}

const maxSharedReads = 4

type readKey struct {
	types string
	after eventstore.Position
	limit int
}

// sharedRead is one batch read: the events, and each decoded (decoded[i] is events[i]'s,
// unless undecodable[i]). Its readers must not change them.
type sharedRead struct {
	done        chan struct{}
	events      []eventstore.Event
	decoded     []Event
	undecodable []bool
	err         error
	left        int // readers still to take it
}

func newCatchUpReads(store *eventstore.Store) *catchUpReads {
	return &catchUpReads{store: store, users: map[string]int{}, reads: map[readKey]*sharedRead{}}
}

// join counts one more catch-up reading types (sorted).
func (r *catchUpReads) join(types []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.users[strings.Join(types, ",")]++
}

// read returns the batch of at most limit events of types after after.
func (r *catchUpReads) read(ctx context.Context, types []string, after eventstore.Position, limit int) *sharedRead {
	key := readKey{types: strings.Join(types, ","), after: after, limit: limit}
	r.mu.Lock()
	if s, ok := r.reads[key]; ok {
		if s.left--; s.left == 0 {
			r.forget(key)
		}
		r.mu.Unlock()
		<-s.done
		return s
	}
	s := &sharedRead{done: make(chan struct{}), left: r.users[key.types] - 1}
	if s.left > 0 {
		r.reads[key] = s
		r.order = append(r.order, key)
		if len(r.order) > maxSharedReads {
			r.forget(r.order[0])
		}
	}
	r.mu.Unlock()
	defer close(s.done)
	s.events, s.err = r.store.ReadAll(ctx, after, limit, eventstore.ReadFilter{StreamTypes: types})
	if s.err != nil {
		return s
	}
	s.decoded = make([]Event, len(s.events))
	s.undecodable = make([]bool, len(s.events))
	// Decoding is most of a read's CPU, and every catch-up waits for the first batch.
	var wg sync.WaitGroup
	parts := runtime.GOMAXPROCS(0)
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p * len(s.events) / parts; i < (p+1)*len(s.events)/parts; i++ {
				ev, err := DecodeEvent(s.events[i])
				s.decoded[i], s.undecodable[i] = ev, err != nil
			}
		}()
	}
	wg.Wait()
	return s
}

func (r *catchUpReads) forget(key readKey) {
	delete(r.reads, key)
	if i := slices.Index(r.order, key); i >= 0 {
		r.order = slices.Delete(r.order, i, i+1)
	}
}

// checkOrder leaves to Kafka every stream whose first event in events is not the one after
// the version its projection applied: an older event of it is not applied yet. Applied
// versions only grow (whoever else applies the stream meanwhile), so a stream that passes
// stays in order.
func (c *catchUp) checkOrder(ctx context.Context, schema string, events []eventstore.Event) error {
	first := map[string]int64{}
	ids := make([]string, 0, len(events))
	for _, e := range events {
		if _, ok := first[e.StreamID]; !ok && !c.left[e.StreamID] {
			first[e.StreamID] = e.StreamVersion
			ids = append(ids, e.StreamID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	applied := make(map[string]int64, len(ids))
	rows, err := c.cfg.Pool.Query(ctx, fmt.Sprintf(`SELECT stream_id, version FROM %s.applied_streams WHERE stream_id = ANY($1)`, schema), ids)
	if err != nil {
		return fmt.Errorf("applied versions: %w", err)
	}
	for rows.Next() {
		var (
			id string
			v  int64
		)
		if err := rows.Scan(&id, &v); err != nil {
			rows.Close()
			return fmt.Errorf("applied versions: %w", err)
		}
		applied[id] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("applied versions: %w", err)
	}
	for _, id := range ids {
		if first[id] > applied[id]+1 {
			c.left[id] = true
		}
	}
	return nil
}

// caughtUp is what a runner's catch-up applied, per stream: the Kafka subscription of its
// projector skips the records of those events (bus.SubscriberConfig.Skip). A record may be fetched again after a rebalance, so an entry stays after
// its last record was skipped; the whole map is let go skipFor after the catch-up (forget),
// when the subscriptions are long past it, and it records at most maxCaughtUpStreams
// streams (the events of the others are delivered and found applied, as without it).
type caughtUp struct {
	mu       sync.Mutex
	versions map[string]int64 // stream → newest version applied by the catch-up
	forgets  *time.Timer      // lets versions go skipFor after the last catch-up
}

const (
	maxCaughtUpStreams = 500000
	skipFor            = 15 * time.Minute
)

func newCaughtUp() *caughtUp {
	return &caughtUp{versions: map[string]int64{}}
}

func (c *caughtUp) record(events []Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range events {
		if v, ok := c.versions[ev.StreamID]; ok || len(c.versions) < maxCaughtUpStreams {
			c.versions[ev.StreamID] = max(v, ev.StreamVersion)
		}
	}
}

// forgetAfter forgets d from now (a later catch-up postpones it).
func (c *caughtUp) forgetAfter(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forgets == nil {
		c.forgets = time.AfterFunc(d, c.forget)
		return
	}
	c.forgets.Reset(d)
}

// forget lets the map go: the subscriptions deliver every record from now on.
func (c *caughtUp) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.versions = map[string]int64{}
}

// skip reports whether the record with headers h carries an event the catch-up applied.
func (c *caughtUp) skip(h bus.Headers) bool {
	id := h.Get(bus.MetadataStreamID)
	if id == nil {
		return false
	}
	c.mu.Lock()
	caught, ok := c.versions[string(id)]
	c.mu.Unlock()
	if !ok {
		return false
	}
	v, err := strconv.ParseInt(string(h.Get(bus.MetadataStreamVersion)), 10, 64)
	return err == nil && v <= caught
}
