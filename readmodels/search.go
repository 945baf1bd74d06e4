package readmodels

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jobboard/jobboard/internal/apperr"
)

// Sort orders of Search.
const (
	SortRelevance = "relevance"
	SortNewest    = "newest"
	SortSalary    = "salary"
)

// Search limits.
const (
	DefaultSearchLimit = 20
	MaxSearchLimit     = 100
	facetSize          = 30
	// maxFuzzyExpansions bounds the near spellings one query word is expanded to (the
	// closest first); Elasticsearch's default of 50 per word and field lets a long fuzzy
	// query cost seconds, while the intended word of a typo is among the closest few.
	maxFuzzyExpansions = 10
)

// SearchParams are the filters of GET /v1/jobs. Zero values do not filter.
type SearchParams struct {
	// Q is the full-text query over title, description, tags and company name; typos are
	// tolerated (fuzziness AUTO, each word expanded to at most maxFuzzyExpansions near
	// spellings). The API bounds its length and words.
	Q string
	// Tags: the job has every one of them.
	Tags []string
	// Remote, when set, keeps jobs whose location.remote equals it.
	Remote *bool
	// Region and Country keep jobs open to that region / ISO country code.
	Region  string
	Country string
	// EmploymentType and Seniority are the domain slugs ("full_time", "senior").
	EmploymentType string
	Seniority      string
	// SalaryMin keeps jobs whose yearly maximum salary reaches SalaryMin (a yearly amount
	// in minor units). With Currency it compares within that currency only.
	SalaryMin int64
	// Currency keeps jobs paying in that ISO 4217 currency.
	Currency string
	// CompanyID keeps one company's jobs.
	CompanyID string
	// Sort is SortRelevance (default), SortNewest or SortSalary.
	Sort string
	// Limit is the page size, 1–100; 0 means DefaultSearchLimit.
	Limit int
	// Cursor is the NextCursor of the previous page.
	Cursor string
	// FreshFacets computes the facets rather than reuse those of a recent search with the same
	// words and filters (StoreConfig.FacetsMaxAge): for a search after the client's own
	// writes (a consistency token), whose facets must count them too.
	FreshFacets bool
}

// SearchItem is one job of a search answer.
type SearchItem struct {
	ID             string     `json:"id"`
	Title          string     `json:"title"`
	Company        CompanyRef `json:"company"`
	Location       Location   `json:"location"`
	Salary         *Salary    `json:"salary"`
	Tags           []string   `json:"tags"`
	EmploymentType string     `json:"employment_type"`
	Seniority      string     `json:"seniority"`
	Featured       bool       `json:"featured"`
	PublishedAt    *time.Time `json:"published_at"`
	ExpiresAt      *time.Time `json:"expires_at"`
}

// FacetValue is one bucket of a facet.
type FacetValue struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

// Facets count the matching jobs by value.
type Facets struct {
	Tags           []FacetValue `json:"tags"`
	EmploymentType []FacetValue `json:"employment_type"`
	Seniority      []FacetValue `json:"seniority"`
	Regions        []FacetValue `json:"regions"`
}

// SearchResult is the answer of GET /v1/jobs.
type SearchResult struct {
	Items      []SearchItem `json:"items"`
	Total      int64        `json:"total"`
	Facets     Facets       `json:"facets"`
	NextCursor string       `json:"next_cursor"`
}

type searchCursor struct {
	Sort  string          `json:"s"`
	After json.RawMessage `json:"a"`
}

func encodeSearchCursor(c searchCursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sortFields is the number of sort values of each order, as searchBody sorts and
// search_after expects.
var sortFields = map[string]int{SortRelevance: 4, SortNewest: 3, SortSalary: 3}

func decodeSearchCursor(s string) (searchCursor, error) {
	var c searchCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, err
	}
	var after []any
	if err := json.Unmarshal(c.After, &after); err != nil || len(after) != sortFields[c.Sort] {
		return c, fmt.Errorf("bad search_after")
	}
	return c, nil
}

