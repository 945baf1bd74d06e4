package readmodels_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/projections/projectionstest"
	"github.com/jobboard/jobboard/readmodels"
)

type fixture struct {
	store *readmodels.Store
	ids   map[string]string
	h     *projectionstest.History
	pool  *pgxpool.Pool
	es    *elasticsearch.Client
	alias string
}

// newFixture projects a small board into a fresh database and search index.
func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{testenv.ElasticsearchURL(t)}})
	if err != nil {
		t.Fatal(err)
	}
	sfx := testenv.RandomSuffix()
	index, alias := "test-jobs-v1-"+sfx, "test-jobs-"+sfx
	if err := readmodels.EnsureSearchIndex(ctx, es, index, alias, readmodels.IndexSettings{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if res, err := es.Indices.Delete([]string{index}); err == nil {
			res.Body.Close()
		}
	})

	now := time.Now().UTC().Truncate(time.Millisecond)
	h := projectionstest.NewHistory(now.Add(-50 * 24 * time.Hour))
	b := projectionstest.Board{H: h, Now: now.Add(-50 * 24 * time.Hour)}
	ids := map[string]string{}
	acme, globex := b.Company(t, "Acme Robotics"), b.Company(t, "Globex")
	ids["acme"], ids["globex"] = acme, globex
	salary := func(min, max int64, cur, period string) *domain.SalaryInput {
		return &domain.SalaryInput{Min: min, Max: max, Currency: cur, Period: period}
	}
	post := func(key, company string, in domain.JobDetailsInput, featured bool, publishedAt time.Time) {
		ids[key] = b.PostJob(t, company, in)
		if !publishedAt.IsZero() {
			b.Publish(t, ids[key], company, featured, publishedAt)
		}
	}
	post("go", acme, domain.JobDetailsInput{Title: "Senior Go Engineer", Tags: []string{"go", "kafka"},
		Location: domain.LocationInput{Remote: true, Regions: []string{"EMEA"}, Countries: []string{"DE"}},
		Salary:   salary(8_000_000, 10_000_000, "EUR", "year")}, false, now.Add(-3*time.Hour))
	post("python", acme, domain.JobDetailsInput{Title: "Backend Engineer (Python)", Tags: []string{"python"},
		EmploymentType: "contract", Seniority: "mid",
		Location: domain.LocationInput{Regions: []string{"Americas"}, Countries: []string{"US"}},
		Salary:   salary(5_000, 6_000, "USD", "hour")}, true, now.Add(-2*time.Hour))
	post("react", globex, domain.JobDetailsInput{Title: "Frontend Developer", Tags: []string{"react", "typescript"},
		Seniority: "junior", Location: domain.LocationInput{Remote: true, Regions: []string{"EMEA"}},
		Salary: salary(500_000, 600_000, "EUR", "month")}, false, now.Add(-time.Hour))
	post("data", globex, domain.JobDetailsInput{Title: "Data Engineer", Tags: []string{"python", "sql"},
		Location: domain.LocationInput{Remote: true, Regions: []string{"APAC"}}}, false, now.Add(-30*time.Minute))
	post("closed", acme, domain.JobDetailsInput{Title: "Go Engineer Closed", Tags: []string{"go"}}, false, now.Add(-time.Hour))
	b.Close(t, ids["closed"], acme)
	post("lapsed", acme, domain.JobDetailsInput{Title: "Go Engineer Lapsed", Tags: []string{"go"}}, false, now.Add(-40*24*time.Hour))
	post("unpaid", acme, domain.JobDetailsInput{Title: "Go Engineer Unpaid", Tags: []string{"go"}}, false, time.Time{})

	search, err := projections.NewJobSearchProjector(pool, es, projections.JobSearchConfig{Index: index})
	if err != nil {
		t.Fatal(err)
	}
	tables, err := projections.NewReadTablesProjector(pool, projections.ReadTablesConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var events []projections.Event
	for _, e := range h.Events {
		d, err := projections.DecodeEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, d)
	}
	for _, p := range []projections.Projector{search, tables} {
		if err := p.Apply(ctx, events); err != nil {
			t.Fatal(err)
		}
	}
	store, err := readmodels.NewStore(pool, es, readmodels.StoreConfig{SearchAlias: alias})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{store: store, ids: ids, h: h, pool: pool, es: es, alias: alias}
}

func (f fixture) search(t *testing.T, p readmodels.SearchParams) readmodels.SearchResult {
	t.Helper()
	res, err := f.store.Search(context.Background(), p)
	if err != nil {
		t.Fatalf("search %+v: %v", p, err)
	}
	return res
}

