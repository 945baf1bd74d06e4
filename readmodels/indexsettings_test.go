package readmodels_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/readmodels"
)

// TestSearchIndexTakesItsShardsAndReplicasFromTheSettings: a new index gets the configured
// shards and replicas; an existing one gets the replicas (dynamic) and keeps its shards.
func TestSearchIndexTakesItsShardsAndReplicasFromTheSettings(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{testenv.ElasticsearchURL(t)}})
	if err != nil {
		t.Fatal(err)
	}
	index := "test-settings-v1-" + testenv.RandomSuffix()
	t.Cleanup(func() {
		if res, err := es.Indices.Delete([]string{index}); err == nil {
			res.Body.Close()
		}
	})
	settingsOf := func() (shards, replicas string) {
		t.Helper()
		res, err := es.Indices.GetSettings(es.Indices.GetSettings.WithIndex(index), es.Indices.GetSettings.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]struct {
			Settings struct {
				Index struct {
					Shards   string `json:"number_of_shards"`
					Replicas string `json:"number_of_replicas"`
				} `json:"index"`
			} `json:"settings"`
		}
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return body[index].Settings.Index.Shards, body[index].Settings.Index.Replicas
	}

	if err := readmodels.EnsureSearchIndex(ctx, es, index, "", readmodels.IndexSettings{Shards: 2}); err != nil {
		t.Fatal(err)
	}
	if s, r := settingsOf(); s != "2" || r != "0" {
		t.Fatalf("new index: shards %s replicas %s, want 2 and 0", s, r)
	}
	// One node cannot hold a replica (the index turns yellow), but the setting is taken.
	if err := readmodels.EnsureSearchIndex(ctx, es, index, "", readmodels.IndexSettings{Shards: 3, Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	if s, r := settingsOf(); s != "2" || r != "1" {
		t.Fatalf("existing index: shards %s replicas %s, want 2 (kept) and 1 (applied)", s, r)
	}
	if err := readmodels.EnsureSearchIndex(ctx, es, index, "", readmodels.IndexSettings{Replicas: -1}); err == nil {
		t.Fatal("negative replicas accepted")
	}
}
