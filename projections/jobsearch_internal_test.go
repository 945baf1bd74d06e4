package projections

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/readmodels"
)

// The side tables stop stale events before Elasticsearch; this checks the second guard,
// for writes that get past them (two processes during a rebalance, a crash between the
// bulk write and the commit): an older version never replaces a newer document, and the
// refusal counts as success.
func TestWriteNeverReplacesANewerDocument(t *testing.T) {
	t.Parallel()
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{testenv.ElasticsearchURL(t)}})
	if err != nil {
		t.Fatal(err)
	}
	index := "test-jobs-v1-" + testenv.RandomSuffix()
	ctx := context.Background()
	if err := readmodels.EnsureSearchIndex(ctx, es, index, "", readmodels.IndexSettings{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if res, err := es.Indices.Delete([]string{index}); err == nil {
			res.Body.Close()
		}
	})
	p := &JobSearchProjector{es: es, cfg: JobSearchConfig{Index: index, Refresh: "true", BulkWorkers: 1}}
	doc := func(status string) readmodels.JobDocument {
		return readmodels.JobDocument{ID: "job-1", Title: "Go Engineer", Status: status, Tags: []string{},
			Location: readmodels.Location{Regions: []string{}, Countries: []string{}}, PostedAt: time.Now()}
	}
	if err := p.write(ctx, index, []versionedDoc{{doc: doc(readmodels.StatusClosed), version: 7}}, "true"); err != nil {
		t.Fatal(err)
	}
	if err := p.write(ctx, index, []versionedDoc{{doc: doc(readmodels.StatusPublished), version: 5}}, "true"); err != nil {
		t.Fatalf("stale write: %v, want success", err)
	}
	res, err := es.Get(index, "job-1")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("get: %s", res.Status())
	}
	var got struct {
		Version int64                  `json:"_version"`
		Source  readmodels.JobDocument `json:"_source"`
	}
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Version != 7 || got.Source.Status != readmodels.StatusClosed {
		t.Fatalf("document = v%d %s, want v7 closed", got.Version, got.Source.Status)
	}
}
