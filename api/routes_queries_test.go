package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/internal/consistency"
	"github.com/jobboard/jobboard/readmodels"
)

// testToken is a consistency token signed with the test servers' key.
func testToken(positions ...consistency.Position) string {
	s, err := consistency.NewSigner([]byte(testSigningKey))
	if err != nil {
		panic(err)
	}
	return s.Token(positions...)
}

// Ids of the query tests: path ids must be UUIDs.
const (
	ownerID     = "0190c0de-0000-7000-8000-000000000001"
	otherID     = "0190c0de-0000-7000-8000-000000000002"
	candidateID = "0190c0de-0000-7000-8000-000000000003"
	publishedID = "0190c0de-0000-7000-8000-00000000000a"
	unpaidID    = "0190c0de-0000-7000-8000-00000000000b"
	missingID   = "0190c0de-0000-7000-8000-00000000000c"
)

// queryCredentials knows an owner, another employer and a candidate.
func queryCredentials(token string) (Principal, error) {
	switch token {
	case "owner":
		return Principal{Role: RoleEmployer, ID: ownerID}, nil
	case "other":
		return Principal{Role: RoleEmployer, ID: otherID}, nil
	case "candidate":
		return Principal{Role: RoleCandidate, ID: candidateID}, nil
	}
	return Principal{}, apperr.New(apperr.Unauthorized, "unknown bearer token")
}

type waitCall struct {
	rm        application.ReadModel
	timeout   time.Duration
	positions []consistency.Position
}

// fakeQueries serves two jobs of ownerID's company and records what it was asked.
type fakeQueries struct {
	waitErr error
	// searchNext is the read model's position after a search page ("" for the last).
	searchNext string

	mu        sync.Mutex
	waits     []waitCall
	search    []readmodels.SearchParams
	companyLP []readmodels.ListParams
}

// queries are f's methods as the application's query handlers.
func (f *fakeQueries) queries() *application.Queries {
	return &application.Queries{
		WaitFor:               application.HandlerFunc[application.WaitFor, struct{}](f.WaitFor),
		SearchJobs:            application.HandlerFunc[readmodels.SearchParams, readmodels.SearchResult](f.SearchJobs),
		Job:                   application.HandlerFunc[application.GetJob, readmodels.Job](f.Job),
		Company:               application.HandlerFunc[application.GetCompany, readmodels.Company](f.Company),
		CompanyJobs:           application.HandlerFunc[application.ListCompanyJobs, readmodels.Page[readmodels.Job]](f.CompanyJobs),
		JobApplications:       application.HandlerFunc[application.ListJobApplications, readmodels.Page[readmodels.JobApplication]](f.JobApplications),
		CandidateApplications: application.HandlerFunc[application.ListCandidateApplications, readmodels.Page[readmodels.CandidateApplication]](f.CandidateApplications),
		CandidateAlerts: application.HandlerFunc[application.ListCandidateAlerts, []readmodels.Alert](func(context.Context, application.ListCandidateAlerts) ([]readmodels.Alert, error) {
			return []readmodels.Alert{testAlert}, nil
		}),
		Alert: application.HandlerFunc[application.GetAlert, readmodels.Alert](func(_ context.Context, q application.GetAlert) (readmodels.Alert, error) {
			if q.ID != testAlert.ID {
				return readmodels.Alert{}, apperr.New(apperr.NotFound, "alert %s not found", q.ID)
			}
			return testAlert, nil
		}),
		EmailPreferences: application.HandlerFunc[application.GetEmailPreferences, readmodels.EmailPreferences](func(context.Context, application.GetEmailPreferences) (readmodels.EmailPreferences, error) {
			return readmodels.EmailPreferences{Off: []string{"job_alerts"}}, nil
		}),
	}
}

func (f *fakeQueries) WaitFor(_ context.Context, q application.WaitFor) (struct{}, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits = append(f.waits, waitCall{q.ReadModel, q.Timeout, q.Positions})
	return struct{}{}, f.waitErr
}

