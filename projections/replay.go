package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/eventstore"
)

// replay feeds the history, in commit-safe order and in batches, into the projector of the
// version a rebuild fills. pos is the position of the last event applied.
type replay struct {
	pool      *pgxpool.Pool
	store     *eventstore.Store
	projector Projector
	types     map[string]bool
	batchSize int
	pos       eventstore.Position
}

func streamTypeSet(p Projector) map[string]bool {
	m := map[string]bool{}
	for _, t := range p.StreamTypes() {
		m[t] = true
	}
	return m
}

// count is the number of events in the store: the first estimate of the work.
func (rp *replay) count(ctx context.Context) (int64, error) {
	var n int64
	if err := rp.pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

// gap is the number of events committed after pos.
func (rp *replay) gap(ctx context.Context) (int64, error) {
	var n int64
	if err := rp.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)`,
		rp.pos.TransactionID, rp.pos.GlobalPosition).Scan(&n); err != nil {
		return 0, fmt.Errorf("measure gap: %w", err)
	}
	return n, nil
}

func (rp *replay) read(ctx context.Context, after eventstore.Position) ([]eventstore.Event, error) {
	return rp.store.ReadAll(ctx, after, rp.batchSize, eventstore.ReadFilter{})
}

// apply applies one batch read after pos (the events of the stream types the projector
// consumes) and moves pos past it.
func (rp *replay) apply(ctx context.Context, events []eventstore.Event) error {
	if len(events) == 0 {
		return nil
	}
	batch := make([]Event, 0, len(events))
	for _, e := range events {
		if !rp.types[e.StreamType] {
			continue
		}
		ev, err := DecodeEvent(e)
		if err != nil {
			return err
		}
		batch = append(batch, ev)
	}
	if len(batch) > 0 {
		if err := rp.projector.Apply(ctx, batch); err != nil {
			return err
		}
	}
	rp.pos = events[len(events)-1].Position()
	return nil
}

// step reads and applies one batch; it reports how many events it read.
func (rp *replay) step(ctx context.Context) (int, error) {
	events, err := rp.read(ctx, rp.pos)
	if err != nil {
		return 0, err
	}
	return len(events), rp.apply(ctx, events)
}

// drain applies batches until one is short: the store's head as of now (the final
// catch-up, under the promotion lock).
func (rp *replay) drain(ctx context.Context, log *rebuildLog) error {
	for {
		n, err := rp.step(ctx)
		if err != nil {
			return err
		}
		log.applied(n)
		if n < rp.batchSize {
			return nil
		}
	}
}

// catchUp replays the history, then follows the store until fewer than catchUpGap events
// are left behind its head. The next batch is read while the current one is applied.
func (rp *replay) catchUp(ctx context.Context, log *rebuildLog, catchUpGap int) error {
	var ahead prefetch
	defer ahead.wait() // the reader goroutine ends with its read
	ahead.start(ctx, rp, rp.pos)
	for {
		res := ahead.wait()
		if res.err != nil {
			return res.err
		}
		n := len(res.events)
		if n == rp.batchSize {
			ahead.start(ctx, rp, res.events[n-1].Position())
		}
		if err := rp.apply(ctx, res.events); err != nil {
			return err
		}
		log.applied(n)
		if err := log.save(ctx, false); err != nil {
			return err
		}
		if n == rp.batchSize {
			continue
		}
		gap, err := rp.gap(ctx)
		if err != nil {
			return err
		}
		log.behind(gap)
		if gap < int64(catchUpGap) {
			return nil
		}
		if n == 0 {
			// Committed events are held back by an older transaction still in flight.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		if err := log.enter(ctx, RebuildCatchingUp); err != nil {
			return err
		}
		ahead.start(ctx, rp, rp.pos)
	}
}

// prefetch is at most one read running ahead of the replay.
type prefetch struct {
	pending chan readResult
}

type readResult struct {
	events []eventstore.Event
	err    error
}

// start reads the batch after after in a goroutine.
func (f *prefetch) start(ctx context.Context, rp *replay, after eventstore.Position) {
	ch := make(chan readResult, 1)
	f.pending = ch
	go func() {
		evs, err := rp.read(ctx, after)
		ch <- readResult{evs, err}
	}()
}

// wait returns the read started last (the zero result if none is pending).
func (f *prefetch) wait() readResult {
	if f.pending == nil {
		return readResult{}
	}
	res := <-f.pending
	f.pending = nil
	return res
}

// rebuildLog is a rebuild's bookkeeping: its status, saved in projection_rebuilds at most
// every interval (the heartbeat, and where a cancellation from another process is noticed),
// and reported to progress (if not nil) after every batch.
type rebuildLog struct {
	versions *Versions
	status   RebuildStatus
	progress func(RebuildStatus)
	interval time.Duration

	started  time.Time
	lastSave time.Time
}

// start sets the first estimate of the work and starts the clock of the rate.
func (l *rebuildLog) start(total int64) {
	l.status.EventsTotal = total
	l.started = time.Now()
	l.lastSave = l.started
}

// applied counts n more events replayed.
func (l *rebuildLog) applied(n int) { l.status.EventsDone += int64(n) }

// behind re-estimates the work from the gap to the store's head.
func (l *rebuildLog) behind(gap int64) { l.status.EventsTotal = l.status.EventsDone + gap }

// enter moves the rebuild to state and saves at once (nothing if it is there already).
func (l *rebuildLog) enter(ctx context.Context, state string) error {
	if l.status.State == state {
		return nil
	}
	l.status.State = state
	return l.save(ctx, true)
}

// save updates the rate and reports progress; it writes the status if force or interval
// has passed since the last write, and returns context.Canceled if a cancellation was
// asked for.
func (l *rebuildLog) save(ctx context.Context, force bool) error {
	if elapsed := time.Since(l.started).Seconds(); elapsed > 0 {
		l.status.EventsPerSecond = float64(l.status.EventsDone) / elapsed
	}
	l.status.EventsTotal = max(l.status.EventsTotal, l.status.EventsDone)
	l.report()
	if !force && time.Since(l.lastSave) < l.interval {
		return nil
	}
	l.lastSave = time.Now()
	cancelled, err := l.versions.saveProgress(ctx, l.status)
	if err != nil {
		return err
	}
	if cancelled {
		return context.Canceled
	}
	return nil
}

// report hands the status to progress.
func (l *rebuildLog) report() {
	if l.progress != nil {
		l.progress(l.status)
	}
}

// promoted settles the estimate: every event is applied.
func (l *rebuildLog) promoted() { l.status.EventsTotal = l.status.EventsDone }

// finish records the outcome at now: done, cancelled or failed with err (and the cleanup's
// error, if dropping the version failed too).
func (l *rebuildLog) finish(ctx context.Context, now time.Time, err, cleanup error) error {
	l.status.FinishedAt = &now
	switch {
	case err == nil:
		l.status.State = RebuildDone
	case errors.Is(err, context.Canceled):
		l.status.State = RebuildCancelled
		l.status.Error = "cancelled"
	default:
		l.status.State = RebuildFailed
		l.status.Error = err.Error()
	}
	if cleanup != nil {
		l.status.Error += "; cleanup: " + cleanup.Error()
	}
	return l.versions.finishRebuild(ctx, l.status)
}
