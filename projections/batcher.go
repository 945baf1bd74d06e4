package projections

import (
	"context"
	"errors"
	"runtime/debug"
	"time"

	"github.com/jobboard/jobboard/bus"
)

var errBatcherStopped = Transient(errors.New("projections: batcher stopped"))

// errRunEnded answers the events held for a run of deliveries that a newer run of the same
// partition replaced (the subscriber delivers them again in the new run).
var errRunEnded = Transient(errors.New("projections: delivery run ended"))

// batcher turns the one-message-at-a-time handler calls of the router into batches: it
// takes every event handed in since its last write, applies them with one call of at most
// maxSize events, then answers every caller, which only then acks its message. Nothing
// waits for a batch to fill: a lone event is applied at once, and the events arriving
// while a write runs form the next batch, so batches grow with the backlog.
//
// The subscriber keeps several messages of a partition in flight and the router handles
// them concurrently, so the batcher restores their order from their bus.Delivery: event
// Seq n of a run is released into a batch only after n-1 was. A failed batch is applied
// again event by event, so one bad event fails alone; the run of an event that failed and
// will be retried is rewound, so none of its successors is applied before it is applied
// again or given up on (pass): delivery stays at-least-once and in order per partition.
// The successors released before the rewind go back to waiting without an answer: an
// error would count as a failed attempt of theirs, and an event waiting behind one that
// keeps failing would be dead-lettered with it.
type batcher struct {
	apply   func(ctx context.Context, events []Event) error
	maxSize int
	timeout time.Duration
	onBatch func(events []Event, took time.Duration, err error)

	in      chan *batchItem
	stopped chan struct{}

	// Owned by run.
	ready  []*batchItem            // released, in order, not yet applied
	runs   map[uint64]*deliveryRun // runs with ordering information
	latest map[partitionKey]uint64 // the newest run of each partition
}

type partitionKey struct {
	topic     string
	partition int
}

// deliveryRun holds the events of one run of a partition that arrived before their turn.
type deliveryRun struct {
	key  partitionKey
	next int64 // Seq of the next event to release
	held map[int64]*batchItem
}

type batchItem struct {
	ev      Event
	skip    bool // takes its turn without being applied (an undecodable message)
	ordered bool
	key     partitionKey
	run     uint64
	seq     int64
	done    chan error
}

func newBatcher(apply func(context.Context, []Event) error, maxSize int, timeout time.Duration, onBatch func([]Event, time.Duration, error)) *batcher {
	return &batcher{
		apply:   apply,
		maxSize: maxSize,
		timeout: timeout,
		onBatch: onBatch,
		in:      make(chan *batchItem),
		stopped: make(chan struct{}),
		runs:    map[uint64]*deliveryRun{},
		latest:  map[partitionKey]uint64{},
	}
}

// submit hands ev, delivered with ctx (a message's context), to the batcher and waits for
// the outcome of its batch.
func (b *batcher) submit(ctx context.Context, ev Event) error {
	return b.hand(ctx, &batchItem{ev: ev})
}

// pass gives the turn of the message delivered with ctx to its successors without
// applying anything: the message is given up on (dead-lettered), so its successors must
// not wait for its retry any more.
func (b *batcher) pass(ctx context.Context) {
	if d, ok := bus.DeliveryFromContext(ctx); ok && d.Run != 0 {
		_ = b.hand(ctx, &batchItem{skip: true})
	}
}

func (b *batcher) hand(ctx context.Context, it *batchItem) error {
	if d, ok := bus.DeliveryFromContext(ctx); ok && d.Run != 0 {
		it.ordered, it.run, it.seq = true, d.Run, d.Seq
		it.key = partitionKey{topic: d.Topic, partition: d.Partition}
	}
	it.done = make(chan error, 1)
	select {
	case b.in <- it:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.stopped:
		return errBatcherStopped
	}
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		// The batch may still be applied; the message is redelivered and skipped then.
		return ctx.Err()
	}
}