func (f *fakeQueries) SearchJobs(_ context.Context, p readmodels.SearchParams) (readmodels.SearchResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.search = append(f.search, p)
	return readmodels.SearchResult{Items: []readmodels.SearchItem{{ID: publishedID, Tags: []string{}}}, Total: 1, NextCursor: f.searchNext}, nil
}

func (f *fakeQueries) Job(_ context.Context, q application.GetJob) (readmodels.Job, error) {
	switch id := q.ID; id {
	case publishedID:
		return readmodels.Job{ID: id, Company: readmodels.CompanyRef{ID: ownerID}, Status: "published", Plan: "featured", PaymentStatus: "paid", Version: 3}, nil
	case unpaidID:
		return readmodels.Job{ID: id, Company: readmodels.CompanyRef{ID: ownerID}, Status: "awaiting_payment", Plan: "standard", PaymentStatus: "pending", Version: 2}, nil
	}
	return readmodels.Job{}, apperr.New(apperr.NotFound, "job %s not found", q.ID)
}

func (f *fakeQueries) Company(_ context.Context, q application.GetCompany) (readmodels.Company, error) {
	if q.ID != ownerID {
		return readmodels.Company{}, apperr.New(apperr.NotFound, "company %s not found", q.ID)
	}
	return readmodels.Company{ID: q.ID, Name: "Acme", OpenJobs: 1}, nil
}

func (f *fakeQueries) CompanyJobs(ctx context.Context, q application.ListCompanyJobs) (readmodels.Page[readmodels.Job], error) {
	f.mu.Lock()
	f.companyLP = append(f.companyLP, q.Page)
	f.mu.Unlock()
	j, _ := f.Job(ctx, application.GetJob{ID: publishedID})
	return readmodels.Page[readmodels.Job]{Items: []readmodels.Job{j}}, nil
}

func (f *fakeQueries) JobApplications(context.Context, application.ListJobApplications) (readmodels.Page[readmodels.JobApplication], error) {
	return readmodels.Page[readmodels.JobApplication]{Items: []readmodels.JobApplication{{ID: "a1", Status: "submitted"}}}, nil
}

func (f *fakeQueries) CandidateApplications(context.Context, application.ListCandidateApplications) (readmodels.Page[readmodels.CandidateApplication], error) {
	return readmodels.Page[readmodels.CandidateApplication]{Items: []readmodels.CandidateApplication{{ID: "a1", Status: "submitted"}}}, nil
}

func newQueryServer(t *testing.T, q *fakeQueries) *Server {
	t.Helper()
	return newTestServer(t, func(c *ServerConfig) {
		c.App.Tokens = tokensOf(queryCredentials)
		c.App.Queries = q.queries()
		c.ConsistencyTimeout = 250 * time.Millisecond
	})
}

type queryAnswer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func query(t *testing.T, s *Server, path, token string, headers ...string) queryAnswer {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	a := queryAnswer{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	_ = json.Unmarshal(rec.Body.Bytes(), &a.body)
	return a
}

// problemFields are the fields a 400 problem names.
func problemFields(t *testing.T, a queryAnswer) []string {
	t.Helper()
	if a.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("content type %q: %s", a.header.Get("Content-Type"), a.raw)
	}
	var fields []string
	errs, _ := a.body["errors"].([]any)
	for _, e := range errs {
		fields = append(fields, e.(map[string]any)["field"].(string))
	}
	return fields
}