func (p *SearchParams) normalise() error {
	var fields []apperr.FieldError
	if p.Limit == 0 {
		p.Limit = DefaultSearchLimit
	}
	if p.Limit < 1 || p.Limit > MaxSearchLimit {
		fields = append(fields, apperr.FieldError{Field: "limit", Message: fmt.Sprintf("must be from 1 to %d", MaxSearchLimit)})
	}
	if p.Sort == "" {
		p.Sort = SortRelevance
	}
	switch p.Sort {
	case SortRelevance, SortNewest, SortSalary:
	default:
		fields = append(fields, apperr.FieldError{Field: "sort", Message: "must be relevance, newest or salary"})
	}
	if p.SalaryMin < 0 {
		fields = append(fields, apperr.FieldError{Field: "salary_min", Message: "must not be negative"})
	}
	p.Q = strings.TrimSpace(p.Q)
	if len(fields) > 0 {
		return apperr.InvalidFields(fields...)
	}
	return nil
}

type obj = map[string]any

// criteriaQuery is the part of a search that decides which jobs match p: its filters and
// its full-text terms, without the listing's liveness (status, expiry) and without the
// clauses that only rank. GET /v1/jobs (searchBody) and the stored queries of job alerts
// (AlertQuery) are both built from it, so an alert matches exactly the jobs the search
// with its parameters lists.
func criteriaQuery(p SearchParams) (filter, must []any) {
	for _, t := range p.Tags {
		if t = strings.TrimSpace(t); t != "" {
			filter = append(filter, obj{"term": obj{"tags": strings.ToLower(t)}})
		}
	}
	if p.Remote != nil {
		filter = append(filter, obj{"term": obj{"location.remote": *p.Remote}})
	}
	if p.Region != "" {
		filter = append(filter, obj{"term": obj{"location.regions": p.Region}})
	}
	if p.Country != "" {
		filter = append(filter, obj{"term": obj{"location.countries": strings.ToUpper(p.Country)}})
	}
	if p.EmploymentType != "" {
		filter = append(filter, obj{"term": obj{"employment_type": p.EmploymentType}})
	}
	if p.Seniority != "" {
		filter = append(filter, obj{"term": obj{"seniority": p.Seniority}})
	}
	if p.Currency != "" {
		filter = append(filter, obj{"term": obj{"salary.currency": strings.ToUpper(p.Currency)}})
	}
	if p.SalaryMin > 0 {
		filter = append(filter, obj{"range": obj{"salary_yearly.max": obj{"gte": p.SalaryMin}}})
	}
	if p.CompanyID != "" {
		filter = append(filter, obj{"term": obj{"company.id": p.CompanyID}})
	}
	if q := strings.TrimSpace(p.Q); q != "" {
		// All terms must match somewhere (search_text gathers every searchable field), each
		// with typo tolerance; the per-field clauses of searchBody only rank.
		must = []any{obj{"match": obj{"search_text": obj{
			"query": q, "operator": "and", "fuzziness": "AUTO", "prefix_length": 1,
			"max_expansions": maxFuzzyExpansions,
		}}}}
	}
	return filter, must
}

// listedFilter keeps the jobs GET /v1/jobs lists at all: published and not expired.
func listedFilter(now time.Time) []any {
	return []any{
		obj{"term": obj{"status": StatusPublished}},
		// The expiry bound is a fixed instant, not Elasticsearch's "now": a request naming
		// "now" is never cached by the shard request cache, and its range filter differs on
		// every request, so the node query cache cannot reuse it either. Rounded up to the
		// minute, every search of a minute shares it (docs/BENCHMARKS.md); a job leaves
		// search up to a minute before it expires, never after.
		obj{"range": obj{"expires_at": obj{"gt": now.UTC().Truncate(time.Minute).Add(time.Minute).Format(time.RFC3339)}}},
	}
}

// searchSort is the sort of an order of GET /v1/jobs.
func searchSort(order string) []any {
	switch order {
	case SortNewest:
		return []any{obj{"featured": "desc"}, obj{"published_at": "desc"}, obj{"id": "asc"}}
	case SortSalary:
		return []any{
			obj{"salary_yearly.max": obj{"order": "desc", "missing": "_last"}},
			obj{"published_at": "desc"}, obj{"id": "asc"},
		}
	default:
		return []any{obj{"featured": "desc"}, "_score", obj{"published_at": "desc"}, obj{"id": "asc"}}
	}
}

