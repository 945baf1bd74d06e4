package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/eventstore"
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

var (
	// ErrRebuildInProgress: the projection has an unfinished rebuild already.
	ErrRebuildInProgress = errors.New("projections: a rebuild of this projection is in progress")
	// ErrUnknownProjection: no definition of a projection of that name.
	ErrUnknownProjection = errors.New("projections: unknown projection")
	// ErrRebuildNotFound: no rebuild has that id.
	ErrRebuildNotFound = errors.New("projections: rebuild not found")
)

// Definition tells the Rebuilder how to build one version of a projection.
type Definition struct {
	// Tables returns the DDL of the version's PostgreSQL schema.
	Tables func(schema string) ([]string, error)
	// HasIndex: the projection writes an Elasticsearch index (created with the job search
	// mapping, tuned for bulk loading).
	HasIndex bool
	// New builds a projector writing exactly the given version (never following the live
	// one).
	New func(t readmodels.Target) (Projector, error)
}

// Definitions returns the definitions of the projections of this package.
func Definitions(pool *pgxpool.Pool, es *elasticsearch.Client, bulkWorkers int) map[string]Definition {
	return map[string]Definition{
		readmodels.ReadTablesProjection: {
			Tables: readmodels.ReadTablesDDL,
			New: func(t readmodels.Target) (Projector, error) {
				return NewReadTablesProjector(pool, ReadTablesConfig{Schema: t.Schema})
			},
		},
		readmodels.JobSearchProjection: {
			Tables:   readmodels.SearchTablesDDL,
			HasIndex: true,
			New: func(t readmodels.Target) (Projector, error) {
				return NewJobSearchProjector(pool, es, JobSearchConfig{Schema: t.Schema, Index: t.Index,
					Refresh: "false", BulkWorkers: bulkWorkers})
			},
		},
	}
}

// RebuilderConfig configures a Rebuilder.
type RebuilderConfig struct {
	// SearchAlias is the alias searches read, moved at a promotion. Default
	// readmodels.DefaultSearchAlias.
	SearchAlias string
	// IndexPrefix names a version's index "<prefix>-v<N>". Default "jobs".
	IndexPrefix string
	// IndexSettings are the shards and replicas of the index a rebuild creates. Default
	// one shard, no replica.
	IndexSettings readmodels.IndexSettings
	// BatchSize is the number of events read and applied at once. Default 5000 (at most
	// eventstore.MaxReadLimit).
	BatchSize int
	// CatchUpGap: once fewer events than this are left behind the store's head, the
	// rebuild takes the promotion lock, applies the rest and swaps. Default 2000.
	CatchUpGap int
	// BulkWorkers is the number of concurrent Elasticsearch bulk requests. Default 2.
	BulkWorkers int
	// ProgressInterval is how often progress is saved (and a cancellation from another
	// process noticed). Default 1 s.
	ProgressInterval time.Duration
	// AbandonAfter is how long a run may go without a heartbeat before it counts as
	// abandoned (its process died): the next rebuild of the projection marks it failed and
	// drops the version it was building. Default 2 min.
	AbandonAfter time.Duration
	// RetiredGrace is how long a retired version is kept (for a quick way back) before a
	// later rebuild drops it; Prune drops them on demand. Default 24 h.
	RetiredGrace time.Duration
	// Definitions overrides the projections known (tests). Default Definitions(…).
	Definitions map[string]Definition
	// Logger receives the rebuilder's logs. Default slog.Default().
	Logger *slog.Logger
}

