package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jobboard/jobboard/internal/apperr"
)

// ExpirySchedulerConfig configures an ExpiryScheduler.
type ExpirySchedulerConfig struct {
	// Interval between two looks for due listings. Default 30 s.
	Interval time.Duration
	// BatchSize is how many due listings one look claims at most. Default 100.
	BatchSize int
	// Lease is how long a claimed listing is left to this scheduler before another may try
	// it again. Default 1 min.
	Lease time.Duration
	// Logger receives the scheduler's logs. Default slog.Default().
	Logger *slog.Logger
}

func (c *ExpirySchedulerConfig) setDefaults() {
	if c.Interval == 0 {
		c.Interval = 30 * time.Second
	}
	if c.BatchSize == 0 {
		c.BatchSize = 100
	}
	if c.Lease == 0 {
		c.Lease = time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem with the configuration.
func (c ExpirySchedulerConfig) Validate() error {
	var errs []error
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("interval %s must be positive", c.Interval))
	}
	if c.BatchSize <= 0 {
		errs = append(errs, fmt.Errorf("batch size %d must be positive", c.BatchSize))
	}
	if c.Lease <= 0 {
		errs = append(errs, fmt.Errorf("lease %s must be positive", c.Lease))
	}
	return errors.Join(errs...)
}

// ExpiryScheduler expires published jobs whose listing has run out, through ExpireJob. It
// works from the write-side listing schedule, which every publication, closing and expiry
// updates in its own transaction. Several schedulers (one per `serve` instance) share the
// due jobs (DueListings claims them with SKIP LOCKED), and if two ever expire the same job
// the aggregate's expected version lets only one JobExpired through.
type ExpiryScheduler struct {
	due    DueListings
	expire *ExpireJobHandler
	clock  Clock
	cfg    ExpirySchedulerConfig
	log    *slog.Logger
}

// NewExpiryScheduler returns a scheduler; every dependency is required.
func NewExpiryScheduler(due DueListings, expire *ExpireJobHandler, clock Clock, cfg ExpirySchedulerConfig) (*ExpiryScheduler, error) {
	if err := required(due, expire, clock); err != nil {
		return nil, fmt.Errorf("new expiry scheduler: %w", err)
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new expiry scheduler: %w", err)
	}
	return &ExpiryScheduler{due: due, expire: expire, clock: clock, cfg: cfg, log: cfg.Logger.With("component", "expiry_scheduler")}, nil
}

// Run expires due jobs every Interval until ctx is done, then returns nil. It runs in the
// caller's goroutine and starts none of its own. Errors are logged and retried next time.
func (s *ExpiryScheduler) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "expire due listings", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce expires the jobs due now, batch after batch, and returns how many due jobs it
// handled (a job the aggregate found not due after all counts too).
func (s *ExpiryScheduler) RunOnce(ctx context.Context) (int, error) {
	expired := 0
	for {
		now := s.clock()
		ids, err := s.due.ClaimDueListings(ctx, now, s.cfg.BatchSize, s.cfg.Lease)
		if err != nil {
			return expired, fmt.Errorf("claim due listings: %w", err)
		}
		var errs []error
		for _, id := range ids {
			res, err := s.expire.Handle(ctx, ExpireJob{
				Caller: Caller{Actor: Actor{Role: RoleSystem, ID: "expiry-scheduler"}},
				JobID:  id,
			})
			switch {
			case err != nil && ctx.Err() != nil:
				return expired, ctx.Err()
			case err != nil:
				// Left to the lease: another look retries it.
				s.log.ErrorContext(ctx, "expire job", "job_id", id, "code", apperr.CodeOf(err), "error", err)
				errs = append(errs, err)
			default:
				expired++
				s.log.DebugContext(ctx, "expired job", "job_id", id, "version", res.Version)
			}
		}
		if len(ids) < s.cfg.BatchSize || len(errs) > 0 {
			return expired, errors.Join(errs...)
		}
	}
}