// searchBody builds the Elasticsearch request of p at time now, to be answered within
// timeout.
func searchBody(p SearchParams, after json.RawMessage, now time.Time, timeout time.Duration) obj {
	filter := listedFilter(now)
	criteria, must := criteriaQuery(p)
	filter = append(filter, criteria...)
	boolQ := obj{"filter": filter}
	if len(must) > 0 {
		boolQ["must"] = must
	}
	if len(must) > 0 && p.Sort == SortRelevance {
		// Clauses that only rank: a word in the title, the tags or the company's name
		// weighs more than one in the description, and the title's exact phrase most.
		// They are sent only when the order is relevance: Elasticsearch still expands
		// their words against every segment when the sort ignores the score. They match
		// words as typed: the must clause above already finds mistyped words (and ranks
		// by them through search_text), and a fuzzy expansion of each word in four more
		// fields cost more than the rest of the search (docs/BENCHMARKS.md, "The search
		// request, one at a time").
		boolQ["should"] = []any{
			obj{"multi_match": obj{
				"query":  p.Q,
				"fields": []string{"title^4", "tags.text^3", "company.name^2", "description"},
			}},
			obj{"match_phrase": obj{"title": obj{"query": p.Q, "boost": 4}}},
		}
	}

	sort := searchSort(p.Sort)

	terms := func(field string) obj {
		return obj{"terms": obj{"field": field, "size": facetSize}}
	}
	body := obj{
		"query":            obj{"bool": boolQ},
		"sort":             sort,
		"size":             p.Limit + 1, // one more tells whether a next page exists
		"track_total_hits": true,
		// Elasticsearch stops collecting after timeout and answers timed_out with what it
		// has; Search refuses such an answer. terminate_after is not used: it would cut
		// total and facets short without saying so.
		"timeout": fmt.Sprintf("%dms", max(1, timeout.Milliseconds())),
		"_source": []string{"id", "title", "company", "location", "salary", "tags",
			"employment_type", "seniority", "featured", "published_at", "expires_at"},
		"aggs": obj{
			"tags":            terms("tags"),
			"employment_type": terms("employment_type"),
			"seniority":       terms("seniority"),
			"regions":         terms("location.regions"),
		},
	}
	if after != nil {
		body["search_after"] = after
	}
	return body
}

type searchResponse struct {
	// TimedOut and Shards.Failed say the hits, total and facets are partial.
	TimedOut bool `json:"timed_out"`
	Shards   struct {
		Failed int `json:"failed"`
	} `json:"_shards"`
	Hits struct {
		Total struct {
			Value int64 `json:"value"`
		} `json:"total"`
		Hits []struct {
			Source SearchItem      `json:"_source"`
			Sort   json.RawMessage `json:"sort"`
		} `json:"hits"`
	} `json:"hits"`
	Aggregations map[string]struct {
		Buckets []struct {
			// Key is a string: every facet is a terms aggregation of a keyword field.
			Key      string `json:"key"`
			DocCount int64  `json:"doc_count"`
		} `json:"buckets"`
	} `json:"aggregations"`
}

