package app_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// paidJob posts a job and pays for it through stripe-mock and a signed webhook; it returns
// the job's id and its events once job.published is visible.
func paidJob(t *testing.T, c client, secret, token string) (string, []map[string]any) {
	t.Helper()
	jobID, _ := postAndPay(c, secret, token, jobBody()["title"].(string), "featured")
	items := events(c, "stream="+jobID, func(items []map[string]any) bool { return countType(items, "job.published") == 1 })
	if countType(items, "job.published") != 1 {
		t.Fatalf("the job was not published: %v", items)
	}
	return jobID, items
}

func recordedAt(t *testing.T, items []map[string]any, typ string) time.Time {
	t.Helper()
	for _, it := range items {
		if it["type"] == typ {
			at, err := time.Parse(time.RFC3339Nano, it["recorded_at"].(string))
			if err != nil {
				t.Fatal(err)
			}
			return at
		}
	}
	t.Fatalf("no %s among %v", typ, items)
	return time.Time{}
}

func asOfQuery(at time.Time) string { return "?as_of=" + url.QueryEscape(at.Format(time.RFC3339Nano)) }

func TestAdminStreamAsOfFoldsTheDomainState(t *testing.T) {
	t.Parallel()
	cfg := stackConfig(t)
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	companyID, token := registerCompany(c)
	jobID, items := paidJob(t, c, cfg.StripeWebhookSecret, token)

	t.Run("before the payment the job awaits it", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		at := recordedAt(t, items, "job.listing_payment_requested")
		a := c.must(c.do("GET", "/v1/admin/streams/"+jobID+asOfQuery(at), operatorToken, nil), 200)
		state := a.body["state"].(map[string]any)
		if state["status"] != "awaiting_payment" || state["published_at"] != nil || state["company_id"] != companyID {
			t.Fatalf("state as of %s: %v", at, state)
		}
		pays := state["payments"].([]any)
		if len(pays) != 1 || pays[0].(map[string]any)["status"] != "requested" || pays[0].(map[string]any)["plan"] != "featured" {
			t.Fatalf("payments: %v", pays)
		}
		evs := a.body["events"].([]any)
		if len(evs) != 2 || a.body["version"] != 2.0 || a.body["stream_type"] != "job" {
			t.Fatalf("events as of %s: %s", at, a.raw)
		}
		if last := evs[1].(map[string]any); last["type"] != "job.listing_payment_requested" || last["global_position"] == nil {
			t.Fatalf("last event: %v", last)
		}
	})
	t.Run("without as_of the job is published", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		a := c.must(c.do("GET", "/v1/admin/streams/"+jobID, operatorToken, nil), 200)
		state := a.body["state"].(map[string]any)
		if state["status"] != "published" || state["published_at"] == nil || state["expires_at"] == nil || state["featured"] != true {
			t.Fatalf("state: %v", state)
		}
		if d := state["details"].(map[string]any); d["title"] != "Senior Go Engineer" {
			t.Fatalf("details: %v", d)
		}
		if p := state["payments"].([]any)[0].(map[string]any); p["status"] != "paid" || p["amount"] != 9900.0 || p["paid_at"] == nil {
			t.Fatalf("payment: %v", p)
		}
		if n := len(a.body["events"].([]any)); n != len(items) {
			t.Fatalf("%d events, the history has %d", n, len(items))
		}
	})
	t.Run("a company's stream shows the company", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		a := c.must(c.do("GET", "/v1/admin/streams/"+companyID, operatorToken, nil), 200)
		if state := a.body["state"].(map[string]any); state["name"] != "Acme" || a.body["stream_type"] != "company" {
			t.Fatalf("company: %s", a.raw)
		}
	})
	t.Run("an application's stream shows the application", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		cand := c.must(c.do("POST", "/v1/candidates", "", map[string]any{"name": "Ada", "email": uuid.NewString() + "@cand.test"}), 201)
		applied := c.must(c.do("POST", "/v1/jobs/"+jobID+"/applications", cand.str("token"), map[string]any{"resume_url": "https://cv.example.test/ada.pdf"}), 201)
		a := c.must(c.do("GET", "/v1/admin/streams/"+applied.str("id"), operatorToken, nil), 200)
		state := a.body["state"].(map[string]any)
		if a.body["stream_type"] != "application" || state["status"] != "submitted" || state["job_id"] != jobID ||
			state["candidate_id"] != cand.str("id") || state["company_id"] != companyID {
			t.Fatalf("application: %s", a.raw)
		}
	})
	t.Run("refuses an as_of before the first event, an unknown stream and a bad as_of", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		before := recordedAt(t, items, "job.posted").Add(-time.Second)
		for path, status := range map[string]int{
			"/v1/admin/streams/" + jobID + asOfQuery(before): 404,
			"/v1/admin/streams/" + uuid.NewString():          404,
			"/v1/admin/streams/" + jobID + "?as_of=tuesday":  400,
		} {
			a := c.do("GET", path, operatorToken, nil)
			if a.status != status || a.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s = %d %s, want a %d problem", path, a.status, a.raw, status)
			}
			if status == 400 && !strings.Contains(a.raw, `"field":"as_of"`) {
				t.Errorf("the problem does not name as_of: %s", a.raw)
			}
		}
	})
	t.Run("is the operator's only", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		c.must(c.do("GET", "/v1/admin/streams/"+jobID, token, nil), 403)
		c.must(c.do("GET", "/v1/admin/streams/"+jobID, "", nil), 401)
	})
}

