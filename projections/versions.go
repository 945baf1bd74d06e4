package projections

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/readmodels"
)

// Rebuild states, as stored in projection_rebuilds.
const (
	RebuildRunning    = "running"     // replaying the history into version N+1
	RebuildCatchingUp = "catching_up" // near the head: following the store until the gap is small
	RebuildSwapping   = "swapping"    // final catch-up under the promotion lock, then the swap
	RebuildDone       = "done"
	RebuildFailed     = "failed"
	RebuildCancelled  = "cancelled"
)

// RebuildStatus is the progress of one rebuild (GET /v1/admin/projections/{name}/rebuilds/{id}).
type RebuildStatus struct {
	ID          uuid.UUID `json:"rebuild_id"`
	Projection  string    `json:"projection"`
	FromVersion int       `json:"from_version"`
	ToVersion   int       `json:"to_version"`
	State       string    `json:"state"`
	EventsDone  int64     `json:"events_done"`
	EventsTotal int64     `json:"events_total"`
	// EventsPerSecond is the mean rate since the start.
	EventsPerSecond float64 `json:"events_per_second"`
	// ETASeconds is ETA when the status was read, 0 once the rebuild finished.
	ETASeconds float64    `json:"eta_seconds"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Error      string     `json:"error,omitempty"`
}

// Finished reports whether the rebuild ended (done, failed or cancelled).
func (s RebuildStatus) Finished() bool {
	return s.State == RebuildDone || s.State == RebuildFailed || s.State == RebuildCancelled
}

// ETA estimates the time left from the mean rate, 0 when unknown.
func (s RebuildStatus) ETA() time.Duration {
	if s.EventsPerSecond <= 0 || s.EventsTotal <= s.EventsDone {
		return 0
	}
	return time.Duration(float64(s.EventsTotal-s.EventsDone) / s.EventsPerSecond * float64(time.Second))
}

// Versions owns the two bookkeeping tables of the read side: projection_versions (every
// version of a projection, where it keeps its data, which one is live) and
// projection_rebuilds (the rebuild log, read by any process). Every write to them goes
// through its methods; readmodels.LiveTarget is the read the query side makes.
type Versions struct {
	pool *pgxpool.Pool
}

// NewVersions returns the owner of the version and rebuild tables of pool's database.
func NewVersions(pool *pgxpool.Pool) (*Versions, error) {
	if pool == nil {
		return nil, errors.New("projections: new versions: pool is required")
	}
	return &Versions{pool: pool}, nil
}

// Live returns where the live version of projection keeps its data.
func (v *Versions) Live(ctx context.Context, projection string) (readmodels.Target, error) {
	return readmodels.LiveTarget(ctx, v.pool, projection)
}

// AdoptIndexPrefix points the registered search versions at this deployment's index names:
// the migration registers version 1 as "jobs-v1", without ELASTICSEARCH_INDEX_PREFIX.
func (v *Versions) AdoptIndexPrefix(ctx context.Context, prefix string) error {
	if prefix == "" {
		return nil
	}
	_, err := v.pool.Exec(ctx, `UPDATE projection_versions SET es_index = $1 || es_index
		WHERE es_index IS NOT NULL AND left(es_index, length($1)) <> $1`, prefix)
	return err
}

var versionSuffix = regexp.MustCompile(`_v[0-9]+$`)

// beginRebuild records, in one transaction, version N+1 of projection (state rebuilding,
// schema <base>_v<N+1>, index <indexPrefix>-v<N+1> unless indexPrefix is "") and a running
// rebuild from the live N to it. ErrRebuildInProgress if the projection has one already.
func (v *Versions) beginRebuild(ctx context.Context, projection, indexPrefix string) (from, to readmodels.Target, _ RebuildStatus, _ error) {
	tx, err := v.pool.Begin(ctx)
	if err != nil {
		return from, to, RebuildStatus{}, fmt.Errorf("begin rebuild of %s: %w", projection, err)
	}
	defer tx.Rollback(ctx)
	from, err = readmodels.LiveTarget(ctx, tx, projection)
	if err != nil {
		return from, to, RebuildStatus{}, err
	}
	var maxVersion int
	if err := tx.QueryRow(ctx, `SELECT max(version) FROM projection_versions WHERE projection = $1`, projection).Scan(&maxVersion); err != nil {
		return from, to, RebuildStatus{}, fmt.Errorf("versions of %s: %w", projection, err)
	}
	to = readmodels.Target{Projection: projection, Version: maxVersion + 1}
	to.Schema = versionSuffix.ReplaceAllString(from.Schema, "") + "_v" + strconv.Itoa(to.Version)
	var index *string
	if indexPrefix != "" {
		to.Index = indexPrefix + "-v" + strconv.Itoa(to.Version)
		index = &to.Index
	}
	if _, err := tx.Exec(ctx, `INSERT INTO projection_versions (projection, version, state, pg_schema, es_index)
		VALUES ($1, $2, 'rebuilding', $3, $4)`, projection, to.Version, to.Schema, index); err != nil {
		return from, to, RebuildStatus{}, fmt.Errorf("record version %d of %s: %w", to.Version, projection, err)
	}
	status, err := scanRebuild(tx.QueryRow(ctx, `INSERT INTO projection_rebuilds (id, projection, from_version, to_version, state)
		VALUES ($1, $2, $3, $4, 'running') RETURNING `+rebuildColumns, uuid.New(), projection, from.Version, to.Version))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return from, to, RebuildStatus{}, fmt.Errorf("%w: %s", ErrRebuildInProgress, projection)
	}
	if err != nil {
		return from, to, RebuildStatus{}, fmt.Errorf("record rebuild of %s: %w", projection, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return from, to, RebuildStatus{}, fmt.Errorf("record rebuild of %s: %w", projection, err)
	}
	return from, to, status, nil
}

// saveProgress records a running rebuild's progress and heartbeat; it reports whether
// another process asked for its cancellation.
func (v *Versions) saveProgress(ctx context.Context, s RebuildStatus) (cancelRequested bool, _ error) {
	err := v.pool.QueryRow(ctx, `UPDATE projection_rebuilds SET state = $2, events_done = $3, events_total = $4,
		events_per_second = $5, heartbeat_at = now() WHERE id = $1 RETURNING cancel_requested`,
		s.ID, s.State, s.EventsDone, s.EventsTotal, s.EventsPerSecond).Scan(&cancelRequested)
	if err != nil {
		return false, fmt.Errorf("save progress: %w", err)
	}
	return cancelRequested, nil
}

// finishRebuild records a rebuild's outcome.
func (v *Versions) finishRebuild(ctx context.Context, s RebuildStatus) error {
	_, err := v.pool.Exec(ctx, `UPDATE projection_rebuilds SET state = $2, events_done = $3, events_total = $4,
		events_per_second = $5, error = $6, finished_at = $7, heartbeat_at = now() WHERE id = $1`,
		s.ID, s.State, s.EventsDone, s.EventsTotal, s.EventsPerSecond, s.Error, s.FinishedAt)
	return err
}

// requestCancel marks a rebuild for cancellation; its process notices at its next save.
func (v *Versions) requestCancel(ctx context.Context, id uuid.UUID) error {
	tag, err := v.pool.Exec(ctx, `UPDATE projection_rebuilds SET cancel_requested = true WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("cancel rebuild %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %s", ErrRebuildNotFound, id)
	}
	return nil
}

