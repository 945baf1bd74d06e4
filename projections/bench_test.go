package projections_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esutil"
	"github.com/jackc/pgx/v5"

	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/readmodels"
)

// BenchmarkRebuild measures, over one history of b.N events (at least 10,000), the
// rebuild throughput of the search and read-table projections beside a raw Elasticsearch
// bulk load of the same documents and a raw COPY of the same job rows into PostgreSQL:
//
//	go test ./projections -run '^$' -bench BenchmarkRebuild -benchtime 1000000x -timeout 60m
//
// Metrics: <x>_events/s for the rebuilds, raw_es_docs/s and raw_copy_rows/s for the
// baselines, and the ratios (rebuild time ÷ raw time, per document / row written).
func BenchmarkRebuild(b *testing.B) {
	n := max(b.N, 10_000)
	env := newRebuildEnv(b, projections.RebuilderConfig{})
	ctx := context.Background()
	env.seed(b, n)
	b.ResetTimer()

	search, err := env.rb.Run(ctx, readmodels.JobSearchProjection, nil)
	if err != nil {
		b.Fatal(err)
	}
	tables, err := env.rb.Run(ctx, readmodels.ReadTablesProjection, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	searchSecs := search.FinishedAt.Sub(search.StartedAt).Seconds()
	tablesSecs := tables.FinishedAt.Sub(tables.StartedAt).Seconds()

	// Raw Elasticsearch: the rebuilt documents, bulk-indexed into a fresh index.
	docs := rawDocuments(b, env, env.prefix+"-v2")
	rawIndex := env.prefix + "-v4"
	if err := readmodels.CreateSearchIndexForBulk(ctx, env.es, rawIndex, readmodels.IndexSettings{}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{Client: env.es, Index: rawIndex, NumWorkers: 2, FlushBytes: 10 << 20})
	if err != nil {
		b.Fatal(err)
	}
	for id, d := range docs {
		if err := bi.Add(ctx, esutil.BulkIndexerItem{Action: "index", DocumentID: id, Body: bytes.NewReader(d)}); err != nil {
			b.Fatal(err)
		}
	}
	if err := bi.Close(ctx); err != nil || bi.Stats().NumFailed > 0 {
		b.Fatalf("raw bulk: %v, %d failed", err, bi.Stats().NumFailed)
	}
	if err := readmodels.FinishBulkLoad(ctx, env.es, rawIndex); err != nil {
		b.Fatal(err)
	}
	esSecs := time.Since(start).Seconds()

	// Raw COPY: the rebuilt job rows into an empty copy of the table.
	var rows [][]any
	r, err := env.pool.Query(ctx, `SELECT * FROM rm_v2.jobs`)
	if err != nil {
		b.Fatal(err)
	}
	cols := r.FieldDescriptions()
	rows, err = pgx.CollectRows(r, func(row pgx.CollectableRow) ([]any, error) { return row.Values() })
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	if _, err := env.pool.Exec(ctx, `CREATE TABLE raw_jobs (LIKE rm_v2.jobs INCLUDING ALL)`); err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	if _, err := env.pool.CopyFrom(ctx, pgx.Identifier{"raw_jobs"}, names, pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	copySecs := time.Since(start).Seconds()

	b.ReportMetric(float64(search.EventsDone)/searchSecs, "search_events/s")
	b.ReportMetric(float64(tables.EventsDone)/tablesSecs, "tables_events/s")
	b.ReportMetric(float64(len(docs))/esSecs, "raw_es_docs/s")
	b.ReportMetric(float64(len(rows))/copySecs, "raw_copy_rows/s")
	b.ReportMetric(searchSecs/esSecs, "search_vs_raw_es_x")
	b.ReportMetric(tablesSecs/copySecs, "tables_vs_raw_copy_x")
	b.Logf("%d events: search rebuild %.1fs (%d docs), read tables rebuild %.1fs; raw ES bulk %.1fs, raw COPY %.2fs (%d job rows)",
		search.EventsDone, searchSecs, len(docs), tablesSecs, esSecs, copySecs, len(rows))
}

// rawDocuments reads every document of index (search_after over _id).
func rawDocuments(b *testing.B, env rebuildEnv, index string) map[string]json.RawMessage {
	b.Helper()
	out := map[string]json.RawMessage{}
	var after []any
	for {
		body := map[string]any{"size": 10000, "sort": []any{map[string]any{"id": "asc"}}, "query": map[string]any{"match_all": map[string]any{}}}
		if after != nil {
			body["search_after"] = after
		}
		raw, _ := json.Marshal(body)
		res, err := env.es.Search(env.es.Search.WithIndex(index), env.es.Search.WithBody(bytes.NewReader(raw)))
		if err != nil {
			b.Fatal(err)
		}
		var sr struct {
			Hits struct {
				Hits []struct {
					ID     string          `json:"_id"`
					Source json.RawMessage `json:"_source"`
					Sort   []any           `json:"sort"`
				} `json:"hits"`
			} `json:"hits"`
		}
		err = json.NewDecoder(res.Body).Decode(&sr)
		res.Body.Close()
		if err != nil || res.IsError() {
			b.Fatal(fmt.Errorf("read %s: %s %v", index, res.Status(), err))
		}
		if len(sr.Hits.Hits) == 0 {
			return out
		}
		for _, h := range sr.Hits.Hits {
			out[h.ID] = h.Source
		}
		after = sr.Hits.Hits[len(sr.Hits.Hits)-1].Sort
	}
}
