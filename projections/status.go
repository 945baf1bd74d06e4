package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/readmodels"
)

// Projection states reported by Status.
const (
	StateLive       = "live"       // serving, no rebuild running
	StateRebuilding = "rebuilding" // serving version N while N+1 is built
	StateFailed     = "failed"     // serving version N; the latest rebuild failed
)

// StatusConfig configures Status.
type StatusConfig struct {
	// LagWindow bounds the lag count to the newest LagWindow events of the store, so a
	// status call stays cheap on a long history. Default 100,000.
	LagWindow int64
}

// ProjectionStatus is one row of GET /v1/admin/projections.
type ProjectionStatus struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	State   string `json:"state"`
	// LagEvents counts the events in the store (of the stream types the projection
	// consumes, among the newest LagWindow) that the live version has not applied: their
	// stream version is above the stream's applied version. Dead-lettered events that
	// were the last of their stream count too until they are replayed.
	LagEvents int64 `json:"lag_events"`
	// LagSeconds is the age of the oldest of those events (now − recorded_at), 0 without lag.
	LagSeconds float64 `json:"lag_seconds"`
	// LastError is the error of the latest rebuild if it failed, else the reason of the
	// newest dead letter not yet replayed, else "".
	LastError string `json:"last_error"`
	// DeadLetters counts the dead letters not yet replayed.
	DeadLetters int64 `json:"dead_letters"`
	// Rebuild is the running rebuild, if any.
	Rebuild *RebuildStatus `json:"rebuild,omitempty"`
}

// Status reports every projection of Definitions that has a live version (GET
// /v1/admin/projections).
func Status(ctx context.Context, pool *pgxpool.Pool, cfg StatusConfig) ([]ProjectionStatus, error) {
	if cfg.LagWindow <= 0 {
		cfg.LagWindow = 100000
	}
	versions := &Versions{pool: pool}
	names := Names()
	out := make([]ProjectionStatus, 0, len(names))
	for _, name := range names {
		t, err := versions.Live(ctx, name)
		if errors.Is(err, readmodels.ErrNoLiveVersion) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s, err := projectionStatus(ctx, pool, versions, t, cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func projectionStatus(ctx context.Context, pool *pgxpool.Pool, versions *Versions, t readmodels.Target, cfg StatusConfig) (ProjectionStatus, error) {
	name := t.Projection
	s := ProjectionStatus{Name: name, Version: t.Version, State: StateLive}
	var oldest *time.Time
	// Only the events of the stream types the projection consumes are its lag.
	types := ConsumedStreamTypes(name)
	err := pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), min(e.recorded_at) FROM events e
		LEFT JOIN %s.applied_streams a ON a.stream_id = e.stream_id
		WHERE e.global_position > (SELECT coalesce(max(global_position), 0) FROM events) - $1
		  AND e.stream_type = ANY($2)
		  AND e.stream_version > coalesce(a.version, 0)`, t.Schema), cfg.LagWindow, types).Scan(&s.LagEvents, &oldest)
	if err != nil {
		return s, fmt.Errorf("lag of %s: %w", name, err)
	}
	if oldest != nil {
		s.LagSeconds = max(0, time.Since(*oldest).Seconds())
	}
	if err := pool.QueryRow(ctx, `SELECT count(*), coalesce((SELECT reason FROM projection_dead_letters
			WHERE projection = $1 AND replayed_at IS NULL ORDER BY id DESC LIMIT 1), '')
		FROM projection_dead_letters WHERE projection = $1 AND replayed_at IS NULL`, name).Scan(&s.DeadLetters, &s.LastError); err != nil {
		return s, fmt.Errorf("dead letters of %s: %w", name, err)
	}
	latest, ok, err := versions.latestRebuild(ctx, name)
	if err != nil {
		return s, err
	}
	if ok {
		switch {
		case !latest.Finished():
			s.State = StateRebuilding
			s.Rebuild = &latest
		case latest.State == RebuildFailed:
			s.State = StateFailed
			s.LastError = latest.Error
		}
	}
	return s, nil
}
