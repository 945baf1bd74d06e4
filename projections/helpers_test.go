package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/readmodels"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	dsn := testenv.NewDatabase(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

type searchIndex struct {
	es    *elasticsearch.Client
	index string
	alias string
}

func newSearchIndex(t *testing.T) searchIndex {
	t.Helper()
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{testenv.ElasticsearchURL(t)}})
	if err != nil {
		t.Fatal(err)
	}
	sfx := testenv.RandomSuffix()
	si := searchIndex{es: es, index: "test-jobs-v1-" + sfx, alias: "test-jobs-" + sfx}
	if err := readmodels.EnsureSearchIndex(context.Background(), es, si.index, si.alias, readmodels.IndexSettings{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		res, err := es.Indices.Delete([]string{si.index})
		if err == nil {
			res.Body.Close()
		}
	})
	return si
}

func newStore(t *testing.T, pool *pgxpool.Pool, si searchIndex) *readmodels.Store {
	t.Helper()
	s, err := readmodels.NewStore(pool, si.es, readmodels.StoreConfig{SearchAlias: si.alias})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newReadTables(t *testing.T, pool *pgxpool.Pool) *projections.ReadTablesProjector {
	t.Helper()
	p, err := projections.NewReadTablesProjector(pool, projections.ReadTablesConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newJobSearch(t *testing.T, pool *pgxpool.Pool, si searchIndex) *projections.JobSearchProjector {
	t.Helper()
	p, err := projections.NewJobSearchProjector(pool, si.es, projections.JobSearchConfig{Index: si.index})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// applyAll decodes events and applies them in batches of the given sizes (cycled).
func applyAll(t *testing.T, p projections.Projector, events []eventstore.Event, batchSizes ...int) {
	t.Helper()
	if len(batchSizes) == 0 {
		batchSizes = []int{1}
	}
	decoded := make([]projections.Event, len(events))
	for i, e := range events {
		d, err := projections.DecodeEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		decoded[i] = d
	}
	ctx := context.Background()
	for i, n := 0, 0; i < len(decoded); n++ {
		size := min(batchSizes[n%len(batchSizes)], len(decoded)-i)
		if err := p.Apply(ctx, decoded[i:i+size]); err != nil {
			t.Fatalf("apply batch at %d: %v", i, err)
		}
		i += size
	}
}

// tablesSnapshot renders every read table of schema as JSON, in a stable order.
func tablesSnapshot(t *testing.T, pool *pgxpool.Pool, schema string) string {
	t.Helper()
	var parts []string
	for _, q := range []string{
		`SELECT coalesce(json_agg(t ORDER BY id), '[]') FROM %s.companies t`,
		`SELECT coalesce(json_agg(t ORDER BY id), '[]') FROM %s.candidates t`,
		`SELECT coalesce(json_agg(t ORDER BY id), '[]') FROM %s.jobs t`,
		`SELECT coalesce(json_agg(t ORDER BY id), '[]') FROM %s.applications t`,
		`SELECT coalesce(json_agg(t ORDER BY job_id, payment_id), '[]') FROM %s.job_payments t`,
		`SELECT coalesce(json_agg(json_build_object('s', stream_id, 'v', version, 'p', global_position) ORDER BY stream_id), '[]') FROM %s.applied_streams`,
	} {
		var s string
		if err := pool.QueryRow(context.Background(), fmt.Sprintf(q, schema)).Scan(&s); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "\n")
}

type storedDoc struct {
	Version int64
	Source  map[string]any
}

// searchDocs returns every document of index with its version.
func searchDocs(t *testing.T, si searchIndex, index string) map[string]storedDoc {
	t.Helper()
	res, err := si.es.Search(si.es.Search.WithIndex(index), si.es.Search.WithSize(1000),
		si.es.Search.WithVersion(true), si.es.Search.WithBody(strings.NewReader(`{"query":{"match_all":{}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Hits struct {
			Hits []struct {
				ID      string         `json:"_id"`
				Version int64          `json:"_version"`
				Source  map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	out := map[string]storedDoc{}
	for _, h := range body.Hits.Hits {
		out[h.ID] = storedDoc{Version: h.Version, Source: h.Source}
	}
	return out
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