func (c *RebuilderConfig) setDefaults() {
	if c.SearchAlias == "" {
		c.SearchAlias = readmodels.DefaultSearchAlias
	}
	if c.IndexPrefix == "" {
		c.IndexPrefix = "jobs"
	}
	if c.BatchSize == 0 {
		c.BatchSize = 5000
	}
	c.BatchSize = min(c.BatchSize, eventstore.MaxReadLimit)
	if c.CatchUpGap == 0 {
		c.CatchUpGap = 2000
	}
	if c.BulkWorkers == 0 {
		c.BulkWorkers = 2
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = time.Second
	}
	if c.AbandonAfter == 0 {
		c.AbandonAfter = 2 * time.Minute
	}
	if c.RetiredGrace == 0 {
		c.RetiredGrace = 24 * time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem of the configuration.
func (c RebuilderConfig) Validate() error {
	var errs []error
	if c.BatchSize < 0 || c.CatchUpGap < 0 || c.BulkWorkers < 0 || c.ProgressInterval < 0 {
		errs = append(errs, errors.New("batch size, catch-up gap, bulk workers and progress interval must not be negative"))
	}
	if err := c.IndexSettings.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

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
	EventsPerSecond float64    `json:"events_per_second"`
	StartedAt       time.Time  `json:"started_at"`
	FinishedAt      *time.Time `json:"finished_at"`
	Error           string     `json:"error,omitempty"`
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

// Rebuilder builds version N+1 of a projection beside the live N from the event store and
// promotes it (see Run). Its state is kept in projection_rebuilds, so any process can read
// a rebuild's status or ask for its cancellation. It is safe for concurrent use.
type Rebuilder struct {
	pool  *pgxpool.Pool
	es    *elasticsearch.Client
	store *eventstore.Store
	reg   *eventstore.Registry
	cfg   RebuilderConfig
	defs  map[string]Definition
	log   *slog.Logger

	mu      sync.Mutex
	cancels map[uuid.UUID]context.CancelFunc
	closed  bool
	wg      sync.WaitGroup
}

// NewRebuilder returns a Rebuilder reading history from store (whose registry should
// upcast; reg, if not nil, upcasts again, which is a no-op for current versions). es may be
// nil if no projection with an index is rebuilt.
func NewRebuilder(pool *pgxpool.Pool, es *elasticsearch.Client, store *eventstore.Store, reg *eventstore.Registry, cfg RebuilderConfig) (*Rebuilder, error) {
	if pool == nil || store == nil {
		return nil, errors.New("projections: new rebuilder: pool and event store are required")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("projections: invalid rebuilder config: %w", err)
	}
	defs := cfg.Definitions
	if defs == nil {
		defs = Definitions(pool, es, cfg.BulkWorkers)
	}
	return &Rebuilder{pool: pool, es: es, store: store, reg: reg, cfg: cfg, defs: defs,
		log: cfg.Logger.With("component", "rebuilder"), cancels: map[uuid.UUID]context.CancelFunc{}}, nil
}

// Start begins a rebuild of projection in a goroutine owned by the Rebuilder and returns its
// id at once (POST /v1/admin/projections/{name}/rebuild). Close cancels it.
func (r *Rebuilder) Start(ctx context.Context, projection string) (uuid.UUID, error) {
	run, err := r.begin(ctx, projection)
	if err != nil {
		return uuid.Nil, err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.finish(run, context.Canceled)
		return uuid.Nil, errors.New("projections: rebuilder closed")
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancels[run.id] = cancel
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		defer cancel()
		_, _ = r.execute(rctx, run, nil)
	}()
	return run.id, nil
}

// Run rebuilds projection and returns when it is promoted, failed or cancelled; progress,
// if not nil, is called after every batch.
//
// It creates version N+1 (schema <base>_v<N+1>, index <prefix>-v<N+1>), replays the whole
// history from the store in commit-safe order in batches of BatchSize through the
// projector's Apply (bulk writes, no refresh), follows the store until fewer than
// CatchUpGap events are left, then takes the promotion lock (an exclusive advisory lock;
// live projectors following the live version hold it shared for each write), applies the
// rest and, in one transaction, retires N and makes N+1 live, and moves the search alias
// with one _aliases request. Live writes that waited for the lock then go to N+1; every
// event they applied to N before was committed, hence read by the final catch-up: none is
// lost. A failure or cancellation drops N+1 and leaves N serving.
func (r *Rebuilder) Run(ctx context.Context, projection string, progress func(RebuildStatus)) (RebuildStatus, error) {
	run, err := r.begin(ctx, projection)
	if err != nil {
		return RebuildStatus{}, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.mu.Lock()
	r.cancels[run.id] = cancel
	r.mu.Unlock()
	return r.execute(rctx, run, progress)
}

// Cancel asks a rebuild to stop: at once if it runs in this process, within
// ProgressInterval if in another.
func (r *Rebuilder) Cancel(ctx context.Context, id uuid.UUID) error {
	tag, err := r.pool.Exec(ctx, `UPDATE projection_rebuilds SET cancel_requested = true WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("cancel rebuild %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %s", ErrRebuildNotFound, id)
	}
	r.mu.Lock()
	if c := r.cancels[id]; c != nil {
		c()
	}
	r.mu.Unlock()
	return nil
}

// Close cancels the rebuilds started by Start and waits for them to clean up.
func (r *Rebuilder) Close() error {
	r.mu.Lock()
	r.closed = true
	for _, c := range r.cancels {
		c()
	}
	r.mu.Unlock()
	r.wg.Wait()
	return nil
}

const rebuildColumns = `id, projection, from_version, to_version, state, events_done, events_total,
	events_per_second, started_at, finished_at, error`

func scanRebuild(row pgx.Row) (RebuildStatus, error) {
	var s RebuildStatus
	err := row.Scan(&s.ID, &s.Projection, &s.FromVersion, &s.ToVersion, &s.State, &s.EventsDone,
		&s.EventsTotal, &s.EventsPerSecond, &s.StartedAt, &s.FinishedAt, &s.Error)
	return s, err
}

// RebuildStatusOf reads a rebuild's status from projection_rebuilds (any process).
func RebuildStatusOf(ctx context.Context, pool *pgxpool.Pool, id uuid.UUID) (RebuildStatus, error) {
	s, err := scanRebuild(pool.QueryRow(ctx, `SELECT `+rebuildColumns+` FROM projection_rebuilds WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return RebuildStatus{}, fmt.Errorf("%w: %s", ErrRebuildNotFound, id)
	}
	if err != nil {
		return RebuildStatus{}, fmt.Errorf("read rebuild %s: %w", id, err)
	}
	return s, nil
}

// Status reads a rebuild's status.
func (r *Rebuilder) Status(ctx context.Context, id uuid.UUID) (RebuildStatus, error) {
	return RebuildStatusOf(ctx, r.pool, id)
}

// rebuildRun is one rebuild in progress.
type rebuildRun struct {
	status RebuildStatus
	id     uuid.UUID
	from   readmodels.Target
	to     readmodels.Target
	def    Definition
}

var versionSuffix = regexp.MustCompile(`_v[0-9]+$`)

// begin records the rebuild and version N+1 (state rebuilding) in one transaction.
func (r *Rebuilder) begin(ctx context.Context, projection string) (*rebuildRun, error) {
	def, ok := r.defs[projection]
	if !ok {
		names := make([]string, 0, len(r.defs))
		for name := range r.defs {
			names = append(names, name)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("%w: %q (the projections are %s)", ErrUnknownProjection, projection, strings.Join(names, ", "))
	}
	if err := r.reclaimAbandoned(ctx, projection); err != nil {
		return nil, err
	}
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin rebuild of %s: %w", projection, err)
	}
	defer tx.Rollback(ctx)
	live, err := readmodels.LiveTarget(ctx, tx, projection)
	if err != nil {
		return nil, err
	}
	var maxVersion int
	if err := tx.QueryRow(ctx, `SELECT max(version) FROM projection_versions WHERE projection = $1`, projection).Scan(&maxVersion); err != nil {
		return nil, fmt.Errorf("versions of %s: %w", projection, err)
	}
	to := readmodels.Target{Projection: projection, Version: maxVersion + 1}
	to.Schema = versionSuffix.ReplaceAllString(live.Schema, "") + "_v" + strconv.Itoa(to.Version)
	if def.HasIndex {
		to.Index = r.cfg.IndexPrefix + "-v" + strconv.Itoa(to.Version)
	}
	run := &rebuildRun{id: uuid.New(), from: live, to: to, def: def}
	var index *string
	if to.Index != "" {
		index = &to.Index
	}
	if _, err := tx.Exec(ctx, `INSERT INTO projection_versions (projection, version, state, pg_schema, es_index)
		VALUES ($1, $2, 'rebuilding', $3, $4)`, projection, to.Version, to.Schema, index); err != nil {
		return nil, fmt.Errorf("record version %d of %s: %w", to.Version, projection, err)
	}
	run.status, err = scanRebuild(tx.QueryRow(ctx, `INSERT INTO projection_rebuilds (id, projection, from_version, to_version, state)
		VALUES ($1, $2, $3, $4, 'running') RETURNING `+rebuildColumns, run.id, projection, live.Version, to.Version))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return nil, fmt.Errorf("%w: %s", ErrRebuildInProgress, projection)
	}
	if err != nil {
		return nil, fmt.Errorf("record rebuild of %s: %w", projection, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("record rebuild of %s: %w", projection, err)
	}
	return run, nil
}

func (r *Rebuilder) execute(ctx context.Context, run *rebuildRun, progress func(RebuildStatus)) (RebuildStatus, error) {
	defer func() {
		r.mu.Lock()
		delete(r.cancels, run.id)
		r.mu.Unlock()
	}()
	log := r.log.With("projection", run.to.Projection, "rebuild_id", run.id, "version", run.to.Version)
	log.Info("rebuild started", "from_version", run.from.Version, "schema", run.to.Schema, "index", run.to.Index)
	err := r.rebuild(ctx, run, progress)
	r.finish(run, err)
	if err != nil {
		log.Warn("rebuild ended without promotion", "state", run.status.State, "err", err)
	} else {
		log.Info("rebuild promoted", "events", run.status.EventsDone, "events_per_second", run.status.EventsPerSecond)
	}
	if progress != nil {
		progress(run.status)
	}
	return run.status, err
}

// finish records the outcome; a failed or cancelled rebuild's version is dropped.
func (r *Rebuilder) finish(run *rebuildRun, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now()
	run.status.FinishedAt = &now
	switch {
	case err == nil:
		run.status.State = RebuildDone
	case errors.Is(err, context.Canceled):
		run.status.State = RebuildCancelled
		run.status.Error = "cancelled"
	default:
		run.status.State = RebuildFailed
		run.status.Error = err.Error()
	}
	if err != nil {
		if cerr := r.dropVersion(ctx, run.to); cerr != nil {
			r.log.Error("clean up rebuilt version", "projection", run.to.Projection, "version", run.to.Version, "err", cerr)
			run.status.Error += "; cleanup: " + cerr.Error()
		}
	}
	if _, uerr := r.pool.Exec(ctx, `UPDATE projection_rebuilds SET state = $2, events_done = $3, events_total = $4,
		events_per_second = $5, error = $6, finished_at = $7, heartbeat_at = now() WHERE id = $1`,
		run.id, run.status.State, run.status.EventsDone, run.status.EventsTotal, run.status.EventsPerSecond,
		run.status.Error, now); uerr != nil {
		r.log.Error("record rebuild outcome", "rebuild_id", run.id, "err", uerr)
	}
}

// reclaimAbandoned fails the unfinished rebuilds of projection whose process died (no
// heartbeat for AbandonAfter) and drops the versions they were building, so that N keeps
// serving and a new rebuild can start instead of answering "in progress" forever.
func (r *Rebuilder) reclaimAbandoned(ctx context.Context, projection string) error {
	rows, err := r.pool.Query(ctx, `UPDATE projection_rebuilds
		SET state = 'failed', finished_at = now(),
		    error = 'abandoned: no heartbeat since ' || to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
		WHERE projection = $1 AND state IN ('running', 'catching_up', 'swapping')
		  AND heartbeat_at < now() - make_interval(secs => $2)
		RETURNING to_version`, projection, r.cfg.AbandonAfter.Seconds())
	if err != nil {
		return fmt.Errorf("reclaim abandoned rebuilds of %s: %w", projection, err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return fmt.Errorf("reclaim abandoned rebuilds of %s: %w", projection, err)
	}
	for _, v := range versions {
		t := readmodels.Target{Projection: projection, Version: v}
		var index *string
		err := r.pool.QueryRow(ctx, `SELECT pg_schema, es_index FROM projection_versions
			WHERE projection = $1 AND version = $2 AND state = 'rebuilding'`, projection, v).Scan(&t.Schema, &index)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reclaim version %d of %s: %w", v, projection, err)
		}
		if index != nil {
			t.Index = *index
		}
		r.log.Warn("reclaiming an abandoned rebuild", "projection", projection, "version", v)
		if err := r.dropVersion(ctx, t); err != nil {
			return fmt.Errorf("reclaim version %d of %s: %w", v, projection, err)
		}
	}
	return nil
}

// dropVersion removes a version that is not live: its index, schema and row.
func (r *Rebuilder) dropVersion(ctx context.Context, t readmodels.Target) error {
	var errs []error
	if t.Index != "" && r.es != nil {
		errs = append(errs, readmodels.DeleteIndex(ctx, r.es, t.Index))
	}
	if readmodels.ValidSchemaName(t.Schema) {
		if _, err := r.pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+t.Schema+` CASCADE`); err != nil {
			errs = append(errs, fmt.Errorf("drop schema %s: %w", t.Schema, err))
		}
	}
	if _, err := r.pool.Exec(ctx, `DELETE FROM projection_versions WHERE projection = $1 AND version = $2 AND state <> 'live'`,
		t.Projection, t.Version); err != nil {
		errs = append(errs, fmt.Errorf("delete version row: %w", err))
	}
	return errors.Join(errs...)
}

func (r *Rebuilder) rebuild(ctx context.Context, run *rebuildRun, progress func(RebuildStatus)) error {
	if dropped, err := r.Prune(ctx, run.to.Projection, r.cfg.RetiredGrace); err != nil {
		r.log.Warn("drop versions retired past the grace period", "projection", run.to.Projection, "err", err)
	} else if len(dropped) > 0 {
		r.log.Info("dropped versions retired past the grace period", "projection", run.to.Projection, "versions", len(dropped))
	}
	ddl, err := run.def.Tables(run.to.Schema)
	if err != nil {
		return err
	}
	if err := execAll(ctx, r.pool, ddl); err != nil {
		return fmt.Errorf("create schema %s: %w", run.to.Schema, err)
	}
	if run.to.Index != "" {
		if r.es == nil {
			return errors.New("no elasticsearch client")
		}
		if err := readmodels.CreateSearchIndexForBulk(ctx, r.es, run.to.Index, r.cfg.IndexSettings); err != nil {
			return err
		}
	}
	p, err := run.def.New(run.to)
	if err != nil {
		return err
	}
	if err := r.pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&run.status.EventsTotal); err != nil {
		return fmt.Errorf("count events: %w", err)
	}
	start := time.Now()
	lastSave := start
	pos := eventstore.Start
	save := func(force bool) error {
		elapsed := time.Since(start).Seconds()
		if elapsed > 0 {
			run.status.EventsPerSecond = float64(run.status.EventsDone) / elapsed
		}
		run.status.EventsTotal = max(run.status.EventsTotal, run.status.EventsDone)
		if progress != nil {
			progress(run.status)
		}
		if !force && time.Since(lastSave) < r.cfg.ProgressInterval {
			return nil
		}
		lastSave = time.Now()
		var cancelled bool
		err := r.pool.QueryRow(ctx, `UPDATE projection_rebuilds SET state = $2, events_done = $3, events_total = $4,
			events_per_second = $5, heartbeat_at = now() WHERE id = $1 RETURNING cancel_requested`,
			run.id, run.status.State, run.status.EventsDone, run.status.EventsTotal, run.status.EventsPerSecond).Scan(&cancelled)
		if err != nil {
			return fmt.Errorf("save progress: %w", err)
		}
		if cancelled {
			return context.Canceled
		}
		return nil
	}
	types := streamTypeSet(p)
	read := func(after eventstore.Position) ([]eventstore.Event, error) {
		return r.store.ReadAll(ctx, after, r.cfg.BatchSize, eventstore.ReadFilter{})
	}
	// apply applies one batch read after pos and moves pos past it.
	apply := func(events []eventstore.Event) error {
		if len(events) == 0 {
			return nil
		}
		batch := make([]Event, 0, len(events))
		for _, e := range events {
			if !types[e.StreamType] {
				continue
			}
			ev, err := DecodeEvent(e, r.reg)
			if err != nil {
				return err
			}
			batch = append(batch, ev)
		}
		if len(batch) > 0 {
			if err := p.Apply(ctx, batch); err != nil {
				return err
			}
		}
		pos = events[len(events)-1].Position()
		run.status.EventsDone += int64(len(events))
		return nil
	}
	// step reads and applies one batch; it reports how many events it applied.
	step := func() (int, error) {
		events, err := read(pos)
		if err != nil {
			return 0, err
		}
		return len(events), apply(events)
	}

	// Replay, then follow the store until the gap is small. The next batch is read while
	// the current one is applied.
	type readResult struct {
		events []eventstore.Event
		err    error
	}
	var pending chan readResult
	prefetch := func(after eventstore.Position) {
		pending = make(chan readResult, 1)
		ch := pending
		go func() {
			evs, err := read(after)
			ch <- readResult{evs, err}
		}()
	}
	defer func() {
		if pending != nil {
			<-pending // the reader goroutine ends with its read
		}
	}()
	prefetch(pos)
	for {
		res := <-pending
		pending = nil
		if res.err != nil {
			return res.err
		}
		n := len(res.events)
		if n == r.cfg.BatchSize {
			prefetch(res.events[n-1].Position())
		}
		if err := apply(res.events); err != nil {
			return err
		}
		if err := save(false); err != nil {
			return err
		}
		if n == r.cfg.BatchSize {
			continue
		}
		var gap int64
		if err := r.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)`,
			pos.TransactionID, pos.GlobalPosition).Scan(&gap); err != nil {
			return fmt.Errorf("measure gap: %w", err)
		}
		run.status.EventsTotal = run.status.EventsDone + gap
		if gap < int64(r.cfg.CatchUpGap) {
			break
		}
		if n == 0 {
			// Committed events are held back by an older transaction still in flight.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		if run.status.State != RebuildCatchingUp {
			run.status.State = RebuildCatchingUp
			if err := save(true); err != nil {
				return err
			}
		}
		prefetch(pos)
	}
	if run.to.Index != "" {
		if err := readmodels.FinishBulkLoad(ctx, r.es, run.to.Index); err != nil {
			return err
		}
	}
	run.status.State = RebuildSwapping
	if err := save(true); err != nil {
		return err
	}
	return r.promote(ctx, run, step, save)
}

// promote applies the last events under the exclusive promotion lock and swaps.
func (r *Rebuilder) promote(ctx context.Context, run *rebuildRun, step func() (int, error), save func(bool) error) error {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin promotion: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, promotionLockKey(run.to.Projection)); err != nil {
		return fmt.Errorf("take promotion lock: %w", err)
	}
	for {
		n, err := step()
		if err != nil {
			return err
		}
		if n < r.cfg.BatchSize {
			break
		}
	}
	if run.to.Index != "" {
		// The final catch-up wrote without refresh; the settings are restored already.
		if err := readmodels.RefreshIndex(ctx, r.es, run.to.Index); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE projection_versions SET state = 'retired' WHERE projection = $1 AND state = 'live'`,
		run.to.Projection); err != nil {
		return fmt.Errorf("retire version %d: %w", run.from.Version, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE projection_versions SET state = 'live', promoted_at = now()
		WHERE projection = $1 AND version = $2`, run.to.Projection, run.to.Version); err != nil {
		return fmt.Errorf("promote version %d: %w", run.to.Version, err)
	}
	var previous []string
	if run.to.Index != "" {
		if previous, err = readmodels.AliasIndices(ctx, r.es, r.cfg.SearchAlias); err != nil {
			return err
		}
		if err := r.moveAlias(ctx, previous, run.to.Index); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		if run.to.Index != "" && len(previous) > 0 {
			// Put the alias back on the version that stays live.
			if berr := r.moveAlias(context.WithoutCancel(ctx), []string{run.to.Index}, previous[0]); berr != nil {
				r.log.Error("move alias back after a failed promotion", "err", berr)
			}
		}
		return fmt.Errorf("commit promotion: %w", err)
	}
	run.status.EventsTotal = run.status.EventsDone
	return nil
}

// moveAlias points the search alias at to only. With one index on the alias (the normal
// case) it is one _aliases request that removes and adds atomically.
func (r *Rebuilder) moveAlias(ctx context.Context, from []string, to string) error {
	moved := false
	for _, f := range from {
		if f == to {
			continue
		}
		if err := readmodels.SwapAlias(ctx, r.es, r.cfg.SearchAlias, f, to); err != nil {
			return err
		}
		moved = true
	}
	if !moved {
		return readmodels.SwapAlias(ctx, r.es, r.cfg.SearchAlias, "", to)
	}
	return nil
}

// Prune drops the retired versions of projection (every projection if "") that were
// retired more than grace ago: their schemas, indices and rows. It returns what it dropped.
func (r *Rebuilder) Prune(ctx context.Context, projection string, grace time.Duration) ([]readmodels.Target, error) {
	rows, err := r.pool.Query(ctx, `SELECT o.projection, o.version, o.pg_schema, coalesce(o.es_index, '')
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
	var dropped []readmodels.Target
	for _, t := range targets {
		if err := r.dropVersion(ctx, t); err != nil {
			return dropped, err
		}
		dropped = append(dropped, t)
	}
	return dropped, nil
}

func streamTypeSet(p Projector) map[string]bool {
	m := map[string]bool{}
	for _, t := range p.StreamTypes() {
		m[t] = true
	}
	return m
}

func execAll(ctx context.Context, pool *pgxpool.Pool, stmts []string) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}
