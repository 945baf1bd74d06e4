package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// TailConfig configures Store.Tail.
type TailConfig struct {
	// After is the position to start after. Default Start.
	After Position
	// BatchSize is the most events handed to one handler call. Default 500.
	BatchSize int
	// PollInterval is how long to wait for a notification before reading anyway.
	// Default 1 s.
	PollInterval time.Duration
	// Filter selects the events delivered.
	Filter ReadFilter
	// MinRetryBackoff is the first wait after a database error. Default 100 ms.
	MinRetryBackoff time.Duration
	// MaxRetryBackoff caps the wait between retries after database errors. Default 5 s.
	MaxRetryBackoff time.Duration
}

func (c *TailConfig) setDefaults() {
	if c.BatchSize == 0 {
		c.BatchSize = DefaultReadLimit
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.MinRetryBackoff == 0 {
		c.MinRetryBackoff = 100 * time.Millisecond
	}
	if c.MaxRetryBackoff == 0 {
		c.MaxRetryBackoff = 5 * time.Second
	}
}

// Validate reports every problem with the configuration.
func (c TailConfig) Validate() error {
	var errs []error
	if c.BatchSize < 1 || c.BatchSize > MaxReadLimit {
		errs = append(errs, fmt.Errorf("batch size %d is outside 1..%d", c.BatchSize, MaxReadLimit))
	}
	if c.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("poll interval %s <= 0", c.PollInterval))
	}
	if c.MinRetryBackoff <= 0 || c.MaxRetryBackoff < c.MinRetryBackoff {
		errs = append(errs, fmt.Errorf("retry backoff %s..%s is not a positive range", c.MinRetryBackoff, c.MaxRetryBackoff))
	}
	return errors.Join(errs...)
}

// TailBatch is what a TailHandler receives.
type TailBatch struct {
	// Events are in commit-safe order; never empty.
	Events []Event
}

// Last is the position of the batch's last event, the checkpoint after handling it.
func (b TailBatch) Last() Position { return b.Events[len(b.Events)-1].Position() }

// TailHandler handles one batch. Returning an error stops the tail with that error.
type TailHandler func(ctx context.Context, batch TailBatch) error

// handlerError marks an error of the handler, which ends a tail, from a database error,
// which a tail retries.
type handlerError struct{ err error }

func (e handlerError) Error() string { return e.err.Error() }
func (e handlerError) Unwrap() error { return e.err }

// Tail delivers every event after cfg.After, then every event committed later, in
// commit-safe order, until ctx is done (it then returns ctx's error) or the handler fails (it
// returns the handler's error). It is woken by LISTEN/NOTIFY and polls as a fallback; it
// retries database errors with backoff, reconnecting as needed, and resumes after the last
// batch the handler accepted. It starts no goroutine.
func (s *Store) Tail(ctx context.Context, cfg TailConfig, handle TailHandler) error {
	if handle == nil {
		return errors.New("eventstore: tail: nil handler")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("eventstore: tail: %w", err)
	}
	pos := cfg.After
	backoff := cfg.MinRetryBackoff
	for {
		err := s.tailOnce(ctx, cfg, &pos, handle, func() { backoff = cfg.MinRetryBackoff })
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var he handlerError
		if errors.As(err, &he) {
			return he.err
		}
		s.log.WarnContext(ctx, "tail: database error, retrying", "after", pos.String(), "backoff", backoff, "error", err)
		if !sleep(ctx, backoff) {
			return ctx.Err()
		}
		backoff = min(2*backoff, cfg.MaxRetryBackoff)
	}
}

// tailOnce listens on a connection of its own and reads through the pool until an error.
func (s *Store) tailOnce(ctx context.Context, cfg TailConfig, pos *Position, handle TailHandler, progressed func()) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire listening connection: %w", err)
	}
	// The listening connection is closed, not returned to the pool, so that it goes with
	// its LISTEN and any half-read state.
	listen := conn.Hijack()
	defer listen.Close(context.WithoutCancel(ctx))
	if err := s.listen(ctx, listen); err != nil {
		return err
	}
	return s.follow(ctx, followParams{
		listen:       listen,
		q:            s.pool,
		pos:          pos,
		batchSize:    cfg.BatchSize,
		pollInterval: cfg.PollInterval,
		filter:       cfg.Filter,
		handle:       handle,
		progressed:   progressed,
	})
}

func (s *Store) listen(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.cfg.NotifyChannel}.Sanitize()); err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.NotifyChannel, err)
	}
	return nil
}

type followParams struct {
	// listen is the connection that LISTENs on the store's channel.
	listen *pgx.Conn
	// q runs the reads (the pool, or listen itself).
	q            querier
	pos          *Position
	batchSize    int
	pollInterval time.Duration
	filter       ReadFilter
	handle       TailHandler
	// progressed is called after each handled batch (resets the caller's retry backoff).
	progressed func()
}

// heldBackPoll is the first re-poll delay while committed events are held back by an older
// transaction in flight; it doubles up to maxHeldBackPoll (or the poll interval).
const (
	heldBackPoll    = 2 * time.Millisecond
	maxHeldBackPoll = 50 * time.Millisecond
)

// follow is the tailing loop shared by Tail and the relay: read a batch after *p.pos, hand it
// over, advance; when caught up, wait for a notification, a short re-poll if events are held
// back, or the poll interval. It returns database errors as they are and handler errors as
// handlerError.
func (s *Store) follow(ctx context.Context, p followParams) error {
	held := heldBackPoll
	for {
		events, err := s.readAll(ctx, p.q, *p.pos, p.batchSize, p.filter)
		if err != nil {
			return fmt.Errorf("read after %s: %w", p.pos, err)
		}
		if len(events) > 0 {
			if err := p.handle(ctx, TailBatch{Events: events}); err != nil {
				return handlerError{err}
			}
			*p.pos = events[len(events)-1].Position()
			p.progressed()
			held = heldBackPoll
			if len(events) == p.batchSize {
				continue
			}
		}
		wait := p.pollInterval
		isHeld, err := moreAfter(ctx, p.q, *p.pos, p.filter)
		if err != nil {
			return fmt.Errorf("check held-back events: %w", err)
		}
		if isHeld {
			wait = min(held, p.pollInterval)
			held = min(2*held, maxHeldBackPoll)
		}
		if err := waitForNotification(ctx, p.listen, wait); err != nil {
			return err
		}
	}
}

// waitForNotification returns when a notification arrives (or was buffered while the
// connection ran queries), when d has passed, or with the connection's error.
func waitForNotification(ctx context.Context, conn *pgx.Conn, d time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	_, err := conn.WaitForNotification(wctx)
	if err == nil {
		// One read serves every notification already received: drop the buffered ones.
		done, cancelDone := context.WithCancel(ctx)
		cancelDone()
		for {
			if _, err := conn.WaitForNotification(done); err != nil {
				return nil
			}
		}
	}
	if ctx.Err() == nil && wctx.Err() != nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("wait for notification: %w", err)
}

// sleep waits d or until ctx is done; it reports whether d passed.
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
