//go:build faults

package app_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/readmodels"
)

// openJobs is the set of published, unexpired jobs according to the read tables and
// according to search (every page), sorted.
func openJobs(t testing.TB, cfg app.Config, pool *pgxpool.Pool) (tables, search []string) {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT id::text FROM rm_v1.jobs WHERE status = 'published' AND expires_at > now()`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, id)
	}
	rows.Close()
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{cfg.ElasticsearchURL}})
	if err != nil {
		t.Fatal(err)
	}
	rm, err := readmodels.NewStore(pool, es, readmodels.StoreConfig{SearchAlias: cfg.ElasticsearchIndexPrefix + readmodels.DefaultSearchAlias})
	if err != nil {
		t.Fatal(err)
	}
	cursor := ""
	for {
		res, err := rm.Search(ctx, readmodels.SearchParams{Sort: "newest", Limit: 100, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range res.Items {
			search = append(search, it.ID)
		}
		if res.NextCursor == "" || len(res.Items) == 0 {
			break
		}
		cursor = res.NextCursor
	}
	sort.Strings(tables)
	sort.Strings(search)
	return tables, search
}

func TestFaultElasticsearchStoppedForTenSecondsProjectorCatchesUp(t *testing.T) {
	cfg := stackConfig(t)
	cfg.Roles = []string{app.RoleRelay, app.RoleProjectors}
	h := newHistory(t, cfg.DatabaseURL)
	t.Cleanup(func() { stackCtl(t, "up", "elasticsearch") })
	start(t, cfg)

	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{cfg.ElasticsearchURL}})
	if err != nil {
		t.Fatal(err)
	}
	rm, err := readmodels.NewStore(h.pool, es, readmodels.StoreConfig{SearchAlias: cfg.ElasticsearchIndexPrefix + readmodels.DefaultSearchAlias})
	if err != nil {
		t.Fatal(err)
	}
	waitCaughtUp := func(within time.Duration) {
		t.Helper()
		heads := h.heads(t)
		for _, p := range []string{readmodels.ReadTablesProjection, readmodels.JobSearchProjection} {
			if err := rm.WaitForStreams(context.Background(), p, within, heads...); err != nil {
				t.Fatalf("%s did not catch up with %d streams: %v", p, len(heads), err)
			}
		}
	}

	h.seed(t, 2000, 1)
	waitCaughtUp(2 * time.Minute)

	stackCtl(t, "down", "elasticsearch")
	assertDown(t, strings.TrimPrefix(cfg.ElasticsearchURL, "http://"))
	downAt := time.Now()
	h.seed(t, 2000, 2) // flows through relay and Kafka while the search engine is away
	time.Sleep(10*time.Second - time.Since(downAt))
	stackCtl(t, "up", "elasticsearch")
	waitCaughtUp(3 * time.Minute)

	tables, search := openJobs(t, cfg, h.pool)
	if len(tables) == 0 {
		t.Fatal("the seeded history has no open job: the test proves nothing")
	}
	if strings.Join(tables, ",") != strings.Join(search, ",") {
		t.Fatalf("after the outage search holds %d open jobs, the read tables %d", len(search), len(tables))
	}
	t.Logf("%d open jobs in search and in the read tables after the outage", len(search))
}