// failAbandoned marks failed the unfinished rebuilds of projection without a heartbeat for
// abandonAfter, and returns the versions they were building that are still recorded.
func (v *Versions) failAbandoned(ctx context.Context, projection string, abandonAfter time.Duration) ([]readmodels.Target, error) {
	rows, err := v.pool.Query(ctx, `UPDATE projection_rebuilds
		SET state = 'failed', finished_at = now(),
		    error = 'abandoned: no heartbeat since ' || to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
		WHERE projection = $1 AND state IN ('running', 'catching_up', 'swapping')
		  AND heartbeat_at < now() - make_interval(secs => $2)
		RETURNING to_version`, projection, abandonAfter.Seconds())
	if err != nil {
		return nil, fmt.Errorf("reclaim abandoned rebuilds of %s: %w", projection, err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("reclaim abandoned rebuilds of %s: %w", projection, err)
	}
	var out []readmodels.Target
	for _, version := range versions {
		t := readmodels.Target{Projection: projection, Version: version}
		var index *string
		err := v.pool.QueryRow(ctx, `SELECT pg_schema, es_index FROM projection_versions
			WHERE projection = $1 AND version = $2 AND state = 'rebuilding'`, projection, version).Scan(&t.Schema, &index)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("reclaim version %d of %s: %w", version, projection, err)
		}
		if index != nil {
			t.Index = *index
		}
		out = append(out, t)
	}
	return out, nil
}

