package readmodels

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jobboard/jobboard/internal/apperr"
)

// Elasticsearch answers 200 with whatever it collected when its timeout runs out or a shard
// fails; such an answer must not pass for a complete one.
func TestAnAnswerElasticsearchCutShortIsUnavailable(t *testing.T) {
	t.Parallel()
	for name, raw := range map[string]string{
		"timed out":     `{"timed_out":true,"_shards":{"total":1,"successful":1,"failed":0},"hits":{"total":{"value":3},"hits":[]}}`,
		"failed shards": `{"timed_out":false,"_shards":{"total":2,"successful":1,"failed":1},"hits":{"total":{"value":3},"hits":[]}}`,
	} {
		var sr searchResponse
		if err := json.Unmarshal([]byte(raw), &sr); err != nil {
			t.Fatal(err)
		}
		if err := sr.incomplete(); apperr.CodeOf(err) != apperr.Unavailable {
			t.Errorf("%s: %v, want unavailable", name, err)
		}
	}
	var sr searchResponse
	if err := json.Unmarshal([]byte(`{"timed_out":false,"_shards":{"total":1,"successful":1,"failed":0}}`), &sr); err != nil {
		t.Fatal(err)
	}
	if err := sr.incomplete(); err != nil {
		t.Errorf("a complete answer: %v", err)
	}
}

func TestSearchBodyBoundsTheFuzzyExpansionAndTheTime(t *testing.T) {
	t.Parallel()
	b, _ := json.Marshal(searchBody(SearchParams{Q: "golang", Limit: 20, Sort: SortRelevance}, nil, time.Now(), 1500*time.Millisecond))
	var body struct {
		Timeout string `json:"timeout"`
		Query   struct {
			Bool struct {
				Must []struct {
					Match struct {
						SearchText struct {
							MaxExpansions int `json:"max_expansions"`
						} `json:"search_text"`
					} `json:"match"`
				} `json:"must"`
			} `json:"bool"`
		} `json:"query"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	if body.Timeout != "1500ms" || len(body.Query.Bool.Must) != 1 || body.Query.Bool.Must[0].Match.SearchText.MaxExpansions != maxFuzzyExpansions {
		t.Fatalf("body %s", b)
	}
}

// Every search of a minute sends the same expiry bound, so Elasticsearch's request and
// query caches can answer it; the bound is rounded up, so an expired job is never found.
func TestSearchBodyBoundsExpiryByTheNextMinute(t *testing.T) {
	t.Parallel()
	p := SearchParams{Limit: 20, Sort: SortRelevance}
	at := func(s string) string {
		now, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(searchBody(p, nil, now, time.Second))
		var body struct {
			Query struct {
				Bool struct {
					Filter []struct {
						Range struct {
							ExpiresAt struct {
								GT string `json:"gt"`
							} `json:"expires_at"`
						} `json:"range"`
					} `json:"filter"`
				} `json:"bool"`
			} `json:"query"`
		}
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatal(err)
		}
		for _, f := range body.Query.Bool.Filter {
			if f.Range.ExpiresAt.GT != "" {
				return f.Range.ExpiresAt.GT
			}
		}
		t.Fatalf("no expiry filter in %s", b)
		return ""
	}
	first, last := at("2026-11-28T12:00:00.001Z"), at("2026-11-28T12:00:59.999+00:00")
	if first != "2026-11-28T12:01:00Z" || last != first {
		t.Fatalf("expiry bounds %s and %s, want 2026-11-28T12:01:00Z for both", first, last)
	}
}

// Elasticsearch sheds load with 429 (its search queue is full) or 503/504: the client asked
// nothing wrong and the code is not broken, so the API answers 503 with Retry-After, never
// 500; a missing index is unavailable too; any other error status is an error.
func TestElasticsearchLoadSheddingIsUnavailable(t *testing.T) {
	t.Parallel()
	s := &Store{cfg: StoreConfig{SearchAlias: "jobs"}}
	for code, want := range map[int]apperr.Code{429: apperr.Unavailable, 503: apperr.Unavailable, 504: apperr.Unavailable, 404: apperr.Unavailable} {
		err := s.searchStatus(code, "x", []byte(`{"error":{"type":"es_rejected_execution_exception"}}`))
		var e *apperr.Error
		if apperr.CodeOf(err) != want || !errors.As(err, &e) || (code != 404 && e.RetryAfterSeconds == 0) {
			t.Errorf("%d: %v, want %v with Retry-After", code, err, want)
		}
	}
	if err := s.searchStatus(400, "400 Bad Request", []byte(`{}`)); err == nil || apperr.CodeOf(err) == apperr.Unavailable {
		t.Errorf("400: %v, want an internal error", err)
	}
	if err := s.searchStatus(200, "200 OK", nil); err != nil {
		t.Errorf("200: %v", err)
	}
}

// Only a search ordered by relevance carries the clauses that only rank, and they match
// words as typed: the must clause alone finds mistyped words.
func TestSearchBodyRanksOnlyWhenOrderedByRelevance(t *testing.T) {
	t.Parallel()
	for sort, ranked := range map[string]bool{SortRelevance: true, SortNewest: false, SortSalary: false} {
		b, _ := json.Marshal(searchBody(SearchParams{Q: "golang", Limit: 20, Sort: sort}, nil, time.Now(), time.Second))
		var body struct {
			Query struct {
				Bool struct {
					Must   []json.RawMessage `json:"must"`
					Should []json.RawMessage `json:"should"`
				} `json:"bool"`
			} `json:"query"`
		}
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatal(err)
		}
		if len(body.Query.Bool.Must) != 1 || (len(body.Query.Bool.Should) > 0) != ranked {
			t.Errorf("sort %s: body %s", sort, b)
		}
		for _, c := range body.Query.Bool.Should {
			if strings.Contains(string(c), "fuzziness") {
				t.Errorf("sort %s: a ranking clause is fuzzy: %s", sort, c)
			}
		}
	}
}