func TestQueryRoutesRefuseInvalidParametersNamingThem(t *testing.T) {
	t.Parallel()
	s := newQueryServer(t, &fakeQueries{})
	for _, tc := range []struct{ path, field string }{
		{"/v1/jobs?limit=0", "limit"},
		{"/v1/jobs?limit=101", "limit"},
		{"/v1/jobs?limit=ten", "limit"},
		{"/v1/jobs?limit=1&limit=2", "limit"},
		{"/v1/jobs?remote=yes", "remote"},
		{"/v1/jobs?sort=cheapest", "sort"},
		{"/v1/jobs?salary_min=-1", "salary_min"},
		{"/v1/jobs?salary_min=lots", "salary_min"},
		{"/v1/jobs?country=XX", "country"},
		{"/v1/jobs?currency=EURO", "currency"},
		{"/v1/jobs?employment_type=gig", "employment_type"},
		{"/v1/jobs?seniority=guru", "seniority"},
		{"/v1/jobs?company_id=acme", "company_id"},
		{"/v1/companies/" + ownerID + "/jobs?status=draft", "status"},
		{"/v1/companies/" + ownerID + "/jobs?limit=500", "limit"},
		{"/v1/jobs/" + publishedID + "/applications?status=maybe", "status"},
		{"/v1/candidates/me/applications?limit=-3", "limit"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			a := query(t, s, tc.path, "owner")
			if tc.path == "/v1/candidates/me/applications?limit=-3" {
				a = query(t, s, tc.path, "candidate")
			}
			if a.status != 400 {
				t.Fatalf("status %d, want 400: %s", a.status, a.raw)
			}
			if f := problemFields(t, a); !slices.Contains(f, tc.field) {
				t.Fatalf("fields %v, want %q", f, tc.field)
			}
		})
	}
	t.Run("names every bad parameter at once", func(t *testing.T) {
		a := query(t, s, "/v1/jobs?limit=0&sort=x&remote=1", "", "X-Consistency-Token", "garbage")
		f := problemFields(t, a)
		for _, want := range []string{"limit", "sort", "remote", "X-Consistency-Token"} {
			if !slices.Contains(f, want) {
				t.Errorf("fields %v lack %q", f, want)
			}
		}
	})
}

func TestSearchPassesEveryFilterOn(t *testing.T) {
	t.Parallel()
	q := &fakeQueries{searchNext: "abc"}
	s := newQueryServer(t, q)
	path := "/v1/jobs?q=+golang+&tags=Go,postgres&tags=kafka&remote=true&region=EMEA&country=de&employment_type=full_time" +
		"&seniority=senior&salary_min=5000000&currency=eur&company_id=" + ownerID + "&sort=newest&limit=5&unknown=ignored"
	first := query(t, s, path, "")
	next, _ := first.body["next_cursor"].(string)
	if first.status != 200 || next == "" || next == "abc" {
		t.Fatalf("first page: status %d, want a sealed next_cursor: %s", first.status, first.raw)
	}
	a := query(t, s, path+"&cursor="+next, "")
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.raw)
	}
	p := q.search[1]
	if p.Q != "golang" || !slices.Equal(p.Tags, []string{"go", "postgres", "kafka"}) || p.Remote == nil || !*p.Remote ||
		p.Region != "EMEA" || p.Country != "DE" || p.EmploymentType != "full_time" || p.Seniority != "senior" ||
		p.SalaryMin != 5000000 || p.Currency != "EUR" || p.CompanyID != ownerID || p.Sort != "newest" || p.Limit != 5 || p.Cursor != "abc" {
		t.Fatalf("params %+v", p)
	}
	if len(q.waits) != 0 {
		t.Fatalf("waited without a token: %+v", q.waits)
	}
}

