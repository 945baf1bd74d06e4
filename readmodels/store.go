package readmodels

import (
	"errors"
	"log/slog"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultMaxWaiters is the default cap of requests waiting at once for a projection per
// Store (per instance). Waiters hold no connection, so the cap bounds goroutines and the
// re-check queries a projection's move sets off, not the pool.
const DefaultMaxWaiters = 256

// StoreConfig configures a Store.
type StoreConfig struct {
	// SearchAlias is the Elasticsearch alias searches read. Default DefaultSearchAlias.
	SearchAlias string
	// TargetTTL is how long the live versions read from projection_versions are cached.
	// Default 1 s.
	TargetTTL time.Duration
	// WaitPollInterval is how often a waiting request looks at the applied versions when
	// no notification woke it (ListenApplied wakes it as soon as the projection moves): a
	// guard against a lost notification. Default 1 s.
	WaitPollInterval time.Duration
	// SearchTimeout is the time budget of one search: the deadline of the request to
	// Elasticsearch and its own search timeout. A search that runs out of it is Unavailable
	// (503 with Retry-After), never partial results. Default DefaultSearchTimeout.
	SearchTimeout time.Duration
	// MaxWaiters caps the requests of this Store that wait at once for a projection; past
	// it a wait is refused with a 503 (ErrTooManyWaiters). Default DefaultMaxWaiters.
	MaxWaiters int
	// ReadPool, when set, is a pool on a streaming replica of the primary: every query of
	// the read tables, the live versions and the applied versions that consistency waits
	// check run on it, so a wait that sees its events applied there reads the rows they
	// made there (they replicated in the same WAL, before the applied version). LISTEN
	// stays on the primary's pool (a replica delivers no notifications): a notification
	// wakes the waiters, which look on the replica; when the replica has not replayed the
	// projector's commit yet they look again at the next notification or WaitPollInterval.
	// Default: nil, everything on the primary's pool.
	ReadPool *pgxpool.Pool
	// FacetsMaxAge is how long the facets of a search are reused for the searches with the
	// same words and filters: facets depend on those only, not on the order or the page, so
	// the next page, another order or the next visitor's same search within FacetsMaxAge
	// takes them instead of aggregating every match again (Elasticsearch's request cache
	// cannot: under live writes the index refreshes every SearchRefreshInterval, and each
	// refresh drops it). Items and total are always searched afresh; a search that awaited a
	// consistency token computes its facets (SearchParams.FreshFacets). 0: never reused
	// (serve's default is 5 s: SEARCH_FACETS_MAX_AGE).
	FacetsMaxAge time.Duration
	// Logger reports a lost notification connection. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// DefaultSearchTimeout is the default time budget of one search: well above what a search
// of the board takes, well below what a client waits.
const DefaultSearchTimeout = 2 * time.Second

func (c *StoreConfig) setDefaults() {
	if c.SearchAlias == "" {
		c.SearchAlias = DefaultSearchAlias
	}
	if c.TargetTTL == 0 {
		c.TargetTTL = time.Second
	}
	if c.WaitPollInterval == 0 {
		c.WaitPollInterval = time.Second
	}
	if c.MaxWaiters == 0 {
		c.MaxWaiters = DefaultMaxWaiters
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SearchTimeout == 0 {
		c.SearchTimeout = DefaultSearchTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports every problem of the configuration.
func (c StoreConfig) Validate() error {
	var errs []error
	if c.TargetTTL < 0 {
		errs = append(errs, errors.New("target TTL must not be negative"))
	}
	if c.WaitPollInterval < 0 {
		errs = append(errs, errors.New("wait poll interval must not be negative"))
	}
	if c.SearchTimeout < 0 {
		errs = append(errs, errors.New("search timeout must not be negative"))
	}
	if c.FacetsMaxAge < 0 {
		errs = append(errs, errors.New("facets max age must not be negative"))
	}
	if c.MaxWaiters < 0 {
		errs = append(errs, errors.New("max waiters must not be negative"))
	}
	return errors.Join(errs...)
}

// Store answers the queries of API.md from the projections: Elasticsearch for search,
// PostgreSQL read tables for everything else. It is safe for concurrent use.
type Store struct {
	// pool runs the queries: ReadPool when set, else the primary's.
	pool *pgxpool.Pool
	// primary is the primary's pool, whose connection config ListenApplied uses.
	primary *pgxpool.Pool
	es      *elasticsearch.Client
	cfg     StoreConfig
	targets *targets
	// applied wakes the waiters when ListenApplied hears that a schema moved.
	applied appliedSignal
	// waiters has one element per request waiting (MaxWaiters places).
	waiters chan struct{}
	// facets are the recent searches' facets (StoreConfig.FacetsMaxAge).
	facets *facetCache
}

// NewStore returns a Store reading through pool (the primary; cfg.ReadPool for the
// queries when set) and es.
func NewStore(pool *pgxpool.Pool, es *elasticsearch.Client, cfg StoreConfig) (*Store, error) {
	if pool == nil {
		return nil, errors.New("readmodels: new store: pool is nil")
	}
	if es == nil {
		return nil, errors.New("readmodels: new store: elasticsearch client is nil")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	read := pool
	if cfg.ReadPool != nil {
		read = cfg.ReadPool
	}
	return &Store{
		pool:    read,
		primary: pool,
		es:      es,
		cfg:     cfg,
		waiters: make(chan struct{}, cfg.MaxWaiters),
		facets:  newFacetCache(cfg.FacetsMaxAge),
		targets: &targets{
			pool: read, ttl: cfg.TargetTTL, now: cfg.Now, cache: map[string]cachedTarget{},
		},
	}, nil
}
