package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// report writes a Lighthouse result with the given category scores (0-1) to a file.
func report(t *testing.T, dir, name string, scores map[string]float64) string {
	t.Helper()
	cats := map[string]any{}
	for id, s := range scores {
		cats[id] = map[string]any{"score": s, "auditRefs": []any{map[string]any{"id": "is-crawlable", "weight": 1}}}
	}
	b, _ := json.Marshal(map[string]any{
		"lighthouseVersion": "12.2.3", "fetchTime": "2026-11-28T21:00:00.000Z", "finalDisplayedUrl": "http://127.0.0.1:1234/jobs/x",
		"configSettings": map[string]any{"formFactor": "mobile"}, "categories": cats,
		"audits": map[string]any{"is-crawlable": map[string]any{"title": "Page is blocked from indexing", "score": 0, "scoreDisplayMode": "binary"}},
	})
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Each page's score is the median of its runs, and a median under a threshold is reported
// as a failure naming the page, the category and the audit that lost points.
func TestMedianScoresAgainstTheThresholds(t *testing.T) {
	dir := t.TempDir()
	good := map[string]float64{"performance": 1, "accessibility": 1, "best-practices": 0.96, "seo": 1}
	slow := map[string]float64{"performance": 0.5, "accessibility": 1, "best-practices": 0.96, "seo": 1}
	hidden := map[string]float64{"performance": 0.99, "accessibility": 1, "best-practices": 0.96, "seo": 0.63}
	pages, err := load([]string{
		"search=" + report(t, dir, "s1", good), "search=" + report(t, dir, "s2", slow), "search=" + report(t, dir, "s3", good),
		"form=" + report(t, dir, "f1", hidden),
	})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	failures := write(&out, pages)
	if len(failures) != 1 || failures[0] != "form: seo 63 < 95" {
		t.Errorf("failures %v", failures)
	}
	for _, want := range []string{"| search | `/jobs/x` | 100 | 100 | 96 | 100 |", "| form | `/jobs/x` | 99 | 100 | 96 | 63 ✗ |", "median of 3 runs", "Page is blocked from indexing"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
}