func TestQueriesWaitForTheProjectionThatServesThem(t *testing.T) {
	t.Parallel()
	q := &fakeQueries{}
	s := newQueryServer(t, q)
	// Each token names the resource of every route, so none of them is refused before the wait.
	t1 := testToken(consistency.Position{StreamID: "job-1", Version: 2}, consistency.Position{StreamID: publishedID, Version: 3})
	t2 := testToken(consistency.Position{StreamID: "job-1", Version: 4}, consistency.Position{StreamID: "company-1", Version: 1})
	t3 := testToken(consistency.Position{StreamID: "application-1", Version: 1}, consistency.Position{StreamID: ownerID, Version: 1})

	for _, tc := range []struct {
		path, token string
		rm          application.ReadModel
	}{
		{"/v1/jobs", "", application.ReadModelSearch},
		{"/v1/jobs/" + publishedID, "", application.ReadModelTables},
		{"/v1/companies/" + ownerID, "", application.ReadModelTables},
		{"/v1/companies/" + ownerID + "/jobs", "", application.ReadModelTables},
		{"/v1/jobs/" + publishedID + "/applications", "owner", application.ReadModelTables},
		{"/v1/candidates/me/applications", "candidate", application.ReadModelTables},
	} {
		t.Run(tc.path, func(t *testing.T) {
			q.mu.Lock()
			q.waits = nil
			q.mu.Unlock()
			// Two headers, one of them carrying two comma-separated tokens.
			a := query(t, s, tc.path, tc.token, "X-Consistency-Token", t1+", "+t3, "X-Consistency-Token", t2)
			if a.status != 200 {
				t.Fatalf("status %d: %s", a.status, a.raw)
			}
			q.mu.Lock()
			defer q.mu.Unlock()
			if len(q.waits) != 1 {
				t.Fatalf("waits: %+v", q.waits)
			}
			w := q.waits[0]
			if w.rm != tc.rm || w.timeout != 250*time.Millisecond {
				t.Fatalf("waited on %v for %s, want %v for 250ms", w.rm, w.timeout, tc.rm)
			}
			got := map[string]int64{}
			for _, p := range w.positions {
				got[p.StreamID] = p.Version
			}
			want := map[string]int64{"job-1": 4, "company-1": 1, "application-1": 1, publishedID: 3, ownerID: 1}
			if len(got) != len(want) || got["job-1"] != 4 || got["company-1"] != 1 || got["application-1"] != 1 || got[publishedID] != 3 || got[ownerID] != 1 {
				t.Fatalf("positions %v, want %v", got, want)
			}
		})
	}
}

func TestAWaitThatRunsOutIs504Problem(t *testing.T) {
	t.Parallel()
	s := newQueryServer(t, &fakeQueries{waitErr: apperr.New(apperr.Timeout, "the projection has not caught up")})
	token := testToken(consistency.Position{StreamID: "job-1", Version: 99})
	for _, path := range []string{"/v1/jobs", "/v1/jobs/" + publishedID} {
		a := query(t, s, path, "", "X-Consistency-Token", token)
		if a.status != 504 || a.header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s: status %d %q: %s", path, a.status, a.header.Get("Content-Type"), a.raw)
		}
	}
}

