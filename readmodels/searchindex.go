package readmodels

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// Job statuses as stored in the read models (the domain's slugs).
const (
	StatusAwaitingPayment = "awaiting_payment"
	StatusPublished       = "published"
	StatusClosed          = "closed"
	StatusExpired         = "expired"
)

// JobDocument is a job in the search index. Documents of closed and expired jobs stay in
// the index with their status, and searches filter on status: a deleted document's version
// is forgotten after index.gc_deletes, after which a late, stale job.published could bring
// the job back; a kept document keeps its version and refuses it.
type JobDocument struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// DescriptionLength is the description's length in characters (search mapping v2,
	// computed by the projector, so rebuilt documents of old jobs carry it too). Searches
	// can rank or filter thin listings with it.
	DescriptionLength int          `json:"description_length"`
	Company           CompanyRef   `json:"company"`
	Location          Location     `json:"location"`
	Salary            *Salary      `json:"salary,omitempty"`
	SalaryYearly      *SalaryRange `json:"salary_yearly,omitempty"`
	Tags              []string     `json:"tags"`
	EmploymentType    string       `json:"employment_type"`
	Seniority         string       `json:"seniority"`
	ApplyURL          string       `json:"apply_url,omitempty"`
	Featured          bool         `json:"featured"`
	Status            string       `json:"status"`
	PostedAt          time.Time    `json:"posted_at"`
	PublishedAt       *time.Time   `json:"published_at,omitempty"`
	ExpiresAt         *time.Time   `json:"expires_at,omitempty"`
}

