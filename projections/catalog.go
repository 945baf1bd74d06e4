package projections

import (
	"fmt"
	"sort"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/readmodels"
)

// Definition is one projection of the program: how to build a version of it and its
// projector. Definitions is the one list the runner, rebuilds, status and dead-letter
// replay all read, so adding a projection is one entry there.
type Definition struct {
	// Tables returns the DDL of the version's PostgreSQL schema.
	Tables func(schema string) ([]string, error)
	// HasIndex: the projection writes an Elasticsearch index (created with the job search
	// mapping, tuned for bulk loading).
	HasIndex bool
	// New builds a projector writing exactly the given version (never following the live
	// one): what a rebuild fills.
	New func(t readmodels.Target) (Projector, error)
	// Live builds the projector that follows the live version of the registry, so a
	// rebuild's promotion moves it to the new version without losing an event: what the
	// runner runs and a dead-letter replay feeds.
	Live func() (Projector, error)
	// StreamTypes are the stream types the projector consumes (its StreamTypes method,
	// which reads no field): status counts only their events as lag.
	StreamTypes []string
}

// Definitions returns the projections of the program by permanent name. es may be nil if
// no projection with an index is built; bulkWorkers is the rebuild's concurrent bulk
// requests to Elasticsearch.
func Definitions(pool *pgxpool.Pool, es *elasticsearch.Client, bulkWorkers int) map[string]Definition {
	return map[string]Definition{
		readmodels.ReadTablesProjection: {
			Tables: readmodels.ReadTablesDDL,
			New: func(t readmodels.Target) (Projector, error) {
				return NewReadTablesProjector(pool, ReadTablesConfig{Schema: t.Schema})
			},
			Live: func() (Projector, error) {
				return NewReadTablesProjector(pool, ReadTablesConfig{FollowLive: true})
			},
			StreamTypes: (&ReadTablesProjector{}).StreamTypes(),
		},
		readmodels.JobSearchProjection: {
			Tables:   readmodels.SearchTablesDDL,
			HasIndex: true,
			New: func(t readmodels.Target) (Projector, error) {
				return NewJobSearchProjector(pool, es, JobSearchConfig{Schema: t.Schema, Index: t.Index,
					Refresh: "false", BulkWorkers: bulkWorkers})
			},
			Live: func() (Projector, error) {
				return NewJobSearchProjector(pool, es, JobSearchConfig{FollowLive: true})
			},
			StreamTypes: (&JobSearchProjector{}).StreamTypes(),
		},
		readmodels.AlertsProjection: {
			Tables: readmodels.AlertsTablesDDL,
			New: func(t readmodels.Target) (Projector, error) {
				return NewAlertsProjector(pool, AlertsConfig{Schema: t.Schema})
			},
			Live: func() (Projector, error) {
				return NewAlertsProjector(pool, AlertsConfig{FollowLive: true})
			},
			StreamTypes: (&AlertsProjector{}).StreamTypes(),
		},
	}
}

// consumed are the stream types each projection consumes, read once from the catalog.
var consumed = func() map[string][]string {
	out := map[string][]string{}
	for name, d := range Definitions(nil, nil, 0) {
		out[name] = d.StreamTypes
	}
	return out
}()

// ConsumedStreamTypes returns the stream types the projection name consumes (nil for a
// name the catalog does not know): its lag counts only their events, and a consistency
// token's positions of other types are nothing it will ever apply.
func ConsumedStreamTypes(name string) []string { return consumed[name] }

// Names returns the permanent names of the projections, sorted.
func Names() []string { return sortedNames(Definitions(nil, nil, 0)) }

func sortedNames(defs map[string]Definition) []string {
	names := make([]string, 0, len(defs))
	for name := range defs {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// lookup returns the definition of projection, or ErrUnknownProjection naming those known.
func lookup(defs map[string]Definition, projection string) (Definition, error) {
	def, ok := defs[projection]
	if !ok {
		return Definition{}, fmt.Errorf("%w: %q (the projections are %s)", ErrUnknownProjection, projection,
			strings.Join(sortedNames(defs), ", "))
	}
	return def, nil
}

// LiveProjector builds the live projector of projection (a dead-letter replay feeds it).
func LiveProjector(defs map[string]Definition, projection string) (Projector, error) {
	def, err := lookup(defs, projection)
	if err != nil {
		return nil, err
	}
	return def.Live()
}

// LiveProjectors builds the live projector of every projection, in name order: what the
// runner runs.
func LiveProjectors(defs map[string]Definition) ([]Projector, error) {
	var out []Projector
	for _, name := range sortedNames(defs) {
		p, err := defs[name].Live()
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