// keys names the result's jobs by fixture key, in order.
func (f fixture) keys(res readmodels.SearchResult) []string {
	byID := map[string]string{}
	for k, id := range f.ids {
		byID[id] = k
	}
	var out []string
	for _, it := range res.Items {
		out = append(out, byID[it.ID])
	}
	return out
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func TestSearch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	yes := true

	t.Run("finds only published, unexpired, open jobs", func(t *testing.T) {
		res := f.search(t, readmodels.SearchParams{})
		if res.Total != 4 || !slices.Equal(sorted(f.keys(res)), []string{"data", "go", "python", "react"}) {
			t.Fatalf("got %v (total %d)", f.keys(res), res.Total)
		}
	})

	t.Run("tolerates typos across title, tags and company name", func(t *testing.T) {
		cases := map[string][]string{
			"enginer":        {"data", "go", "python"},
			"kafak":          {"go"},
			"acme robotcs":   {"go", "python"},
			"golang":         nil,
			"frontend devel": nil, // every term must match (prefixes do not)
			"typescript":     {"react"},
		}
		for q, want := range cases {
			if got := sorted(f.keys(f.search(t, readmodels.SearchParams{Q: q}))); !slices.Equal(got, want) {
				t.Errorf("q=%q: got %v, want %v", q, got, want)
			}
		}
	})

	t.Run("filters", func(t *testing.T) {
		cases := []struct {
			name string
			p    readmodels.SearchParams
			want []string
		}{
			{"by tag", readmodels.SearchParams{Tags: []string{"python"}}, []string{"data", "python"}},
			{"by every tag", readmodels.SearchParams{Tags: []string{"python", "SQL"}}, []string{"data"}},
			{"remote", readmodels.SearchParams{Tags: []string{"python"}, Remote: &yes}, []string{"data"}},
			{"by region", readmodels.SearchParams{Region: "EMEA"}, []string{"go", "react"}},
			{"by country", readmodels.SearchParams{Country: "us"}, []string{"python"}},
			{"by employment type", readmodels.SearchParams{EmploymentType: "contract"}, []string{"python"}},
			{"by seniority", readmodels.SearchParams{Seniority: "junior"}, []string{"react"}},
			{"by company", readmodels.SearchParams{CompanyID: f.ids["globex"]}, []string{"data", "react"}},
			{"by currency", readmodels.SearchParams{Currency: "EUR"}, []string{"go", "react"}},
			// 90,000.00 a year: 100k/year and 60/hour (124,800/year) reach it, 6,000/month
			// (72,000/year) does not.
			{"by yearly salary across periods", readmodels.SearchParams{SalaryMin: 9_000_000}, []string{"go", "python"}},
			{"by salary in a currency", readmodels.SearchParams{SalaryMin: 9_000_000, Currency: "EUR"}, []string{"go"}},
		}
		for _, c := range cases {
			if got := sorted(f.keys(f.search(t, c.p))); !slices.Equal(got, c.want) {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			}
		}
	})

	t.Run("counts facets over the matching jobs", func(t *testing.T) {
		res := f.search(t, readmodels.SearchParams{})
		count := func(fv []readmodels.FacetValue, v string) int64 {
			for _, x := range fv {
				if x.Value == v {
					return x.Count
				}
			}
			return 0
		}
		if count(res.Facets.Tags, "python") != 2 || count(res.Facets.Tags, "go") != 1 ||
			count(res.Facets.EmploymentType, "full_time") != 3 || count(res.Facets.Seniority, "senior") != 2 ||
			count(res.Facets.Regions, "EMEA") != 2 {
			t.Fatalf("facets = %+v", res.Facets)
		}
		narrowed := f.search(t, readmodels.SearchParams{Region: "EMEA"})
		if count(narrowed.Facets.Tags, "python") != 0 || count(narrowed.Facets.Tags, "react") != 1 {
			t.Fatalf("facets with region=EMEA = %+v", narrowed.Facets)
		}
	})

	t.Run("sorts", func(t *testing.T) {
		if got := f.keys(f.search(t, readmodels.SearchParams{Sort: readmodels.SortNewest})); !slices.Equal(got, []string{"python", "data", "react", "go"}) {
			t.Errorf("newest (featured first): %v", got)
		}
		if got := f.keys(f.search(t, readmodels.SearchParams{Sort: readmodels.SortSalary})); !slices.Equal(got, []string{"python", "go", "react", "data"}) {
			t.Errorf("salary (yearly max, none last): %v", got)
		}
		if got := f.keys(f.search(t, readmodels.SearchParams{Q: "engineer"})); len(got) != 3 || got[0] != "python" {
			t.Errorf("relevance (featured first): %v", got)
		}
	})

	t.Run("pages with a cursor", func(t *testing.T) {
		for _, sort := range []string{readmodels.SortRelevance, readmodels.SortNewest, readmodels.SortSalary} {
			all := f.keys(f.search(t, readmodels.SearchParams{Sort: sort}))
			var paged []string
			cursor := ""
			for range 10 {
				res := f.search(t, readmodels.SearchParams{Sort: sort, Limit: 1, Cursor: cursor})
				paged = append(paged, f.keys(res)...)
				if res.Total != 4 {
					t.Fatalf("%s: total %d on a page", sort, res.Total)
				}
				if cursor = res.NextCursor; cursor == "" {
					break
				}
			}
			if !slices.Equal(paged, all) {
				t.Errorf("%s: paged %v, want %v", sort, paged, all)
			}
		}
	})

	t.Run("refuses bad parameters", func(t *testing.T) {
		first := f.search(t, readmodels.SearchParams{Limit: 1, Sort: readmodels.SortNewest})
		for name, p := range map[string]readmodels.SearchParams{
			"limit over 100":          {Limit: 101},
			"negative limit":          {Limit: -1},
			"unknown sort":            {Sort: "random"},
			"garbage cursor":          {Cursor: "%%%"},
			"hand-made cursor":        {Cursor: "eyJzIjoicmVsZXZhbmNlIiwiYSI6WyJ4Il19"}, // {"s":"relevance","a":["x"]}
			"cursor of another order": {Cursor: first.NextCursor, Sort: readmodels.SortSalary},
		} {
			_, err := f.store.Search(context.Background(), p)
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("%s: err = %v, want invalid", name, err)
			}
		}
		if res := f.search(t, readmodels.SearchParams{Limit: 100}); len(res.Items) != 4 {
			t.Errorf("limit 100: %d items", len(res.Items))
		}
	})
}

