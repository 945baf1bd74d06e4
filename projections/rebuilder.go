package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/readmodels"
)

var (
	// ErrRebuildInProgress: the projection has an unfinished rebuild already.
	ErrRebuildInProgress = errors.New("projections: a rebuild of this projection is in progress")
	// ErrUnknownProjection: no definition of a projection of that name.
	ErrUnknownProjection = errors.New("projections: unknown projection")
	// ErrRebuildNotFound: no rebuild has that id.
	ErrRebuildNotFound = errors.New("projections: rebuild not found")
)

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

// Rebuilder builds version N+1 of a projection beside the live N from the event store and
// promotes it (see Run). Its state is kept in projection_rebuilds, so any process can read
// a rebuild's status or ask for its cancellation. It is safe for concurrent use.
type Rebuilder struct {
	pool     *pgxpool.Pool
	es       *elasticsearch.Client
	store    *eventstore.Store
	versions *Versions
	cfg      RebuilderConfig
	defs     map[string]Definition
	log      *slog.Logger

	mu      sync.Mutex
	cancels map[uuid.UUID]context.CancelFunc
	closed  bool
	wg      sync.WaitGroup
}

// NewRebuilder returns a Rebuilder reading history from store (DecodeEvent upcasts what
// it reads). es may be nil if no projection with an index is rebuilt.
func NewRebuilder(pool *pgxpool.Pool, es *elasticsearch.Client, store *eventstore.Store, cfg RebuilderConfig) (*Rebuilder, error) {
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
	return &Rebuilder{pool: pool, es: es, store: store, versions: &Versions{pool: pool}, cfg: cfg, defs: defs,
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
		_, _ = r.execute(rctx, run)
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
	run.log.progress = progress
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.mu.Lock()
	r.cancels[run.id] = cancel
	r.mu.Unlock()
	return r.execute(rctx, run)
}

// Cancel asks a rebuild to stop: at once if it runs in this process, within
// ProgressInterval if in another.
func (r *Rebuilder) Cancel(ctx context.Context, id uuid.UUID) error {
	if err := r.versions.requestCancel(ctx, id); err != nil {
		return err
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

// Status reads a rebuild's status.
func (r *Rebuilder) Status(ctx context.Context, id uuid.UUID) (RebuildStatus, error) {
	return r.versions.Rebuild(ctx, id)
}

// rebuildRun is one rebuild in progress: what it builds, from what, and its log.
type rebuildRun struct {
	id   uuid.UUID
	from readmodels.Target
	to   readmodels.Target
	def  Definition
	log  *rebuildLog
}

// begin records the rebuild and version N+1 (state rebuilding).
func (r *Rebuilder) begin(ctx context.Context, projection string) (*rebuildRun, error) {
	def, err := lookup(r.defs, projection)
	if err != nil {
		return nil, err
	}
	if err := r.reclaimAbandoned(ctx, projection); err != nil {
		return nil, err
	}
	indexPrefix := ""
	if def.HasIndex {
		indexPrefix = r.cfg.IndexPrefix
	}
	from, to, status, err := r.versions.beginRebuild(ctx, projection, indexPrefix)
	if err != nil {
		return nil, err
	}
	return &rebuildRun{id: status.ID, from: from, to: to, def: def,
		log: &rebuildLog{versions: r.versions, status: status, interval: r.cfg.ProgressInterval}}, nil
}

func (r *Rebuilder) execute(ctx context.Context, run *rebuildRun) (RebuildStatus, error) {
	defer func() {
		r.mu.Lock()
		delete(r.cancels, run.id)
		r.mu.Unlock()
	}()
	log := r.log.With("projection", run.to.Projection, "rebuild_id", run.id, "version", run.to.Version)
	log.Info("rebuild started", "from_version", run.from.Version, "schema", run.to.Schema, "index", run.to.Index)
	err := r.rebuild(ctx, run)
	r.finish(run, err)
	if err != nil {
		log.Warn("rebuild ended without promotion", "state", run.log.status.State, "err", err)
	} else {
		log.Info("rebuild promoted", "events", run.log.status.EventsDone, "events_per_second", run.log.status.EventsPerSecond)
	}
	run.log.report()
	return run.log.status, err
}

// finish records the outcome; a failed or cancelled rebuild's version is dropped.
func (r *Rebuilder) finish(run *rebuildRun, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now()
	var cleanup error
	if err != nil {
		if cleanup = r.dropVersion(ctx, run.to); cleanup != nil {
			r.log.Error("clean up rebuilt version", "projection", run.to.Projection, "version", run.to.Version, "err", cleanup)
		}
	}
	if ferr := run.log.finish(ctx, now, err, cleanup); ferr != nil {
		r.log.Error("record rebuild outcome", "rebuild_id", run.id, "err", ferr)
	}
}

// reclaimAbandoned fails the unfinished rebuilds of projection whose process died (no
// heartbeat for AbandonAfter) and drops the versions they were building, so that N keeps
// serving and a new rebuild can start instead of answering "in progress" forever.
func (r *Rebuilder) reclaimAbandoned(ctx context.Context, projection string) error {
	abandoned, err := r.versions.failAbandoned(ctx, projection, r.cfg.AbandonAfter)
	if err != nil {
		return err
	}
	for _, t := range abandoned {
		r.log.Warn("reclaiming an abandoned rebuild", "projection", projection, "version", t.Version)
		if err := r.dropVersion(ctx, t); err != nil {
			return fmt.Errorf("reclaim version %d of %s: %w", t.Version, projection, err)
		}
	}
	return nil
}

// rebuild fills version N+1 and promotes it: replay the history, follow the store until
// the gap is small, then the final catch-up and the swap under the promotion lock.
func (r *Rebuilder) rebuild(ctx context.Context, run *rebuildRun) error {
	if dropped, err := r.Prune(ctx, run.to.Projection, r.cfg.RetiredGrace); err != nil {
		r.log.Warn("drop versions retired past the grace period", "projection", run.to.Projection, "err", err)
	} else if len(dropped) > 0 {
		r.log.Info("dropped versions retired past the grace period", "projection", run.to.Projection, "versions", len(dropped))
	}
	p, err := r.createVersion(ctx, run)
	if err != nil {
		return err
	}
	rp := &replay{pool: r.pool, store: r.store, projector: p, types: streamTypeSet(p),
		batchSize: r.cfg.BatchSize, pos: eventstore.Start}
	total, err := rp.count(ctx)
	if err != nil {
		return err
	}
	run.log.start(total)
	if err := rp.catchUp(ctx, run.log, r.cfg.CatchUpGap); err != nil {
		return err
	}
	if run.to.Index != "" {
		if err := readmodels.FinishBulkLoad(ctx, r.es, run.to.Index); err != nil {
			return err
		}
	}
	if err := run.log.enter(ctx, RebuildSwapping); err != nil {
		return err
	}
	return r.promote(ctx, run, rp)
}

// createVersion creates version N+1's schema (and index) and the projector that fills it.
func (r *Rebuilder) createVersion(ctx context.Context, run *rebuildRun) (Projector, error) {
	ddl, err := run.def.Tables(run.to.Schema)
	if err != nil {
		return nil, err
	}
	if err := execAll(ctx, r.pool, ddl); err != nil {
		return nil, fmt.Errorf("create schema %s: %w", run.to.Schema, err)
	}
	if run.to.Index != "" {
		if r.es == nil {
			return nil, errors.New("no elasticsearch client")
		}
		if err := readmodels.CreateSearchIndexForBulk(ctx, r.es, run.to.Index, r.cfg.IndexSettings); err != nil {
			return nil, err
		}
	}
	return run.def.New(run.to)
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