func TestAMalformedConsistencyTokenIs400(t *testing.T) {
	t.Parallel()
	q := &fakeQueries{}
	s := newQueryServer(t, q)
	good := testToken(consistency.Position{StreamID: publishedID, Version: 1})
	tampered := []byte(good)
	tampered[5] ^= 1
	foreign, err := consistency.NewSigner([]byte("another-deployment-signing-key-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	var many []string
	for i := range maxConsistencyTokens + 1 {
		many = append(many, testToken(consistency.Position{StreamID: strconv.Itoa(i), Version: 1}))
	}
	var wide []string // few tokens, too many streams in all
	for i := range maxConsistencyPositions/consistency.MaxPositions + 1 {
		var ps []consistency.Position
		for j := range consistency.MaxPositions {
			ps = append(ps, consistency.Position{StreamID: fmt.Sprintf("%d-%d", i, j), Version: 1})
		}
		wide = append(wide, testToken(ps...))
	}
	for _, token := range []string{
		"garbage", "djE6MDp4", // the unsigned tokens of before
		good + ",!!", string(tampered),
		foreign.Token(consistency.Position{StreamID: publishedID, Version: 1}),
		strings.Repeat("A", consistency.MaxTokenLen+1),
		strings.Join(many, ","), strings.Join(wide, ","),
	} {
		a := query(t, s, "/v1/jobs/"+publishedID, "", "X-Consistency-Token", token)
		if a.status != 400 {
			t.Fatalf("%.80q: status %d: %s", token, a.status, a.raw)
		}
		if f := problemFields(t, a); !slices.Equal(f, []string{"X-Consistency-Token"}) {
			t.Fatalf("%q: fields %v", token, f)
		}
	}
	if len(q.waits) != 0 {
		t.Fatalf("waited for a malformed token")
	}
}

func TestJobVisibility(t *testing.T) {
	t.Parallel()
	s := newQueryServer(t, &fakeQueries{})
	t.Run("a published job is public, without the owner's payment details", func(t *testing.T) {
		a := query(t, s, "/v1/jobs/"+publishedID, "")
		if a.status != 200 || a.body["status"] != "published" || a.body["payment_status"] != nil || a.body["plan"] != nil {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
	t.Run("an unpaid job is hidden from others", func(t *testing.T) {
		for _, token := range []string{"", "other", "candidate"} {
			if a := query(t, s, "/v1/jobs/"+unpaidID, token); a.status != 404 {
				t.Fatalf("token %q: %d %s", token, a.status, a.raw)
			}
		}
	})
	t.Run("the owner sees every status with its version as ETag", func(t *testing.T) {
		a := query(t, s, "/v1/jobs/"+unpaidID, "owner")
		if a.status != 200 || a.body["status"] != "awaiting_payment" || a.body["payment_status"] != "pending" || a.header.Get("ETag") != `"2"` {
			t.Fatalf("%d %v %s", a.status, a.header, a.raw)
		}
	})
	t.Run("an unknown job and a non-UUID are 404", func(t *testing.T) {
		for _, id := range []string{missingID, "nope"} {
			if a := query(t, s, "/v1/jobs/"+id, "owner"); a.status != 404 {
				t.Fatalf("%s: %d %s", id, a.status, a.raw)
			}
		}
	})
	t.Run("a wrong token is 401 even on public routes", func(t *testing.T) {
		for _, path := range []string{"/v1/jobs", "/v1/jobs/" + publishedID, "/v1/companies/" + ownerID} {
			if a := query(t, s, path, "forged"); a.status != 401 {
				t.Fatalf("%s: %d %s", path, a.status, a.raw)
			}
		}
	})
}

func TestCompanyJobsShowOthersThePublishedOnly(t *testing.T) {
	t.Parallel()
	q := &fakeQueries{}
	s := newQueryServer(t, q)
	path := "/v1/companies/" + ownerID + "/jobs"
	if a := query(t, s, path+"?status=closed", "owner"); a.status != 200 {
		t.Fatalf("owner: %d %s", a.status, a.raw)
	}
	if a := query(t, s, path, "other"); a.status != 200 || a.body["items"].([]any)[0].(map[string]any)["payment_status"] != nil {
		t.Fatalf("other: %d %s", a.status, a.raw)
	}
	a := query(t, s, path+"?status=closed", "")
	if a.status != 200 || len(a.body["items"].([]any)) != 0 {
		t.Fatalf("anonymous, closed: %d %s", a.status, a.raw)
	}
	if got := []string{q.companyLP[0].Status, q.companyLP[1].Status}; !slices.Equal(got, []string{"closed", "published"}) {
		t.Fatalf("statuses asked: %v", got)
	}
	if a := query(t, s, "/v1/companies/"+otherID+"/jobs", ""); a.status != 404 {
		t.Fatalf("unknown company: %d %s", a.status, a.raw)
	}
}

func TestJobApplicationsAreTheOwnersOnly(t *testing.T) {
	t.Parallel()
	s := newQueryServer(t, &fakeQueries{})
	path := "/v1/jobs/" + publishedID + "/applications"
	for token, want := range map[string]int{"owner": 200, "other": 404, "candidate": 404, "": 401, "forged": 401} {
		if a := query(t, s, path, token); a.status != want {
			t.Errorf("token %q: %d, want %d: %s", token, a.status, want, a.raw)
		}
	}
	if a := query(t, s, "/v1/jobs/"+missingID+"/applications", "owner"); a.status != 404 {
		t.Errorf("unknown job: %d", a.status)
	}
}

func TestCandidateApplicationsAreTheCandidatesOwn(t *testing.T) {
	t.Parallel()
	s := newQueryServer(t, &fakeQueries{})
	for token, want := range map[string]int{"candidate": 200, "owner": 403, "": 401} {
		if a := query(t, s, "/v1/candidates/me/applications", token); a.status != want {
			t.Errorf("token %q: %d, want %d: %s", token, a.status, want, a.raw)
		}
	}
}

func TestQueryAndCommandRoutesShareTheirPaths(t *testing.T) {
	t.Parallel()
	s := newQueryServer(t, &fakeQueries{})
	req := httptest.NewRequest(http.MethodDelete, "/v1/jobs/"+publishedID, nil)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != 405 || rec.Header().Get("Allow") != "GET, PATCH" {
		t.Fatalf("DELETE: %d Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	// GET is served by the query group although PATCH, in the command group, shares the path.
	if a := query(t, s, "/v1/jobs/"+publishedID, ""); a.status != 200 {
		t.Fatalf("GET: %d %s", a.status, a.raw)
	}
}

// TestAuthorizationAndExistenceAreDecidedBeforeAnyWait: a request that answers 404 whatever
// the projection does answers it without waiting; one whose answer a token's write may change
// waits first.
func TestAuthorizationAndExistenceAreDecidedBeforeAnyWait(t *testing.T) {
	t.Parallel()
	unrelated := testToken(consistency.Position{StreamID: "company-x", Version: 1})
	for _, tc := range []struct {
		name, path, token, consistencyToken string
		status                              int
		waits                               bool
	}{
		{"a missing job the token does not name", "/v1/jobs/" + missingID, "", unrelated, 404, false},
		{"a missing company the token does not name", "/v1/companies/" + missingID, "", unrelated, 404, false},
		{"the jobs of a missing company", "/v1/companies/" + missingID + "/jobs", "", unrelated, 404, false},
		{"another company's unpaid job, token at its projected version", "/v1/jobs/" + unpaidID, "other",
			testToken(consistency.Position{StreamID: unpaidID, Version: 2}), 404, false},
		{"the applications of another company's job", "/v1/jobs/" + publishedID + "/applications", "other",
			testToken(consistency.Position{StreamID: publishedID, Version: 9}), 404, false},
		{"the applications of a job, asked by a candidate", "/v1/jobs/" + publishedID + "/applications", "candidate",
			testToken(consistency.Position{StreamID: publishedID, Version: 9}), 404, false},
		{"the applications of a missing job", "/v1/jobs/" + missingID + "/applications", "other", unrelated, 404, false},
		// A token the server signed for a write to the stream proves it exists: wait, then decide.
		{"a job not projected yet that the token names", "/v1/jobs/" + missingID, "",
			testToken(consistency.Position{StreamID: missingID, Version: 1}), 404, true},
		{"an unpaid job a token names beyond its projected version", "/v1/jobs/" + unpaidID, "",
			testToken(consistency.Position{StreamID: unpaidID, Version: 3}), 404, true},
		{"the owner's unpaid job", "/v1/jobs/" + unpaidID, "owner", unrelated, 200, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := &fakeQueries{}
			s := newQueryServer(t, q)
			a := query(t, s, tc.path, tc.token, "X-Consistency-Token", tc.consistencyToken)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.raw)
			}
			q.mu.Lock()
			defer q.mu.Unlock()
			if waited := len(q.waits) > 0; waited != tc.waits {
				t.Fatalf("waited = %v, want %v", waited, tc.waits)
			}
		})
	}
}
