package api

import (
	"github.com/google/uuid"

	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/internal/apperr"
)

const (
	rebuildID      = "0190c0de-0000-7000-8000-0000000000r1"
	knownRebuildID = "0190c0de-0000-7000-8000-0000000000f1"
	streamID       = "0190c0de-0000-7000-8000-0000000000e1"
)

// fakeAdmin knows one projection, "ReadTablesProjector", with one rebuild, and one job
// stream; it records what it was asked.
type fakeAdmin struct {
	startErr error

	mu      sync.Mutex
	started []string
	asOf    []time.Time
}

// admin are f's methods as the application's operator handlers; the history is empty.
func (f *fakeAdmin) admin() *application.Admin {
	return &application.Admin{
		Projections:  application.HandlerFunc[application.ListProjections, []application.ProjectionStatus](f.Projections),
		StartRebuild: application.HandlerFunc[application.StartRebuild, application.RebuildStarted](f.StartRebuild),
		Rebuild:      application.HandlerFunc[application.GetRebuild, application.RebuildStatus](f.Rebuild),
		Stream:       application.HandlerFunc[application.GetStream, application.StreamAsOf](f.Stream),
		Events: application.HandlerFunc[application.ReadEvents, application.EventsPage](func(_ context.Context, q application.ReadEvents) (application.EventsPage, error) {
			return application.EventsPage{Items: []application.Event{}, NextAfter: q.After}, nil
		}),
	}
}

func (f *fakeAdmin) Projections(context.Context, application.ListProjections) ([]application.ProjectionStatus, error) {
	return []application.ProjectionStatus{
		{Name: "JobSearchProjector", Version: 1, State: "live"},
		{Name: "ReadTablesProjector", Version: 2, State: "rebuilding", LagEvents: 3, LagSeconds: 1.5, DeadLetters: 1, LastError: "boom",
			Rebuild: &application.RebuildStatus{ID: uuid.MustParse(knownRebuildID), Projection: "ReadTablesProjector", State: "running"}},
	}, nil
}

func (f *fakeAdmin) StartRebuild(_ context.Context, q application.StartRebuild) (application.RebuildStarted, error) {
	projection := q.Projection
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, projection)
	if f.startErr != nil {
		return application.RebuildStarted{}, f.startErr
	}
	if projection != "ReadTablesProjector" {
		return application.RebuildStarted{}, apperr.New(apperr.NotFound, "no projection named %q", projection)
	}
	return application.RebuildStarted{RebuildID: knownRebuildID}, nil
}

func (f *fakeAdmin) Rebuild(_ context.Context, q application.GetRebuild) (application.RebuildStatus, error) {
	projection, id := q.Projection, q.RebuildID
	if projection != "ReadTablesProjector" || id != knownRebuildID {
		return application.RebuildStatus{}, apperr.New(apperr.NotFound, "no rebuild %s of %s", id, projection)
	}
	done := time.Date(2025, 1, 1, 0, 1, 0, 0, time.UTC)
	return application.RebuildStatus{ID: uuid.MustParse(id), Projection: projection, FromVersion: 1, ToVersion: 2, State: "done", EventsDone: 10, EventsTotal: 10,
		EventsPerSecond: 5, StartedAt: done.Add(-2 * time.Second), FinishedAt: &done}, nil
}

func (f *fakeAdmin) Stream(_ context.Context, q application.GetStream) (application.StreamAsOf, error) {
	id, asOf := q.StreamID, q.AsOf
	f.mu.Lock()
	f.asOf = append(f.asOf, asOf)
	f.mu.Unlock()
	if id != streamID {
		return application.StreamAsOf{}, apperr.New(apperr.NotFound, "no stream %s", id)
	}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return application.StreamAsOf{StreamID: id, StreamType: "job", Version: 1,
		Events: []application.Event{{GlobalPosition: 7, StreamID: id, StreamType: "job", Version: 1, Type: "job.posted",
			SchemaVersion: 2, Data: json.RawMessage(`{"job_id":"x"}`), RecordedAt: at}},
		State: &application.JobState{ID: id, CompanyID: "c1", Status: "awaiting_payment", Details: application.JobDetailsState{Title: "Go"},
			PostedAt: at, Payments: []application.JobPaymentState{}},
	}, nil
}