// CompanyRef names a company inside another read model.
type CompanyRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Location is where a job is done (API.md's location object).
type Location struct {
	Remote    bool       `json:"remote"`
	Regions   []string   `json:"regions"`
	Countries []string   `json:"countries"`
	Timezones *Timezones `json:"timezones,omitempty"`
}

// Timezones is the range of UTC offsets, in hours, a team works in.
type Timezones struct {
	MinUTCOffset float64 `json:"min_utc_offset"`
	MaxUTCOffset float64 `json:"max_utc_offset"`
}

// Salary is a salary range in minor units per period (API.md's salary object).
type Salary struct {
	Min      int64  `json:"min"`
	Max      int64  `json:"max"`
	Currency string `json:"currency"`
	Period   string `json:"period"`
}

// SalaryRange is a salary range normalised to a yearly amount, in minor units.
type SalaryRange struct {
	Min int64 `json:"min"`
	Max int64 `json:"max"`
}

// Hours and months per year used to normalise salaries: 52 weeks of 40 hours.
const (
	HoursPerYear  = 2080
	MonthsPerYear = 12
)

// YearlyAmount converts an amount paid per period ("year", "month", "hour") to a yearly
// amount, so ranges stated in different periods compare. Unknown periods count as yearly.
func YearlyAmount(amount int64, period string) int64 {
	switch period {
	case "month":
		return amount * MonthsPerYear
	case "hour":
		return amount * HoursPerYear
	default:
		return amount
	}
}

// Yearly returns s normalised to a yearly range.
func (s Salary) Yearly() SalaryRange {
	return SalaryRange{Min: YearlyAmount(s.Min, s.Period), Max: YearlyAmount(s.Max, s.Period)}
}

// SearchRefreshInterval is how often the job search index makes new writes searchable. The
// live projector's bulk requests wait for it (refresh=wait_for) instead of forcing a
// refresh each, so it bounds both the delay from write to searchable and how often
// Elasticsearch's caches are invalidated under writes. Set explicitly, it also keeps an
// index without searches refreshing (no search-idle pause for the waiting writes). 100 ms
// keeps a write searchable within a second at the 99th percentile under a steady write load;
// 200 ms did not always, and cost searches under writes 18 % less CPU (docs/BENCHMARKS.md).
const SearchRefreshInterval = "100ms"

// searchIndexBody is the explicit mapping of the job search index. The distribution we run
// has only core analysis (no analysis-common): text fields use the standard analyzer and
// typo tolerance comes from fuzzy queries; search_text gathers title, description, tags and
// company name (copy_to) so a query's terms may match across fields. The four facet fields
// build their global ordinals at refresh (eager_global_ordinals) rather than in the first
// search after each refresh: under live writes that search would otherwise pay for it
// (docs/BENCHMARKS.md). An existing index takes the setting through putSearchMapping.
const searchIndexBody = `{
  "settings": {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "index": {"max_result_window": 10000, "refresh_interval": "100ms"}
  },
  "mappings": {
    "dynamic": "strict",
    "properties": {
      "id": {"type": "keyword"},
      "title": {"type": "text", "analyzer": "standard", "copy_to": "search_text",
                "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
      "description": {"type": "text", "analyzer": "standard", "copy_to": "search_text"},
      "description_length": {"type": "integer"},
      "company": {"properties": {
        "id": {"type": "keyword"},
        "name": {"type": "text", "analyzer": "standard", "copy_to": "search_text",
                 "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
      }},
      "location": {"properties": {
        "remote": {"type": "boolean"},
        "regions": {"type": "keyword", "eager_global_ordinals": true},
        "countries": {"type": "keyword"},
        "timezones": {"properties": {
          "min_utc_offset": {"type": "float"},
          "max_utc_offset": {"type": "float"}
        }}
      }},
      "salary": {"properties": {
        "min": {"type": "long"},
        "max": {"type": "long"},
        "currency": {"type": "keyword"},
        "period": {"type": "keyword"}
      }},
      "salary_yearly": {"properties": {
        "min": {"type": "long"},
        "max": {"type": "long"}
      }},
      "tags": {"type": "keyword", "normalizer": "lowercase", "copy_to": "search_text", "eager_global_ordinals": true,
               "fields": {"text": {"type": "text", "analyzer": "standard"}}},
      "employment_type": {"type": "keyword", "eager_global_ordinals": true},
      "seniority": {"type": "keyword", "eager_global_ordinals": true},
      "apply_url": {"type": "keyword", "index": false, "doc_values": false},
      "featured": {"type": "boolean"},
      "status": {"type": "keyword"},
      "posted_at": {"type": "date"},
      "published_at": {"type": "date"},
      "expires_at": {"type": "date"},
      "search_text": {"type": "text", "analyzer": "standard"}
    }
  }
}`

// EnsureSearchIndex creates index with the job search mapping if it does not exist, and
// points alias at it if the alias does not exist yet. An existing index gets the current
// mapping's fields added (additive changes only: the mapping is strict, so a projector of a
// newer build would otherwise be refused by an older index); its old documents lack the new
// fields until a rebuild. An existing alias is left alone: moving it is a promotion
// (projections.Rebuilder), not a start-up side effect.
//
// A new index gets settings' shards and replicas; an existing index gets settings'
// replicas (a dynamic setting) but keeps its shards (fixed at an index's creation: a new
// count takes effect with the next rebuild's index).
func EnsureSearchIndex(ctx context.Context, es *elasticsearch.Client, index, alias string, settings IndexSettings) error {
	res, err := es.Indices.Exists([]string{index}, es.Indices.Exists.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("check index %s: %w", index, err)
	}
	res.Body.Close()
	switch res.StatusCode {
	case http.StatusOK:
		if err := putSearchMapping(ctx, es, index); err != nil {
			return err
		}
		if err := putReplicas(ctx, es, index, settings); err != nil {
			return err
		}
		if err := setRefreshInterval(ctx, es, index, `"`+SearchRefreshInterval+`"`); err != nil {
			return err
		}
	case http.StatusNotFound:
		reqBody, err := searchIndexBodyWith(settings, false)
		if err != nil {
			return err
		}
		res, err := es.Indices.Create(index, es.Indices.Create.WithContext(ctx),
			es.Indices.Create.WithBody(bytes.NewReader(reqBody)),
			es.Indices.Create.WithWaitForActiveShards("1"))
		if err != nil {
			return fmt.Errorf("create index %s: %w", index, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.IsError() && !bytes.Contains(body, []byte("resource_already_exists_exception")) {
			return fmt.Errorf("create index %s: %s: %s", index, res.Status(), body)
		}
	default:
		return fmt.Errorf("check index %s: %s", index, res.Status())
	}
	if alias == "" {
		return nil
	}
	res, err = es.Indices.ExistsAlias([]string{alias}, es.Indices.ExistsAlias.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("check alias %s: %w", alias, err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusOK {
		return nil
	}
	res, err = es.Indices.PutAlias([]string{index}, alias, es.Indices.PutAlias.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("put alias %s on %s: %w", alias, index, err)
	}
	return esError(res, fmt.Sprintf("put alias %s on %s", alias, index))
}

// putReplicas sets the replica count of an existing index.
func putReplicas(ctx context.Context, es *elasticsearch.Client, index string, settings IndexSettings) error {
	if err := settings.Validate(); err != nil {
		return fmt.Errorf("search index settings: %w", err)
	}
	res, err := es.Indices.PutSettings(strings.NewReader(fmt.Sprintf(`{"index":{"number_of_replicas":%d}}`, settings.Replicas)),
		es.Indices.PutSettings.WithIndex(index), es.Indices.PutSettings.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("replicas of %s: %w", index, err)
	}
	return esError(res, "replicas of "+index)
}

// putSearchMapping adds the current mapping's fields to an existing index.
func putSearchMapping(ctx context.Context, es *elasticsearch.Client, index string) error {
	var body struct {
		Mappings json.RawMessage `json:"mappings"`
	}
	if err := json.Unmarshal([]byte(searchIndexBody), &body); err != nil {
		return fmt.Errorf("search mapping: %w", err)
	}
	res, err := es.Indices.PutMapping([]string{index}, bytes.NewReader(body.Mappings), es.Indices.PutMapping.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("put mapping of %s: %w", index, err)
	}
	return esError(res, "put mapping of "+index)
}

// IndexSettings are the shards and replicas of a search index the app creates
// (ELASTICSEARCH_SHARDS, ELASTICSEARCH_REPLICAS). The zero value is one shard and no
// replica: the single-node stack, where a replica could never be assigned.
type IndexSettings struct {
	// Shards is the number of primary shards; 0 takes 1. Fixed at the index's creation.
	Shards int
	// Replicas is the number of copies of each shard on other nodes (one node may die
	// per replica without losing the index or its availability).
	Replicas int
}

// Validate reports every problem of the settings.
func (s IndexSettings) Validate() error {
	var errs []error
	if s.Shards < 0 || s.Shards > 64 {
		errs = append(errs, fmt.Errorf("shards: want 0 (one) to 64, got %d", s.Shards))
	}
	if s.Replicas < 0 || s.Replicas > 8 {
		errs = append(errs, fmt.Errorf("replicas: want 0 to 8, got %d", s.Replicas))
	}
	return errors.Join(errs...)
}

// searchIndexBodyWith is searchIndexBody with settings' shards and replicas, and with
// refreshes off for a bulk load.
func searchIndexBodyWith(settings IndexSettings, bulk bool) ([]byte, error) {
	if err := settings.Validate(); err != nil {
		return nil, fmt.Errorf("search index settings: %w", err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(searchIndexBody), &body); err != nil {
		return nil, fmt.Errorf("search mapping: %w", err)
	}
	s := body["settings"].(map[string]any)
	s["number_of_shards"] = max(settings.Shards, 1)
	s["number_of_replicas"] = settings.Replicas
	if bulk {
		s["index"].(map[string]any)["refresh_interval"] = "-1"
	}
	return json.Marshal(body)
}

// CreateSearchIndexForBulk creates index with the job search mapping and settings' shards
// and replicas, tuned for a bulk load: no refresh until FinishBulkLoad. It fails if the
// index exists.
func CreateSearchIndexForBulk(ctx context.Context, es *elasticsearch.Client, index string, settings IndexSettings) error {
	b, err := searchIndexBodyWith(settings, true)
	if err != nil {
		return err
	}
	res, err := es.Indices.Create(index, es.Indices.Create.WithContext(ctx),
		es.Indices.Create.WithBody(bytes.NewReader(b)), es.Indices.Create.WithWaitForActiveShards("1"))
	if err != nil {
		return fmt.Errorf("create index %s: %w", index, err)
	}
	return esError(res, "create index "+index)
}

// FinishBulkLoad restores SearchRefreshInterval on an index filled by a bulk load and
// refreshes it, so everything loaded is searchable.
func FinishBulkLoad(ctx context.Context, es *elasticsearch.Client, index string) error {
	if err := setRefreshInterval(ctx, es, index, `"`+SearchRefreshInterval+`"`); err != nil {
		return err
	}
	return RefreshIndex(ctx, es, index)
}

// setRefreshInterval sets the refresh interval of index to interval, a JSON value.
func setRefreshInterval(ctx context.Context, es *elasticsearch.Client, index, interval string) error {
	res, err := es.Indices.PutSettings(strings.NewReader(`{"index":{"refresh_interval":`+interval+`}}`),
		es.Indices.PutSettings.WithIndex(index), es.Indices.PutSettings.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("settings of %s: %w", index, err)
	}
	return esError(res, "settings of "+index)
}

// RefreshIndex makes everything written to index searchable.
func RefreshIndex(ctx context.Context, es *elasticsearch.Client, index string) error {
	res, err := es.Indices.Refresh(es.Indices.Refresh.WithIndex(index), es.Indices.Refresh.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("refresh %s: %w", index, err)
	}
	return esError(res, "refresh "+index)
}

// SwapAlias moves alias from index from to index to in one _aliases request (remove and
// add are applied atomically: a search never finds the alias missing or on both). With from
// empty, alias is only added to to.
func SwapAlias(ctx context.Context, es *elasticsearch.Client, alias, from, to string) error {
	actions := []map[string]any{}
	if from != "" {
		actions = append(actions, map[string]any{"remove": map[string]any{"index": from, "alias": alias}})
	}
	actions = append(actions, map[string]any{"add": map[string]any{"index": to, "alias": alias}})
	b, _ := json.Marshal(map[string]any{"actions": actions})
	res, err := es.Indices.UpdateAliases(bytes.NewReader(b), es.Indices.UpdateAliases.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("move alias %s from %s to %s: %w", alias, from, to, err)
	}
	return esError(res, fmt.Sprintf("move alias %s from %s to %s", alias, from, to))
}

// AliasIndices returns the indices alias points at.
func AliasIndices(ctx context.Context, es *elasticsearch.Client, alias string) ([]string, error) {
	res, err := es.Indices.GetAlias(es.Indices.GetAlias.WithName(alias), es.Indices.GetAlias.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("get alias %s: %w", alias, err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if res.IsError() {
		b, _ := io.ReadAll(res.Body)
		return nil, fmt.Errorf("get alias %s: %s: %s", alias, res.Status(), b)
	}
	var m map[string]json.RawMessage
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		return nil, fmt.Errorf("get alias %s: %w", alias, err)
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out, nil
}

// DeleteIndex deletes index; a missing index is no error.
func DeleteIndex(ctx context.Context, es *elasticsearch.Client, index string) error {
	res, err := es.Indices.Delete([]string{index}, es.Indices.Delete.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("delete index %s: %w", index, err)
	}
	defer res.Body.Close()
	if res.IsError() && res.StatusCode != http.StatusNotFound {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("delete index %s: %s: %s", index, res.Status(), b)
	}
	return nil
}

// IndexExists reports whether index exists.
func IndexExists(ctx context.Context, es *elasticsearch.Client, index string) (bool, error) {
	res, err := es.Indices.Exists([]string{index}, es.Indices.Exists.WithContext(ctx))
	if err != nil {
		return false, fmt.Errorf("check index %s: %w", index, err)
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK, nil
}

func esError(res *esapi.Response, what string) error {
	defer res.Body.Close()
	if res.IsError() {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("%s: %s: %s", what, res.Status(), b)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return nil
}
