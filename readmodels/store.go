package readmodels

import (
	"errors"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"
)

// StoreConfig configures a Store.
type StoreConfig struct {
	// SearchAlias is the Elasticsearch alias searches read. Default DefaultSearchAlias.
	SearchAlias string
	// TargetTTL is how long the live versions read from projection_versions are cached.
	// Default 1 s.
	TargetTTL time.Duration
	// WaitPollInterval is how often WaitForStream looks at the applied versions.
	// Default 10 ms.
	WaitPollInterval time.Duration
	// SearchTimeout is the time budget of one search: the deadline of the request to
	// Elasticsearch and its own search timeout. A search that runs out of it is Unavailable
	// (503 with Retry-After), never partial results. Default DefaultSearchTimeout.
	SearchTimeout time.Duration
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
		c.WaitPollInterval = 10 * time.Millisecond
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
	return errors.Join(errs...)
}

// Store answers the queries of API.md from the projections: Elasticsearch for search,
// PostgreSQL read tables for everything else. It is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	es      *elasticsearch.Client
	cfg     StoreConfig
	targets *targets
}

// NewStore returns a Store reading through pool and es.
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
	return &Store{
		pool: pool,
		es:   es,
		cfg:  cfg,
		targets: &targets{
			pool: pool, ttl: cfg.TargetTTL, now: cfg.Now, cache: map[string]cachedTarget{},
		},
	}, nil
}
