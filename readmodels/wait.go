package readmodels

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/internal/consistency"
)

// StreamVersion is a stream at a version: a consistency token's position.
type StreamVersion = consistency.Position

// ErrWaitTimeout: the projection did not apply the awaited events in time. Errors wrapping
// it are apperr Timeout errors (504).
var ErrWaitTimeout = errors.New("readmodels: projection has not applied the events in time")

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

// notApplied returns the positions that projection's live version has not applied yet,
// with one query for all of them.
func (s *Store) notApplied(ctx context.Context, projection string, positions []StreamVersion) ([]StreamVersion, error) {
	if len(positions) == 0 {
		return nil, nil
	}
	t, err := s.targets.get(ctx, projection)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(positions))
	for i, p := range positions {
		ids[i] = p.StreamID
	}
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT stream_id, version FROM %s.applied_streams WHERE stream_id = ANY($1)`, t.Schema), ids)
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