func newAdminServer(t *testing.T, admin *fakeAdmin) *Server {
	t.Helper()
	return newTestServer(t, func(c *ServerConfig) { c.App.Admin = admin.admin() })
}

// call sends a request and decodes the JSON answer, if any.
func call(t *testing.T, s *Server, method, target, token, body string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec, out
}

func wantProblem(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("= %d %s, want a %d problem: %s", rec.Code, rec.Header().Get("Content-Type"), status, rec.Body)
	}
}

const operator = "operator-token-for-tests"

var adminRoutes = []struct{ method, path string }{
	{"GET", "/v1/admin/projections"},
	{"POST", "/v1/admin/projections/ReadTablesProjector/rebuild"},
	{"GET", "/v1/admin/projections/ReadTablesProjector/rebuilds/" + knownRebuildID},
	{"GET", "/v1/admin/streams/" + streamID},
}

func TestAdminRoutesAreForTheOperatorOnly(t *testing.T) {
	t.Parallel()
	admin := &fakeAdmin{}
	s := newAdminServer(t, admin)
	for _, r := range adminRoutes {
		t.Run(r.method+" "+r.path+" refuses a missing token with 401", func(t *testing.T) {
			rec, _ := call(t, s, r.method, r.path, "", "")
			wantProblem(t, rec, 401)
			if rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate")
			}
		})
		for _, token := range []string{"employer", "candidate"} {
			t.Run(r.method+" "+r.path+" refuses an "+token+" with 403", func(t *testing.T) {
				rec, _ := call(t, s, r.method, r.path, token, "")
				wantProblem(t, rec, 403)
			})
		}
		t.Run(r.method+" "+r.path+" answers the operator", func(t *testing.T) {
			rec, _ := call(t, s, r.method, r.path, operator, "")
			if rec.Code >= 300 {
				t.Fatalf("= %d %s", rec.Code, rec.Body)
			}
		})
	}
	if len(admin.started) != 1 {
		t.Errorf("rebuilds started %v: only the operator's request may start one", admin.started)
	}
}

func TestAdminProjectionsListsEveryProjection(t *testing.T) {
	t.Parallel()
	rec, _ := call(t, newAdminServer(t, &fakeAdmin{}), "GET", "/v1/admin/projections", operator, "")
	var got []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 {
		t.Fatalf("= %d %s (%v)", rec.Code, rec.Body, err)
	}
	if len(got) != 2 {
		t.Fatalf("%d projections: %s", len(got), rec.Body)
	}
	for _, k := range []string{"name", "version", "state", "lag_events", "lag_seconds", "last_error", "dead_letters"} {
		if _, ok := got[0][k]; !ok {
			t.Errorf("an item lacks %s: %s", k, rec.Body)
		}
	}
	if got[1]["state"] != "rebuilding" || got[1]["rebuild"].(map[string]any)["rebuild_id"] != knownRebuildID {
		t.Errorf("the rebuilding projection does not show its rebuild: %v", got[1])
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Error("a status is cached")
	}
}

