package readmodels

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jobboard/jobboard/internal/apperr"
)

// StreamVersion is a stream at a version (a consistency token's position).
type StreamVersion struct {
	StreamID string
	Version  int64
}

// ErrWaitTimeout: the projection did not apply the awaited events in time. Errors wrapping
// it are apperr Timeout errors (504).
var ErrWaitTimeout = errors.New("readmodels: projection has not applied the events in time")

// AppliedVersion returns the highest version of streamID that projection's live version
// applied, 0 if none.
func (s *Store) AppliedVersion(ctx context.Context, projection, streamID string) (int64, error) {
	t, err := s.targets.get(ctx, projection)
	if err != nil {
		return 0, err
	}
	var v int64
	err = s.pool.QueryRow(ctx, fmt.Sprintf(`SELECT version FROM %s.applied_streams WHERE stream_id = $1`, t.Schema), streamID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("applied version of %s in %s: %w", streamID, projection, err)
	}
	return v, nil
}

// WaitForStream returns once the live version of projection has applied streamID up to
// version, or an apperr Timeout error wrapping ErrWaitTimeout after timeout (or ctx's end,
// whichever is first). Every projector records applied versions per stream after its write
// succeeded (for the search projector: after the bulk write, refreshed), so a query that
// follows sees the change.
func (s *Store) WaitForStream(ctx context.Context, projection, streamID string, version int64, timeout time.Duration) error {
	return s.WaitForStreams(ctx, projection, timeout, StreamVersion{StreamID: streamID, Version: version})
}

// WaitForStreams is WaitForStream for several positions (one consistency token may carry
// several).
func (s *Store) WaitForStreams(ctx context.Context, projection string, timeout time.Duration, positions ...StreamVersion) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	ticker := time.NewTicker(s.cfg.WaitPollInterval)
	defer ticker.Stop()
	pending := positions
	for {
		rest, err := s.notApplied(ctx, projection, pending)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if err == nil {
			if len(rest) == 0 {
				return nil
			}
			pending = rest
		}
		select {
		case <-ctx.Done():
			return apperr.Wrap(apperr.Timeout, fmt.Errorf("%w: %s", ErrWaitTimeout, projection),
				"the projection %s has not caught up with your changes yet", projection)
		case <-ticker.C:
		}
	}
}

func (s *Store) notApplied(ctx context.Context, projection string, positions []StreamVersion) ([]StreamVersion, error) {
	var rest []StreamVersion
	for _, p := range positions {
		v, err := s.AppliedVersion(ctx, projection, p.StreamID)
		if err != nil {
			return nil, err
		}
		if v < p.Version {
			rest = append(rest, p)
		}
	}
	return rest, nil
}
