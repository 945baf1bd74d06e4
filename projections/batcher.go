package projections

import (
	"context"
	"errors"
	"runtime/debug"
	"time"
)

var errBatcherStopped = Transient(errors.New("projections: batcher stopped"))

// batcher turns the one-message-at-a-time handler calls of the router into batches: it
// collects the events handed in concurrently (one per partition in flight) for up to
// maxWait or maxSize events, applies them with one call, then answers every caller, which
// only then acks its message. A failed batch is applied again event by event, so one bad
// event fails alone and the others succeed (delivery stays at-least-once).
type batcher struct {
	apply   func(ctx context.Context, events []Event) error
	maxSize int
	maxWait time.Duration
	timeout time.Duration
	onBatch func(events []Event, took time.Duration, err error)

	in      chan *batchItem
	stopped chan struct{}
}

type batchItem struct {
	ev   Event
	done chan error
}

func newBatcher(apply func(context.Context, []Event) error, maxSize int, maxWait, timeout time.Duration, onBatch func([]Event, time.Duration, error)) *batcher {
	return &batcher{
		apply:   apply,
		maxSize: maxSize,
		maxWait: maxWait,
		timeout: timeout,
		onBatch: onBatch,
		in:      make(chan *batchItem),
		stopped: make(chan struct{}),
	}
}

// submit hands ev to the batch being collected and waits for the batch's outcome.
func (b *batcher) submit(ctx context.Context, ev Event) error {
	it := &batchItem{ev: ev, done: make(chan error, 1)}
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
	for {
		var first *batchItem
		select {
		case <-ctx.Done():
			return
		case first = <-b.in:
		}
		batch := []*batchItem{first}
		timer := time.NewTimer(b.maxWait)
	collect:
		for len(batch) < b.maxSize {
			select {
			case it := <-b.in:
				batch = append(batch, it)
			case <-timer.C:
				break collect
			case <-ctx.Done():
				timer.Stop()
				for _, it := range batch {
					it.done <- ctx.Err()
				}
				return
			}
		}
		timer.Stop()
		b.flush(ctx, batch)
	}
}

func (b *batcher) flush(ctx context.Context, batch []*batchItem) {
	events := make([]Event, len(batch))
	for i, it := range batch {
		events[i] = it.ev
	}
	err := b.applyOnce(ctx, events)
	if err == nil || len(batch) == 1 || IsTransient(err) {
		for _, it := range batch {
			it.done <- err
		}
		return
	}
	for _, it := range batch {
		it.done <- b.applyOnce(ctx, []Event{it.ev})
	}
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