// promote retires the live version of t's projection and makes t live, in tx (the
// promotion's transaction, holding the promotion lock).
func (v *Versions) promote(ctx context.Context, tx pgx.Tx, from, to readmodels.Target) error {
	if _, err := tx.Exec(ctx, `UPDATE projection_versions SET state = 'retired' WHERE projection = $1 AND state = 'live'`,
		to.Projection); err != nil {
		return fmt.Errorf("retire version %d: %w", from.Version, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE projection_versions SET state = 'live', promoted_at = now()
		WHERE projection = $1 AND version = $2`, to.Projection, to.Version); err != nil {
		return fmt.Errorf("promote version %d: %w", to.Version, err)
	}
	return nil
}

// retired lists the retired versions of projection (every projection if "") whose
// successor went live more than grace ago.
func (v *Versions) retired(ctx context.Context, projection string, grace time.Duration) ([]readmodels.Target, error) {
	rows, err := v.pool.Query(ctx, `SELECT o.projection, o.version, o.pg_schema, coalesce(o.es_index, '')
		FROM projection_versions o JOIN projection_versions l ON l.projection = o.projection AND l.state = 'live'
		WHERE o.state = 'retired' AND ($1 = '' OR o.projection = $1) AND l.promoted_at <= now() - $2::interval
		ORDER BY o.projection, o.version`, projection, grace.String())
	if err != nil {
		return nil, fmt.Errorf("list retired versions: %w", err)
	}
	targets, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (readmodels.Target, error) {
		var t readmodels.Target
		err := row.Scan(&t.Projection, &t.Version, &t.Schema, &t.Index)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("list retired versions: %w", err)
	}
	return targets, nil
}

// forget deletes the row of a version that is not live (its data is dropped already).
func (v *Versions) forget(ctx context.Context, t readmodels.Target) error {
	if _, err := v.pool.Exec(ctx, `DELETE FROM projection_versions WHERE projection = $1 AND version = $2 AND state <> 'live'`,
		t.Projection, t.Version); err != nil {
		return fmt.Errorf("delete version row: %w", err)
	}
	return nil
}

const rebuildColumns = `id, projection, from_version, to_version, state, events_done, events_total,
	events_per_second, started_at, finished_at, error`

func scanRebuild(row pgx.Row) (RebuildStatus, error) {
	var s RebuildStatus
	err := row.Scan(&s.ID, &s.Projection, &s.FromVersion, &s.ToVersion, &s.State, &s.EventsDone,
		&s.EventsTotal, &s.EventsPerSecond, &s.StartedAt, &s.FinishedAt, &s.Error)
	s.StartedAt = s.StartedAt.UTC()
	if s.FinishedAt != nil {
		t := s.FinishedAt.UTC()
		s.FinishedAt = &t
	}
	if !s.Finished() {
		s.ETASeconds = s.ETA().Seconds()
	}
	return s, err
}

// Rebuild reads a rebuild's status (any process's).
func (v *Versions) Rebuild(ctx context.Context, id uuid.UUID) (RebuildStatus, error) {
	s, err := scanRebuild(v.pool.QueryRow(ctx, `SELECT `+rebuildColumns+` FROM projection_rebuilds WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return RebuildStatus{}, fmt.Errorf("%w: %s", ErrRebuildNotFound, id)
	}
	if err != nil {
		return RebuildStatus{}, fmt.Errorf("read rebuild %s: %w", id, err)
	}
	return s, nil
}

// latestRebuild reads the newest rebuild of projection; ok is false if it never had one.
func (v *Versions) latestRebuild(ctx context.Context, projection string) (_ RebuildStatus, ok bool, _ error) {
	s, err := scanRebuild(v.pool.QueryRow(ctx, `SELECT `+rebuildColumns+` FROM projection_rebuilds
		WHERE projection = $1 ORDER BY started_at DESC LIMIT 1`, projection))
	if errors.Is(err, pgx.ErrNoRows) {
		return RebuildStatus{}, false, nil
	}
	if err != nil {
		return RebuildStatus{}, false, fmt.Errorf("latest rebuild of %s: %w", projection, err)
	}
	return s, true, nil
}
