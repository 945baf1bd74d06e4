package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/readmodels"
)

// A projector process SIGKILLed in the middle of a backlog, then restarted, must leave read
// models equal to a fresh replay of the store: here the replay is a rebuild into version 2,
// compared row by row and document by document with the live version 1.
func TestProjectorProcessKilledMidBatchReadModelsEqualAFreshReplay(t *testing.T) {
	t.Parallel()
	bin := buildJobboard(t)
	cfg := stackConfig(t)
	cfg.Roles = []string{app.RoleRelay}
	h := newHistory(t, cfg.DatabaseURL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start(t, cfg)
	h.seed(t, 8000, 7)
	heads := h.heads(t)

	proj := cfg
	proj.Roles = []string{app.RoleProjectors}
	first := startProcess(t, bin, proj)
	applied := func() int {
		var n int
		if err := h.pool.QueryRow(ctx, `SELECT count(*) FROM rm_v1.applied_streams`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for deadline := time.Now().Add(2 * time.Minute); applied() < 50; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the projector process applied nothing")
		}
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	at := applied()
	if at >= len(heads) {
		t.Fatalf("the projector finished all %d streams before it was killed: the test proves nothing", len(heads))
	}
	t.Logf("killed after %d of %d streams", at, len(heads))

	startProcess(t, bin, proj)
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{cfg.ElasticsearchURL}})
	if err != nil {
		t.Fatal(err)
	}
	rm, err := readmodels.NewStore(h.pool, es, readmodels.StoreConfig{SearchAlias: cfg.SearchAlias()})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{readmodels.ReadTablesProjection, readmodels.JobSearchProjection} {
		if err := rm.WaitForStreams(ctx, p, 3*time.Minute, heads...); err != nil {
			t.Fatalf("%s did not catch up after the restart: %v", p, err)
		}
	}

	// The fresh replay: version 2 of both projections, built from the store.
	rb, err := projections.NewRebuilder(h.pool, es, h.store, projections.RebuilderConfig{
		SearchAlias: cfg.SearchAlias(), IndexPrefix: cfg.SearchIndexPrefix(), Logger: testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	for _, p := range []string{readmodels.ReadTablesProjection, readmodels.JobSearchProjection} {
		if _, err := rb.Run(ctx, p, nil); err != nil {
			t.Fatalf("rebuild %s: %v", p, err)
		}
	}

	for _, table := range []string{"companies", "candidates", "jobs", "applications"} {
		var live, replay, differ int
		err := h.pool.QueryRow(ctx, fmt.Sprintf(`SELECT
			(SELECT count(*) FROM rm_v1.%[1]s), (SELECT count(*) FROM rm_v2.%[1]s),
			(SELECT count(*) FROM ((TABLE rm_v1.%[1]s EXCEPT ALL TABLE rm_v2.%[1]s)
			                 UNION ALL (TABLE rm_v2.%[1]s EXCEPT ALL TABLE rm_v1.%[1]s)) d)`, table)).Scan(&live, &replay, &differ)
		if err != nil {
			t.Fatal(err)
		}
		if live == 0 || live != replay || differ != 0 {
			t.Errorf("%s: %d rows after the kill, %d in a fresh replay, %d rows differ", table, live, replay, differ)
		}
	}
	v1, v2 := searchDocs(t, es, cfg.SearchIndexPrefix()+"-v1"), searchDocs(t, es, cfg.SearchIndexPrefix()+"-v2")
	if len(v1) == 0 || len(v1) != len(v2) {
		t.Fatalf("search: %d documents after the kill, %d in a fresh replay", len(v1), len(v2))
	}
	for id, doc := range v1 {
		other := v2[id]
		// The external version is the stream version of the write that last touched the
		// document: a batch writes once at its highest version, so it depends on batch
		// boundaries (events that change nothing searchable write nothing), not on content.
		if doc["_version"].(int64) > other["_version"].(int64) {
			t.Errorf("search document %s: version %v after the kill, above the replay's %v", id, doc["_version"], other["_version"])
		}
		delete(doc, "_version")
		delete(other, "_version")
		if !reflect.DeepEqual(doc, other) {
			t.Errorf("search document %s differs:\nafter the kill %v\nfresh replay   %v", id, doc, other)
		}
	}
}

// searchDocs returns every document of an index by id (with its external version).
func searchDocs(t *testing.T, es *elasticsearch.Client, index string) map[string]map[string]any {
	t.Helper()
	res, err := es.Search(es.Search.WithIndex(index), es.Search.WithSize(10000), es.Search.WithVersion(true),
		es.Search.WithBody(strings.NewReader(`{"query":{"match_all":{}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.IsError() {
		t.Fatalf("search %s: %s", index, res.Status())
	}
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
	out := map[string]map[string]any{}
	for _, h := range body.Hits.Hits {
		h.Source["_version"] = h.Version
		out[h.ID] = h.Source
	}
	return out
}
