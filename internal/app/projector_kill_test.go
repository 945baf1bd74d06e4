package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
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
// compared row by row and document by document with the live version 1. It is killed twice:
// while it catches a backlog up from the event store at its start, and while it drains a
// backlog that came through Kafka while it ran. Small writes (PROJECTOR_BATCH_SIZE) make
// both backlogs last long enough to be killed in.
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
	proj.ProjectorBatchSize = 100
	applied := func() int {
		var n int
		if err := h.pool.QueryRow(ctx, `SELECT count(*) FROM rm_v1.applied_streams`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// killAfter kills p once at least n streams are applied, and checks that not all of
	// total were.
	killAfter := func(p *exec.Cmd, n, total int, what string) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); applied() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the projector process applied nothing %s", what)
			}
		}
		if err := p.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = p.Wait()
		at := applied()
		if at >= total {
			t.Fatalf("the projector finished all %d streams before it was killed %s: the test proves nothing", total, what)
		}
		t.Logf("killed %s after %d of %d streams", what, at, total)
	}
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{cfg.ElasticsearchURL}})
	if err != nil {
		t.Fatal(err)
	}
	rm, err := readmodels.NewStore(h.pool, es, readmodels.StoreConfig{SearchAlias: cfg.SearchAlias()})
	if err != nil {
		t.Fatal(err)
	}
	caughtUp := func(heads []readmodels.StreamVersion, what string) {
		t.Helper()
		for _, p := range []string{readmodels.ReadTablesProjection, readmodels.JobSearchProjection} {
			if err := rm.WaitForStreams(ctx, p, 3*time.Minute, heads...); err != nil {
				t.Fatalf("%s did not catch up %s: %v", p, what, err)
			}
		}
	}

	killAfter(startProcess(t, bin, proj), 50, len(heads), "while catching up from the store")
	second := startProcess(t, bin, proj)
	caughtUp(heads, "after the first restart")
	h.seed(t, 8000, 8) // relayed to Kafka while the second process runs
	more := h.heads(t)
	killAfter(second, len(heads)+50, len(more), "while draining Kafka")
	heads = more
	startProcess(t, bin, proj)
	caughtUp(heads, "after the second restart")

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