func TestWaitForStream(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	job := f.ids["go"]
	v := f.h.Version(job)
	for _, projection := range []string{readmodels.ReadTablesProjection, readmodels.JobSearchProjection} {
		if err := f.store.WaitForStream(ctx, projection, job, v, time.Second); err != nil {
			t.Fatalf("%s: applied version: %v", projection, err)
		}
		start := time.Now()
		err := f.store.WaitForStream(ctx, projection, job, v+1, 100*time.Millisecond)
		if !errors.Is(err, readmodels.ErrWaitTimeout) || apperr.CodeOf(err) != apperr.Timeout {
			t.Fatalf("%s: version not applied: err = %v, want a timeout", projection, err)
		}
		if took := time.Since(start); took < 100*time.Millisecond || took > time.Second {
			t.Fatalf("%s: timed out after %s", projection, took)
		}
	}
	if err := f.store.WaitForStream(ctx, "NoSuchProjector", job, 1, time.Second); !errors.Is(err, readmodels.ErrNoLiveVersion) {
		t.Fatalf("unknown projection: %v", err)
	}

	t.Run("returns as soon as the version is applied", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			done <- f.store.WaitForStream(ctx, readmodels.ReadTablesProjection, "late-stream", 1, 5*time.Second)
		}()
		time.Sleep(50 * time.Millisecond)
		if _, err := f.pool.Exec(ctx, `INSERT INTO rm_v1.applied_streams (stream_id, version) VALUES ('late-stream', 1)`); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("still waiting")
		}
	})
}

func TestCompanyOpenJobs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, err := f.store.GetCompany(context.Background(), f.ids["acme"])
	if err != nil {
		t.Fatal(err)
	}
	// go and python are open; closed is closed, lapsed is past expires_at, unpaid unpaid.
	if c.OpenJobs != 2 || c.Name != "Acme Robotics" {
		t.Fatalf("company = %+v, want 2 open jobs", c)
	}
	if _, err := f.store.GetCompany(context.Background(), "nope"); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("unknown company: %v", err)
	}
}