func TestAdminProjectionsStatusAndRebuild(t *testing.T) {
	t.Parallel()
	cfg := stackConfig(t)
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	_, token := registerCompany(c)
	paidJob(t, c, cfg.StripeWebhookSecret, token)

	list := func(c client) map[string]map[string]any {
		c.t.Helper()
		a := c.do("GET", "/v1/admin/projections", operatorToken, nil)
		var items []map[string]any
		if a.status != 200 {
			c.t.Fatalf("GET /v1/admin/projections = %d %s", a.status, a.raw)
		}
		if err := json.Unmarshal([]byte(a.raw), &items); err != nil {
			c.t.Fatal(err)
		}
		out := map[string]map[string]any{}
		for _, it := range items {
			out[it["name"].(string)] = it
		}
		return out
	}

	t.Run("lists both projections live", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		all := list(c)
		for _, name := range []string{"JobSearchProjector", "ReadTablesProjector"} {
			p := all[name]
			if p == nil || p["state"] != "live" || p["version"] != 1.0 {
				t.Fatalf("%s: %v (all: %v)", name, p, all)
			}
			for _, k := range []string{"lag_events", "lag_seconds", "last_error", "dead_letters"} {
				if _, ok := p[k]; !ok {
					t.Errorf("%s lacks %s", name, k)
				}
			}
		}
		c.must(c.do("GET", "/v1/admin/projections", token, nil), 403)
		c.must(c.do("GET", "/v1/admin/projections", "", nil), 401)
	})

	t.Run("rebuilds the read tables in the background and promotes version 2", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		started := c.must(c.do("POST", "/v1/admin/projections/ReadTablesProjector/rebuild", operatorToken, nil), 202)
		id := started.str("rebuild_id")
		if _, err := uuid.Parse(id); err != nil || started.header.Get("Location") != "/v1/admin/projections/ReadTablesProjector/rebuilds/"+id {
			t.Fatalf("start: %s, Location %q", started.raw, started.header.Get("Location"))
		}
		// The request that started it is over (net/http cancelled its context): the
		// rebuild must still run to its end.
		var st answer
		deadline := time.Now().Add(60 * time.Second)
		for {
			st = c.must(c.do("GET", "/v1/admin/projections/ReadTablesProjector/rebuilds/"+id, operatorToken, nil), 200)
			if st.body["finished_at"] != nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		done, total := st.body["events_done"].(float64), st.body["events_total"].(float64)
		if st.str("state") != "done" || done != total || done <= 0 || st.str("started_at") == "" {
			t.Fatalf("rebuild: %s", st.raw)
		}
		if p := list(c)["ReadTablesProjector"]; p["version"] != 2.0 || p["state"] != "live" {
			t.Fatalf("after the rebuild: %v", p)
		}
		t.Run("is not found under another projection", func(t *testing.T) {
			c := client{t: t, base: m.URL()}
			a := c.do("GET", "/v1/admin/projections/JobSearchProjector/rebuilds/"+id, operatorToken, nil)
			if a.status != 404 || a.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("= %d %s", a.status, a.raw)
			}
		})
	})

	t.Run("refuses a second rebuild while one is in progress", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		// A rebuild left running (as by another instance): timing a real one is flaky.
		pool, err := pgxpool.New(context.Background(), cfg.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		running := uuid.New()
		if _, err := pool.Exec(context.Background(), `INSERT INTO projection_rebuilds (id, projection, from_version, to_version, state)
			VALUES ($1, 'JobSearchProjector', 1, 2, 'running')`, running); err != nil {
			t.Fatal(err)
		}
		a := c.do("POST", "/v1/admin/projections/JobSearchProjector/rebuild", operatorToken, nil)
		if a.status != 409 || a.header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("= %d %s", a.status, a.raw)
		}
		p := list(c)["JobSearchProjector"]
		if p["state"] != "rebuilding" || p["version"] != 1.0 || p["rebuild"].(map[string]any)["rebuild_id"] != running.String() {
			t.Fatalf("status while rebuilding: %v", p)
		}
		st := c.must(c.do("GET", "/v1/admin/projections/JobSearchProjector/rebuilds/"+running.String(), operatorToken, nil), 200)
		if st.str("state") != "running" || st.body["finished_at"] != nil {
			t.Fatalf("running rebuild: %s", st.raw)
		}
	})

	t.Run("refuses unknown projections and rebuilds with 404", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		for method, path := range map[string]string{
			"POST": "/v1/admin/projections/NoSuchProjector/rebuild",
			"GET":  "/v1/admin/projections/ReadTablesProjector/rebuilds/" + uuid.NewString(),
		} {
			a := c.do(method, path, operatorToken, nil)
			if a.status != 404 || a.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %s = %d %s", method, path, a.status, a.raw)
			}
		}
		c.must(c.do("POST", "/v1/admin/projections/ReadTablesProjector/rebuild", token, nil), 403)
	})
}
