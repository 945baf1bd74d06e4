package readmodels

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Permanent projection names. They are consumer-group names and keys of
// projection_versions: changing one replays everything.
const (
	// ReadTablesProjection builds the PostgreSQL read tables (jobs, companies, candidates,
	// applications).
	ReadTablesProjection = "ReadTablesProjector"
	// JobSearchProjection builds the Elasticsearch job search index.
	JobSearchProjection = "JobSearchProjector"
)

// Defaults of version 1, as created by migrations/00030_read_models.sql.
const (
	DefaultReadTablesSchema = "rm_v1"
	DefaultSearchSchema     = "search_v1"
	DefaultSearchIndex      = "jobs-v1"
	DefaultSearchAlias      = "jobs"
)

// ErrNoLiveVersion: projection_versions has no live row for a projection.
var ErrNoLiveVersion = errors.New("readmodels: projection has no live version")

// Target is where one version of a projection keeps its data.
type Target struct {
	Projection string
	Version    int
	// Schema is the PostgreSQL schema of the version's tables.
	Schema string
	// Index is the Elasticsearch index of the version, "" for PostgreSQL-only projections.
	Index string
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ValidSchemaName reports whether s can be spliced into SQL as a schema name. Schema names
// come from projection_versions, never from clients; the check keeps a bad row harmless.
func ValidSchemaName(s string) bool { return identRE.MatchString(s) }

// LiveTarget reads the live version of a projection from projection_versions.
func LiveTarget(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, projection string) (Target, error) {
	t := Target{Projection: projection}
	var index *string
	err := q.QueryRow(ctx, `SELECT version, pg_schema, es_index FROM projection_versions
		WHERE projection = $1 AND state = 'live'`, projection).Scan(&t.Version, &t.Schema, &index)
	if errors.Is(err, pgx.ErrNoRows) {
		return Target{}, fmt.Errorf("%w: %s", ErrNoLiveVersion, projection)
	}
	if err != nil {
		return Target{}, fmt.Errorf("read live version of %s: %w", projection, err)
	}
	if !ValidSchemaName(t.Schema) {
		return Target{}, fmt.Errorf("live version of %s: invalid schema name %q", projection, t.Schema)
	}
	if index != nil {
		t.Index = *index
	}
	return t, nil
}

// targets caches live targets for a short time, so a promotion (issue 6) is picked up
// within ttl without a registry query per request.
type targets struct {
	pool *pgxpool.Pool
	ttl  time.Duration
	now  func() time.Time

	mu    sync.Mutex
	cache map[string]cachedTarget
}

type cachedTarget struct {
	t       Target
	fetched time.Time
}

func (c *targets) get(ctx context.Context, projection string) (Target, error) {
	c.mu.Lock()
	ct, ok := c.cache[projection]
	c.mu.Unlock()
	if ok && c.now().Sub(ct.fetched) < c.ttl {
		return ct.t, nil
	}
	t, err := LiveTarget(ctx, c.pool, projection)
	if err != nil {
		return Target{}, err
	}
	c.mu.Lock()
	c.cache[projection] = cachedTarget{t: t, fetched: c.now()}
	c.mu.Unlock()
	return t, nil
}