func TestASearchOverItsTimeBudgetIsUnavailableNotPartial(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// A budget no request can meet: the search must fail as Unavailable with a retry hint,
	// deterministically, against the real index.
	tight, err := readmodels.NewStore(f.pool, f.es, readmodels.StoreConfig{SearchAlias: f.alias, SearchTimeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tight.Search(context.Background(), readmodels.SearchParams{Q: "engineer"})
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Code != apperr.Unavailable || ae.RetryAfterSeconds < 1 {
		t.Fatalf("err = %#v, want unavailable with Retry-After", err)
	}
	// The same search within the default budget answers.
	if res := f.search(t, readmodels.SearchParams{Q: "engineer"}); res.Total == 0 {
		t.Fatal("no engineer found within the default budget")
	}
}

func TestLongFuzzyQueriesKeepTheirTypoTolerance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// Sixteen words, the API's bound, each a typo: every word is fuzzy-expanded, boundedly.
	q := "Enginer Senoir Go Kafak Enginer Senoir Go Kafak Enginer Senoir Go Kafak Enginer Senoir Go Kafak"
	if got := f.keys(f.search(t, readmodels.SearchParams{Q: q})); !slices.Equal(got, []string{"go"}) {
		t.Fatalf("16 misspelt words found %v, want [go]", got)
	}
}

// The facets of a search are reused for the same words and filters within FacetsMaxAge,
// whatever the order or the page, while items and total are searched afresh; FreshFacets,
// a search with other filters, an older entry and a store that never reuses count again.
func TestSearchReusesRecentFacets(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Minute).Add(10 * time.Second) // the same minute throughout
	store := func(maxAge time.Duration) *readmodels.Store {
		s, err := readmodels.NewStore(f.pool, f.es, readmodels.StoreConfig{SearchAlias: f.alias, FacetsMaxAge: maxAge,
			Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	reusing, never := store(time.Minute), store(0)
	search := func(s *readmodels.Store, p readmodels.SearchParams) (total, python int64) {
		t.Helper()
		res, err := s.Search(ctx, p)
		if err != nil {
			t.Fatalf("search %+v: %v", p, err)
		}
		for _, v := range res.Facets.Tags {
			if v.Value == "python" {
				python = v.Count
			}
		}
		return res.Total, python
	}
	python := readmodels.SearchParams{Tags: []string{"python"}}
	worded := readmodels.SearchParams{Q: "engineer", Tags: []string{"python"}}
	for _, p := range []readmodels.SearchParams{python, worded} {
		if total, n := search(reusing, p); total != 2 || n != 2 {
			t.Fatalf("%+v before the new job: total %d, python facet %d; want 2 and 2", p, total, n)
		}
	}

	// A new python engineer job, searchable at once.
	published, expires := now.Add(-time.Minute), now.Add(24*time.Hour)
	doc := readmodels.JobDocument{ID: "extra", Title: "Python Engineer", Tags: []string{"python"},
		Location: readmodels.Location{Regions: []string{}, Countries: []string{}}, Status: readmodels.StatusPublished,
		PostedAt: published, PublishedAt: &published, ExpiresAt: &expires}
	body, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.es.Index(f.alias, bytes.NewReader(body), f.es.Index.WithDocumentID(doc.ID), f.es.Index.WithRefresh("true"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.IsError() {
		t.Fatalf("index: %s", res.Status())
	}

	for _, p := range []readmodels.SearchParams{python, worded} {
		newest := p
		newest.Sort = readmodels.SortNewest
		if total, n := search(reusing, newest); total != 3 || n != 2 {
			t.Errorf("%+v, another order, within the max age: total %d, python facet %d; want 3 (afresh) and 2 (reused)", p, total, n)
		}
		fresh := p
		fresh.FreshFacets = true
		if total, n := search(reusing, fresh); total != 3 || n != 3 {
			t.Errorf("%+v with FreshFacets: total %d, python facet %d; want 3 and 3", p, total, n)
		}
		if total, n := search(never, p); total != 3 || n != 3 {
			t.Errorf("%+v, never reused: total %d, python facet %d; want 3 and 3", p, total, n)
		}
	}
	if total, n := search(reusing, readmodels.SearchParams{Tags: []string{"python"}, Q: "python"}); total != 3 || n != 3 {
		t.Errorf("other words: total %d, python facet %d; want 3 and 3", total, n)
	}
	// FreshFacets put fresh counts in the cache; a store whose entries are older than its
	// max age counts again.
	aging := store(time.Second)
	if _, n := search(aging, python); n != 3 {
		t.Fatalf("python facet %d, want 3", n)
	}
	if res, err = f.es.Delete(f.alias, doc.ID, f.es.Delete.WithRefresh("true")); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.IsError() {
		t.Fatalf("delete: %s", res.Status())
	}
	if _, n := search(aging, python); n != 3 {
		t.Errorf("within a second: python facet %d, want 3 (reused)", n)
	}
	now = now.Add(1500 * time.Millisecond)
	if total, n := search(aging, python); total != 2 || n != 2 {
		t.Errorf("1.5 s later: total %d, python facet %d; want 2 and 2", total, n)
	}
}