// run collects and applies batches until ctx ends.
func (b *batcher) run(ctx context.Context) {
	defer close(b.stopped)
	defer func() {
		for _, it := range b.ready {
			it.done <- ctx.Err()
		}
		for _, r := range b.runs {
			for _, it := range r.held {
				it.done <- ctx.Err()
			}
		}
	}()
	for {
		if len(b.ready) == 0 {
			select {
			case <-ctx.Done():
				return
			case it := <-b.in:
				b.accept(it)
			}
		}
	drain:
		for {
			select {
			case it := <-b.in:
				b.accept(it)
			default:
				break drain
			}
		}
		n := min(len(b.ready), b.maxSize)
		if n == 0 {
			continue
		}
		batch := b.ready[:n:n]
		b.ready = b.ready[n:]
		b.flush(ctx, batch)
	}
}

// accept releases it, and whatever of its run it unblocks, into ready, or holds it until
// its predecessors arrived.
func (b *batcher) accept(it *batchItem) {
	if !it.ordered {
		b.ready = append(b.ready, it)
		return
	}
	r := b.runs[it.run]
	if r == nil {
		key := it.key
		if old, ok := b.latest[key]; ok && old > it.run {
			it.done <- errRunEnded
			return
		} else if ok {
			b.endRun(old)
		}
		b.latest[key] = it.run
		r = &deliveryRun{key: key, held: map[int64]*batchItem{}}
		b.runs[it.run] = r
	}
	if it.seq < r.next {
		// Released before and given up on (a permanent error): its retry or pass goes
		// ahead of nothing.
		b.ready = append(b.ready, it)
		return
	}
	r.held[it.seq] = it
	for {
		next, ok := r.held[r.next]
		if !ok {
			return
		}
		delete(r.held, r.next)
		r.next++
		b.ready = append(b.ready, next)
	}
}

// endRun forgets a run replaced by a newer one of its partition; its held events are
// delivered again in the newer run.
func (b *batcher) endRun(run uint64) {
	r := b.runs[run]
	if r == nil {
		return
	}
	for _, it := range r.held {
		it.done <- errRunEnded
	}
	delete(b.runs, run)
}

// rewind makes it the next event of its run to release, so the events after it wait for
// its retry (or pass); the released events after it still waiting in ready are held again.
func (b *batcher) rewind(it *batchItem) {
	if !it.ordered {
		return
	}
	r := b.runs[it.run]
	if r == nil || it.seq >= r.next {
		return
	}
	r.next = it.seq
	kept := b.ready[:0]
	for _, later := range b.ready {
		if later.ordered && later.run == it.run && later.seq > it.seq {
			r.held[later.seq] = later
			continue
		}
		kept = append(kept, later)
	}
	b.ready = kept
}

func (b *batcher) flush(ctx context.Context, batch []*batchItem) {
	events := make([]Event, 0, len(batch))
	for _, it := range batch {
		if !it.skip {
			events = append(events, it.ev)
		}
	}
	var err error
	if len(events) > 0 {
		err = b.applyOnce(ctx, events)
	}
	if err == nil || len(events) == 1 || IsTransient(err) {
		for _, it := range batch {
			b.answer(it, err)
		}
		return
	}
	// One bad event failed the batch: apply them one by one, in order. Once one fails and
	// will be retried, every later event of its run waits, unapplied, for its retry.
	for _, it := range batch {
		if it.skip || b.rewound(it) {
			b.answer(it, nil)
			continue
		}
		b.answer(it, b.applyOnce(ctx, []Event{it.ev}))
	}
}

// rewound reports whether the run of it was rewound to a predecessor of it.
func (b *batcher) rewound(it *batchItem) bool {
	if !it.ordered {
		return false
	}
	r := b.runs[it.run]
	return r != nil && it.seq > r.next
}

// answer hands err to its caller; when it is retried, it rewinds its run first. An event
// whose run was rewound to a predecessor is held again instead, unanswered: it was not
// applied, and it goes on after that predecessor's retry (or pass). A pass is never
// answered with an error: its caller ignores the answer, so its turn would be lost and
// its run would wait for it for ever.
func (b *batcher) answer(it *batchItem, err error) {
	if b.rewound(it) {
		b.runs[it.run].held[it.seq] = it
		return
	}
	if it.skip {
		err = nil
	}
	if err != nil && !IsPermanent(err) {
		b.rewind(it)
	}
	it.done <- err
}

func (b *batcher) applyOnce(ctx context.Context, events []Event) (err error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			err = panicError{value: r, stack: debug.Stack()}
		}
		if b.onBatch != nil {
			b.onBatch(events, time.Since(start), err)
		}
	}()
	return b.apply(ctx, events)
}