// Search answers GET /v1/jobs from the search alias: only published, unexpired, open jobs;
// featured jobs first within relevance and newest; cursor pagination by search_after.
func (s *Store) Search(ctx context.Context, p SearchParams) (SearchResult, error) {
	if err := p.normalise(); err != nil {
		return SearchResult{}, err
	}
	var after json.RawMessage
	if p.Cursor != "" {
		c, err := decodeSearchCursor(p.Cursor)
		if err != nil || c.Sort != p.Sort {
			return SearchResult{}, apperr.InvalidFields(apperr.FieldError{Field: "cursor", Message: "is not a cursor of this search"})
		}
		after = c.After
	}
	now := s.cfg.Now()
	body := searchBody(p, after, now, s.cfg.SearchTimeout)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SearchTimeout)
	defer cancel()
	bodies := []obj{body}
	key := facetKey(body)
	facets, reused := Facets{}, false
	if !p.FreshFacets {
		facets, reused = s.facets.get(key, now)
	}
	switch {
	case reused:
		delete(body, "aggs")
	case strings.TrimSpace(p.Q) == "":
		// Without words, a search matches most of the board, and its facets (four
		// aggregations over every match) cost three times its page of hits; they depend on
		// the filters only, not on the order or the page, and filters repeat (the front
		// page, a tag). So they are asked apart, in the same round trip, where
		// Elasticsearch's request cache answers them again for every order and page until
		// the index changes (docs/BENCHMARKS.md). With words, matches are fewer and
		// requests repeat less: one request costs less than two.
		bodies = append(bodies, obj{"size": 0, "query": body["query"], "aggs": body["aggs"], "timeout": body["timeout"]})
		delete(body, "aggs")
	}
	rs, err := s.msearch(ctx, bodies...)
	if err != nil {
		return SearchResult{}, err
	}
	sr := rs[0]
	if len(rs) > 1 {
		sr.Aggregations = rs[1].Aggregations
	}
	hits := sr.Hits.Hits
	out := SearchResult{Items: make([]SearchItem, 0, len(hits)), Total: sr.Hits.Total.Value}
	if len(hits) > p.Limit {
		hits = hits[:p.Limit]
		out.NextCursor = encodeSearchCursor(searchCursor{Sort: p.Sort, After: hits[len(hits)-1].Sort})
	}
	for _, h := range hits {
		item := h.Source
		if item.Tags == nil {
			item.Tags = []string{}
		}
		out.Items = append(out.Items, item)
	}
	if reused {
		out.Facets = facets
		return out, nil
	}
	facet := func(name string) []FacetValue {
		vals := []FacetValue{}
		for _, b := range sr.Aggregations[name].Buckets {
			vals = append(vals, FacetValue{Value: b.Key, Count: b.DocCount})
		}
		return vals
	}
	out.Facets = Facets{
		Tags:           facet("tags"),
		EmploymentType: facet("employment_type"),
		Seniority:      facet("seniority"),
		Regions:        facet("regions"),
	}
	s.facets.put(key, out.Facets, now)
	return out, nil
}

// facetKey names the facets of a search body: the clauses of its query that decide which
// jobs match (the filters, the listing's expiry bound included, and the words), all its
// aggregations depend on; not the clauses that only rank, sent for one order only.
func facetKey(body obj) string {
	q := body["query"].(obj)["bool"].(obj)
	raw, err := json.Marshal([]any{q["filter"], q["must"]})
	if err != nil {
		return "" // never reused: put and get ignore the empty key
	}
	return string(raw)
}

// facetCache keeps the facets of recent searches for maxAge (StoreConfig.FacetsMaxAge; 0
// keeps none), at most maxCachedFacets of them. Its Facets are shared: readers must not
// change them.
type facetCache struct {
	maxAge time.Duration
	mu     sync.Mutex
	byKey  map[string]cachedFacets
}

type cachedFacets struct {
	facets Facets
	at     time.Time
}

// maxCachedFacets bounds the cache's memory: a few kB each.
const maxCachedFacets = 10000

func newFacetCache(maxAge time.Duration) *facetCache {
	return &facetCache{maxAge: maxAge, byKey: map[string]cachedFacets{}}
}

