package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/readmodels"
	"github.com/jobboard/jobboard/storedevents"
)

// Adapters are the connections and stores every part of the program shares: the
// PostgreSQL pool, the event store with the event registry, the Elasticsearch client, the
// projection list and the projection version bookkeeping. `serve` (Main) and the CLI's
// operator and analyst commands all take them from Open, so each is built one way, in one
// place; Close releases them once.
type Adapters struct {
	cfg Config
	log *slog.Logger

	pool *pgxpool.Pool
	// readPool is the streaming replica of DATABASE_READ_URL, nil without one: the
	// read-table queries and their consistency checks run there.
	readPool *pgxpool.Pool
	registry *eventstore.Registry
	store    *eventstore.Store
	es       *elasticsearch.Client
	versions *projections.Versions

	closeOnce sync.Once
}

// Open connects to PostgreSQL (a pool of DATABASE_MAX_CONNS) and builds the adapters over
// it. cfg is expected valid (New and the CLI's configuration loading check it). Nothing is
// started: the Elasticsearch client connects on its first request.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Adapters, error) {
	poolCfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	poolCfg.MaxConns = int32(cfg.databaseMaxConns())
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	a := &Adapters{cfg: cfg, log: log, pool: pool}
	if cfg.DatabaseReadURL != "" {
		readCfg, err := pgxpool.ParseConfig(cfg.DatabaseReadURL)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("postgres replica: %w", err)
		}
		readCfg.MaxConns = int32(cfg.databaseMaxConns())
		if a.readPool, err = pgxpool.NewWithConfig(ctx, readCfg); err != nil {
			a.Close()
			return nil, fmt.Errorf("postgres replica: %w", err)
		}
	}
	if err := a.build(); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *Adapters) build() error {
	var err error
	if a.registry, err = storedevents.NewRegistry(); err != nil {
		return err
	}
	if a.store, err = eventstore.NewStore(a.pool, eventstore.StoreConfig{Registry: a.registry, Logger: a.log}); err != nil {
		return err
	}
	if a.es, err = elasticsearch.NewClient(elasticsearch.Config{Addresses: a.cfg.ElasticsearchAddresses(), Transport: esTransport()}); err != nil {
		return fmt.Errorf("elasticsearch: %w", err)
	}
	a.versions, err = projections.NewVersions(a.pool)
	return err
}

// esTransport is the HTTP transport of the Elasticsearch client. net/http's default keeps
// two idle connections per host, so concurrent searches beyond two opened a connection each
// and closed it after; and it asks for gzip, so Elasticsearch compressed every answer
// (about 17 KB for a page of search hits and its facets) and the client inflated it again,
// CPU on both sides of a hop inside one network (docs/BENCHMARKS.md, "The search request").
func esTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 256
	t.DisableCompression = true
	return t
}

// Close closes the pools; calling it again does nothing.
func (a *Adapters) Close() {
	a.closeOnce.Do(func() {
		if a.readPool != nil {
			a.readPool.Close()
		}
		a.pool.Close()
	})
}

// Pool is the PostgreSQL pool.
func (a *Adapters) Pool() *pgxpool.Pool { return a.pool }

// Registry is the event registry: it upcasts stored events to the current schemas.
func (a *Adapters) Registry() *eventstore.Registry { return a.registry }

// Store is the event store; the events it reads are upcast by Registry.
func (a *Adapters) Store() *eventstore.Store { return a.store }

// StoredEvents is an event store that reads the rows as they are stored (no upcasting):
// what an export to archives writes.
func (a *Adapters) StoredEvents() (*eventstore.Store, error) {
	return eventstore.NewStore(a.pool, eventstore.StoreConfig{Logger: a.log})
}

// Elasticsearch is the Elasticsearch client.
func (a *Adapters) Elasticsearch() *elasticsearch.Client { return a.es }

// Versions owns the projection version and rebuild tables.
func (a *Adapters) Versions() *projections.Versions { return a.versions }

// Projections is the list of projections, by name (projections.Definitions): the runner,
// rebuilds, status and dead-letter replay all use it. Its live projectors follow the
// registry's live versions.
func (a *Adapters) Projections() map[string]projections.Definition {
	return projections.Definitions(a.pool, a.es, 0)
}

// LiveProjector builds the live projector of projection (projections.ErrUnknownProjection
// if there is none of that name).
func (a *Adapters) LiveProjector(projection string) (projections.Projector, error) {
	return projections.LiveProjector(a.Projections(), projection)
}

// DeadLetters stores and replays the projectors' dead letters.
func (a *Adapters) DeadLetters() (*projections.DeadLetters, error) {
	return projections.NewDeadLetters(a.pool)
}

// NewRebuilder returns a Rebuilder over the adapters. The search alias and index prefix
// default to this deployment's (ELASTICSEARCH_INDEX_PREFIX), the logger to the program's.
// The caller closes it before the adapters.
func (a *Adapters) NewRebuilder(cfg projections.RebuilderConfig) (*projections.Rebuilder, error) {
	if cfg.IndexSettings == (readmodels.IndexSettings{}) {
		cfg.IndexSettings = a.cfg.SearchIndexSettings()
	}
	if cfg.SearchAlias == "" {
		cfg.SearchAlias = a.cfg.SearchAlias()
	}
	if cfg.IndexPrefix == "" {
		cfg.IndexPrefix = a.cfg.SearchIndexPrefix()
	}
	if cfg.Logger == nil {
		cfg.Logger = a.log
	}
	return projections.NewRebuilder(a.pool, a.es, a.store, cfg)
}
