package readmodels

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
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
	ID             string       `json:"id"`
	Title          string       `json:"title"`
	Description    string       `json:"description"`
	Company        CompanyRef   `json:"company"`
	Location       Location     `json:"location"`
	Salary         *Salary      `json:"salary,omitempty"`
	SalaryYearly   *SalaryRange `json:"salary_yearly,omitempty"`
	Tags           []string     `json:"tags"`
	EmploymentType string       `json:"employment_type"`
	Seniority      string       `json:"seniority"`
	ApplyURL       string       `json:"apply_url,omitempty"`
	Featured       bool         `json:"featured"`
	Status         string       `json:"status"`
	PostedAt       time.Time    `json:"posted_at"`
	PublishedAt    *time.Time   `json:"published_at,omitempty"`
	ExpiresAt      *time.Time   `json:"expires_at,omitempty"`
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

// searchIndexBody is the explicit mapping of the job search index. The distribution we run
// has only core analysis (no analysis-common): text fields use the standard analyzer and
// typo tolerance comes from fuzzy queries; search_text gathers title, description, tags and
// company name (copy_to) so a query's terms may match across fields.
const searchIndexBody = `{
  "settings": {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "index": {"max_result_window": 10000}
  },
  "mappings": {
    "dynamic": "strict",
    "properties": {
      "id": {"type": "keyword"},
      "title": {"type": "text", "analyzer": "standard", "copy_to": "search_text",
                "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
      "description": {"type": "text", "analyzer": "standard", "copy_to": "search_text"},
      "company": {"properties": {
        "id": {"type": "keyword"},
        "name": {"type": "text", "analyzer": "standard", "copy_to": "search_text",
                 "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
      }},
      "location": {"properties": {
        "remote": {"type": "boolean"},
        "regions": {"type": "keyword"},
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
      "tags": {"type": "keyword", "normalizer": "lowercase", "copy_to": "search_text",
               "fields": {"text": {"type": "text", "analyzer": "standard"}}},
      "employment_type": {"type": "keyword"},
      "seniority": {"type": "keyword"},
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

// SearchIndexMapping returns the index creation body (settings and mappings) of the job
// search index, for rebuilds that create version N+1.
func SearchIndexMapping() string { return searchIndexBody }

// EnsureSearchIndex creates index with the job search mapping if it does not exist, and
// points alias at it if the alias does not exist yet. An existing alias is left alone:
// moving it is a promotion (issue 6), not a start-up side effect.
func EnsureSearchIndex(ctx context.Context, es *elasticsearch.Client, index, alias string) error {
	res, err := es.Indices.Exists([]string{index}, es.Indices.Exists.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("check index %s: %w", index, err)
	}
	res.Body.Close()
	switch res.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		res, err := es.Indices.Create(index, es.Indices.Create.WithContext(ctx),
			es.Indices.Create.WithBody(strings.NewReader(searchIndexBody)),
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
	defer res.Body.Close()
	if res.IsError() {
		body, _ := io.ReadAll(res.Body)
		return fmt.Errorf("put alias %s on %s: %s: %s", alias, index, res.Status(), body)
	}
	return nil
}