func (c *facetCache) get(key string, now time.Time) (Facets, bool) {
	if c.maxAge <= 0 || key == "" {
		return Facets{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.byKey[key]
	if !ok || now.Sub(f.at) >= c.maxAge || now.Before(f.at) {
		return Facets{}, false
	}
	return f.facets, true
}

func (c *facetCache) put(key string, f Facets, now time.Time) {
	if c.maxAge <= 0 || key == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.byKey) >= maxCachedFacets {
		for k, e := range c.byKey {
			if now.Sub(e.at) >= c.maxAge {
				delete(c.byKey, k)
			}
		}
		if len(c.byKey) >= maxCachedFacets {
			// All fresh: start over rather than sweep again at every put.
			clear(c.byKey)
		}
	}
	c.byKey[key] = cachedFacets{facets: f, at: now}
}

// searchRetryAfter is what a client is told to wait before retrying a search that ran out of
// its budget or found search unavailable.
const searchRetryAfter = 1

// searchFilterPath keeps of a multi-search answer what searchResponse reads and the
// errors: Elasticsearch leaves out each hit's index, id and score and the totals' relation,
// about 15 % of an answer of 20 hits and facets, that the service would otherwise decode to
// throw away (docs/BENCHMARKS.md, "The search request, one at a time").
var searchFilterPath = []string{"error", "status", "responses.status", "responses.error",
	"responses.timed_out", "responses._shards.failed", "responses.hits.total.value",
	"responses.hits.hits._source", "responses.hits.hits.sort",
	"responses.aggregations.*.buckets.key", "responses.aggregations.*.buckets.doc_count"}

// msearch sends bodies in one multi-search request, each asking for the shard request
// cache (by default it only caches size-0 requests; it keeps an answer until the next
// refresh that changed the index, so a cached answer is never staler than the index), and
// returns their answers in order; an answer cut short or failed fails the lot.
func (s *Store) msearch(ctx context.Context, bodies ...obj) ([]searchResponse, error) {
	var nd bytes.Buffer
	head, err := json.Marshal(obj{"index": s.cfg.SearchAlias, "request_cache": true})
	if err != nil {
		return nil, fmt.Errorf("encode search: %w", err)
	}
	for _, b := range bodies {
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode search: %w", err)
		}
		nd.Write(head)
		nd.WriteByte('\n')
		nd.Write(raw)
		nd.WriteByte('\n')
	}
	res, err := s.es.Msearch(bytes.NewReader(nd.Bytes()), s.es.Msearch.WithContext(ctx), s.es.Msearch.WithFilterPath(searchFilterPath...))
	if err != nil {
		return nil, searchFailed(ctx, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, searchFailed(ctx, err)
	}
	if err := s.searchStatus(res.StatusCode, res.Status(), raw); err != nil {
		return nil, err
	}
	var answer struct {
		Responses []struct {
			searchResponse
			Status int             `json:"status"`
			Error  json.RawMessage `json:"error"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return nil, fmt.Errorf("decode search answer: %w", err)
	}
	if len(answer.Responses) != len(bodies) {
		return nil, fmt.Errorf("search %s: %d answers to %d searches", s.cfg.SearchAlias, len(answer.Responses), len(bodies))
	}
	out := make([]searchResponse, len(bodies))
	for i, r := range answer.Responses {
		if r.Error != nil {
			if err := s.searchStatus(r.Status, http.StatusText(r.Status), r.Error); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("search %s: %d: %s", s.cfg.SearchAlias, r.Status, r.Error)
		}
		if err := r.incomplete(); err != nil {
			return nil, err
		}
		out[i] = r.searchResponse
	}
	return out, nil
}

// searchStatus is the error of an Elasticsearch answer's status, nil for a success.
func (s *Store) searchStatus(code int, status string, raw []byte) error {
	switch {
	case code == http.StatusNotFound:
		// No index behind the alias yet (an API started before the projectors created it):
		// search is unavailable for now, not broken.
		return apperr.Wrap(apperr.Unavailable, fmt.Errorf("search %s: %s: %s", s.cfg.SearchAlias, status, raw),
			"search is not ready yet; retry shortly")
	case code == http.StatusTooManyRequests, code == http.StatusServiceUnavailable, code == http.StatusGatewayTimeout:
		// Elasticsearch sheds load: its search queue is full (429, rejected execution) or
		// it cannot serve the shard now. Overload is not a fault of the request nor of the
		// service's code: 503 with Retry-After, as a search out of its time budget.
		return &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: searchRetryAfter,
			Err: fmt.Errorf("search %s: %s: %.300s", s.cfg.SearchAlias, status, raw), Message: "search is overloaded; retry shortly"}
	case code >= 300:
		return fmt.Errorf("search %s: %s: %s", s.cfg.SearchAlias, status, raw)
	}
	return nil
}

// searchFailed is the error of a search request that got no answer: out of time budget
// (ctx's deadline) or Elasticsearch unreachable. Both are Unavailable, to retry.
func searchFailed(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: searchRetryAfter, Err: err,
			Message: "the search ran out of its time budget; retry, or narrow the query"}
	}
	return &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: searchRetryAfter, Err: err,
		Message: "search is unavailable"}
}

// incomplete refuses an answer Elasticsearch cut short (its timeout ran out, or a shard
// failed): its hits, total and facets would be presented as complete.
func (sr searchResponse) incomplete() error {
	switch {
	case sr.TimedOut:
		return &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: searchRetryAfter,
			Err:     errors.New("elasticsearch answered timed_out"),
			Message: "the search ran out of its time budget; retry, or narrow the query"}
	case sr.Shards.Failed > 0:
		return &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: searchRetryAfter,
			Err:     fmt.Errorf("elasticsearch answered with %d failed shards", sr.Shards.Failed),
			Message: "search is unavailable"}
	}
	return nil
}