func TestAdminStartRebuild(t *testing.T) {
	t.Parallel()
	t.Run("answers 202 with the rebuild id and where to follow it", func(t *testing.T) {
		t.Parallel()
		rec, body := call(t, newAdminServer(t, &fakeAdmin{}), "POST", "/v1/admin/projections/ReadTablesProjector/rebuild", operator, "")
		if rec.Code != http.StatusAccepted || body["rebuild_id"] != knownRebuildID {
			t.Fatalf("= %d %s", rec.Code, rec.Body)
		}
		if loc := rec.Header().Get("Location"); loc != "/v1/admin/projections/ReadTablesProjector/rebuilds/"+knownRebuildID {
			t.Errorf("Location = %q", loc)
		}
	})
	t.Run("accepts an empty JSON object", func(t *testing.T) {
		t.Parallel()
		rec, _ := call(t, newAdminServer(t, &fakeAdmin{}), "POST", "/v1/admin/projections/ReadTablesProjector/rebuild", operator, "{}")
		if rec.Code != http.StatusAccepted {
			t.Fatalf("= %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("refuses a body with fields", func(t *testing.T) {
		t.Parallel()
		admin := &fakeAdmin{}
		rec, _ := call(t, newAdminServer(t, admin), "POST", "/v1/admin/projections/ReadTablesProjector/rebuild", operator, `{"force":true}`)
		wantProblem(t, rec, 400)
		if len(admin.started) != 0 {
			t.Error("started anyway")
		}
	})
	t.Run("answers 404 for an unknown projection", func(t *testing.T) {
		t.Parallel()
		rec, _ := call(t, newAdminServer(t, &fakeAdmin{}), "POST", "/v1/admin/projections/Nope/rebuild", operator, "")
		wantProblem(t, rec, 404)
	})
	t.Run("answers 409 while a rebuild is in progress", func(t *testing.T) {
		t.Parallel()
		admin := &fakeAdmin{startErr: apperr.New(apperr.Conflict, "a rebuild of ReadTablesProjector is in progress")}
		rec, body := call(t, newAdminServer(t, admin), "POST", "/v1/admin/projections/ReadTablesProjector/rebuild", operator, "")
		wantProblem(t, rec, 409)
		if !strings.Contains(body["detail"].(string), "in progress") {
			t.Errorf("detail: %s", rec.Body)
		}
	})
	t.Run("hides the cause of an internal failure", func(t *testing.T) {
		t.Parallel()
		admin := &fakeAdmin{startErr: context.DeadlineExceeded}
		rec, _ := call(t, newAdminServer(t, admin), "POST", "/v1/admin/projections/ReadTablesProjector/rebuild", operator, "")
		wantProblem(t, rec, 500)
		if strings.Contains(rec.Body.String(), "deadline") {
			t.Errorf("the cause leaks: %s", rec.Body)
		}
	})
}

func TestAdminRebuildStatus(t *testing.T) {
	t.Parallel()
	s := newAdminServer(t, &fakeAdmin{})
	t.Run("reports the progress fields", func(t *testing.T) {
		rec, body := call(t, s, "GET", "/v1/admin/projections/ReadTablesProjector/rebuilds/"+knownRebuildID, operator, "")
		if rec.Code != 200 {
			t.Fatalf("= %d %s", rec.Code, rec.Body)
		}
		for _, k := range []string{"state", "events_done", "events_total", "events_per_second", "eta_seconds", "started_at", "finished_at"} {
			if _, ok := body[k]; !ok {
				t.Errorf("lacks %s: %s", k, rec.Body)
			}
		}
		if body["state"] != "done" || body["finished_at"] != "2025-01-01T00:01:00Z" {
			t.Errorf("= %s", rec.Body)
		}
	})
	for name, path := range map[string]string{
		"an id that is not a UUID":        "/v1/admin/projections/ReadTablesProjector/rebuilds/" + rebuildID,
		"an unknown rebuild":              "/v1/admin/projections/ReadTablesProjector/rebuilds/0190c0de-0000-7000-8000-000000000999",
		"a rebuild of another projection": "/v1/admin/projections/JobSearchProjector/rebuilds/" + knownRebuildID,
	} {
		t.Run("answers 404 for "+name, func(t *testing.T) {
			rec, _ := call(t, s, "GET", path, operator, "")
			wantProblem(t, rec, 404)
		})
	}
}

func TestAdminStream(t *testing.T) {
	t.Parallel()
	t.Run("shows the events and the folded state", func(t *testing.T) {
		t.Parallel()
		admin := &fakeAdmin{}
		rec, body := call(t, newAdminServer(t, admin), "GET", "/v1/admin/streams/"+streamID, operator, "")
		if rec.Code != 200 {
			t.Fatalf("= %d %s", rec.Code, rec.Body)
		}
		if body["stream_id"] != streamID || body["stream_type"] != "job" || body["version"] != 1.0 {
			t.Errorf("header fields: %s", rec.Body)
		}
		events := body["events"].([]any)
		ev := events[0].(map[string]any)
		for _, k := range []string{"global_position", "stream_id", "stream_type", "version", "type", "schema_version", "data", "metadata", "recorded_at"} {
			if _, ok := ev[k]; !ok {
				t.Errorf("an event lacks %s (the item shape of GET /v1/admin/events)", k)
			}
		}
		state := body["state"].(map[string]any)
		if state["status"] != "awaiting_payment" || state["published_at"] != nil || state["details"].(map[string]any)["title"] != "Go" {
			t.Errorf("state: %v", state)
		}
		if _, ok := body["as_of"]; ok {
			t.Error("as_of shown without one asked")
		}
		if !admin.asOf[0].IsZero() {
			t.Errorf("asked as of %v without as_of", admin.asOf[0])
		}
	})
	t.Run("passes as_of on", func(t *testing.T) {
		t.Parallel()
		admin := &fakeAdmin{}
		rec, body := call(t, newAdminServer(t, admin), "GET", "/v1/admin/streams/"+streamID+"?as_of=2025-01-01T02:00:00.123456%2B02:00", operator, "")
		if rec.Code != 200 {
			t.Fatalf("= %d %s", rec.Code, rec.Body)
		}
		want := time.Date(2025, 1, 1, 0, 0, 0, 123456000, time.UTC)
		if !admin.asOf[0].Equal(want) {
			t.Errorf("as of %v, want %v", admin.asOf[0], want)
		}
		if body["as_of"] != "2025-01-01T00:00:00.123456Z" {
			t.Errorf("as_of = %v", body["as_of"])
		}
	})
	for name, query := range map[string]string{"not a time": "as_of=yesterday", "a date only": "as_of=2025-01-01", "given twice": "as_of=2025-01-01T00:00:00Z&as_of=2025-01-02T00:00:00Z"} {
		t.Run("refuses an as_of "+name+" with a 400 naming it", func(t *testing.T) {
			t.Parallel()
			admin := &fakeAdmin{}
			rec, _ := call(t, newAdminServer(t, admin), "GET", "/v1/admin/streams/"+streamID+"?"+query, operator, "")
			wantProblem(t, rec, 400)
			if !strings.Contains(rec.Body.String(), `"field":"as_of"`) {
				t.Errorf("does not name as_of: %s", rec.Body)
			}
			if len(admin.asOf) != 0 {
				t.Error("read the store anyway")
			}
		})
	}
	for name, id := range map[string]string{"an unknown stream": "0190c0de-0000-7000-8000-000000000999", "an id that is not a UUID": "job-1"} {
		t.Run("answers 404 for "+name, func(t *testing.T) {
			t.Parallel()
			rec, _ := call(t, newAdminServer(t, &fakeAdmin{}), "GET", "/v1/admin/streams/"+id, operator, "")
			wantProblem(t, rec, 404)
		})
	}
}

func TestAdminRoutesAreAbsentWithoutThePort(t *testing.T) {
	t.Parallel()
	rec, _ := call(t, newTestServer(t, nil), "GET", "/v1/admin/projections", operator, "")
	wantProblem(t, rec, 404)
}

func TestTheOpenAPIDocumentDescribesTheAdminRoutes(t *testing.T) {
	t.Parallel()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := newAdminServer(t, &fakeAdmin{}).Router().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil || !strings.HasPrefix(tpl, "/v1/admin/") {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil
		}
		for _, m := range methods {
			n++
			if _, ok := doc.Paths[tpl][strings.ToLower(m)]; !ok {
				t.Errorf("%s %s is not in openapi.json", m, tpl)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Fatalf("walked %d admin routes, want 5 (events and the four of the Admin port)", n)
	}
}

func TestServerConfigRequiresCredentialsAndAnOperatorTokenWithAdmin(t *testing.T) {
	t.Parallel()
	err := ServerConfig{App: application.Application{Admin: (&fakeAdmin{}).admin()}}.Validate()
	if err == nil || !strings.Contains(err.Error(), "App.Tokens is required with App.Admin") || !strings.Contains(err.Error(), "OperatorToken") {
		t.Fatalf("Validate = %v", err)
	}
}
