package readmodels

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/internal/consistency"
)

// AppliedChannel is the PostgreSQL notification channel on which projectors announce, in
// the transaction that records applied versions, that a read-model schema moved; the
// payload is the schema. Notifications are delivered at commit, so a waiter woken by one
// sees the versions.
const AppliedChannel = "jobboard_applied"

// StreamVersion is a stream at a version: a consistency token's position.
type StreamVersion = consistency.Position

// ErrWaitTimeout: the projection did not apply the awaited events in time. Errors wrapping
// it are apperr Timeout errors (504).
var ErrWaitTimeout = errors.New("readmodels: projection has not applied the events in time")

// ErrTooManyWaiters: MaxWaiters requests wait already. Errors wrapping it are apperr
// Unavailable errors (503) with a Retry-After.
var ErrTooManyWaiters = errors.New("readmodels: too many requests are waiting for the projections")

// WaitForStream returns once the live version of projection has applied streamID up to
// version, or an apperr Timeout error wrapping ErrWaitTimeout after timeout (or ctx's end,
// whichever is first). Every projector records applied versions per stream after its write
// succeeded (for the search projector: after the bulk write, refreshed), so a query that
// follows sees the change.
func (s *Store) WaitForStream(ctx context.Context, projection, streamID string, version int64, timeout time.Duration) error {
	return s.WaitForStreams(ctx, projection, timeout, StreamVersion{StreamID: streamID, Version: version})
}

// WaitForStreams is WaitForStream for several positions (one consistency token may carry
// several). What is applied already answers at once. Otherwise the request takes one of
// MaxWaiters places (none left: an apperr Unavailable error wrapping ErrTooManyWaiters) and
// looks again, with one query, each time ListenApplied hears that the projection's schema
// moved, and every WaitPollInterval in case a notification was lost. It holds no pool
// connection while it waits.
func (s *Store) WaitForStreams(ctx context.Context, projection string, timeout time.Duration, positions ...StreamVersion) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	timedOut := func() error {
		return apperr.Wrap(apperr.Timeout, fmt.Errorf("%w: %s", ErrWaitTimeout, projection),
			"the projection %s has not caught up with your changes yet", projection)
	}
	pending := positions
	waiting := false
	var ticker *time.Ticker
	for {
		t, err := s.targets.get(ctx, projection)
		if err != nil && ctx.Err() == nil {
			return err
		}
		var moved <-chan struct{}
		if err == nil {
			// Taken before the query: a notification between the two still wakes us.
			moved = s.applied.moved(t.Schema)
			rest, err := s.notApplied(ctx, t.Schema, projection, pending)
			if err != nil && ctx.Err() == nil {
				return err
			}
			if err == nil {
				if len(rest) == 0 {
					return nil
				}
				pending = rest
			}
		}
		if ctx.Err() != nil {
			return timedOut()
		}
		if !waiting {
			select {
			case s.waiters <- struct{}{}:
			default:
				return &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: 1, Err: ErrTooManyWaiters,
					Message: "too many requests are waiting for the projections; retry after the time in Retry-After"}
			}
			waiting = true
			defer func() { <-s.waiters }()
			ticker = time.NewTicker(s.cfg.WaitPollInterval)
			defer ticker.Stop()
		}
		select {
		case <-ctx.Done():
			return timedOut()
		case <-moved: // nil until the target is known: only the ticker and ctx wake us
		case <-ticker.C:
		}
	}
}

// notApplied returns the positions that projection's live version (in schema) has not
// applied yet, with one query for all of them.
func (s *Store) notApplied(ctx context.Context, schema, projection string, positions []StreamVersion) ([]StreamVersion, error) {
	if len(positions) == 0 {
		return nil, nil
	}
	ids := make([]string, len(positions))
	for i, p := range positions {
		ids[i] = p.StreamID
	}
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT stream_id, version FROM %s.applied_streams WHERE stream_id = ANY($1)`, schema), ids)
	if err != nil {
		return nil, fmt.Errorf("applied versions in %s: %w", projection, err)
	}
	applied := make(map[string]int64, len(ids))
	var (
		id string
		v  int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &v}, func() error {
		applied[id] = v
		return nil
	}); err != nil {
		return nil, fmt.Errorf("applied versions in %s: %w", projection, err)
	}
	var rest []StreamVersion
	for _, p := range positions {
		if applied[p.StreamID] < p.Version {
			rest = append(rest, p)
		}
	}
	return rest, nil
}

// ListenApplied holds one dedicated connection (outside the pool) listening on
// AppliedChannel and wakes the waiters of a schema whenever a projector announces that it
// moved. It runs until ctx ends and returns nil then; a lost connection is opened again
// (after a pause that grows up to WaitPollInterval), and every waiter is woken, since
// notifications sent meanwhile are lost. One per instance serves all its waiters.
func (s *Store) ListenApplied(ctx context.Context) error {
	pause := 10 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listen(ctx)
		s.applied.wakeAll()
		if ctx.Err() != nil {
			return nil
		}
		s.cfg.Logger.WarnContext(ctx, "consistency: listening for applied versions failed; waits fall back to polling until it is back", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, max(s.cfg.WaitPollInterval, 10*time.Millisecond))
	}
	return nil
}

// listen is one connection's life of ListenApplied.
func (s *Store) listen(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.primary.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{AppliedChannel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s.applied.wakeAll() // what moved before LISTEN took effect was not heard
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		s.applied.wake(n.Payload)
	}
}

// appliedSignal hands each waiter a channel that is closed when its schema next moves.
type appliedSignal struct {
	mu    sync.Mutex
	moves map[string]chan struct{}
}

// moved returns a channel closed at the next wake of schema (or wakeAll).
func (a *appliedSignal) moved(schema string) <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.moves == nil {
		a.moves = map[string]chan struct{}{}
	}
	ch, ok := a.moves[schema]
	if !ok {
		ch = make(chan struct{})
		a.moves[schema] = ch
	}
	return ch
}

// wake wakes the waiters of schema.
func (a *appliedSignal) wake(schema string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ch, ok := a.moves[schema]; ok {
		close(ch)
		delete(a.moves, schema)
	}
}

// wakeAll wakes every waiter.
func (a *appliedSignal) wakeAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for schema, ch := range a.moves {
		close(ch)
		delete(a.moves, schema)
	}
}
