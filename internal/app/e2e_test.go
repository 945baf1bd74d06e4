package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/internal/consistency"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/readmodels"
)

// wholeSystemConfig runs every role (API, relay, projectors, scheduler) against the real
// stack, with its own database, topics and search index; the index is deleted at the end.
func wholeSystemConfig(t *testing.T) app.Config {
	t.Helper()
	cfg := stackConfig(t)
	cfg.Roles = app.AllRoles
	// The whole suite runs in parallel under -race on 2 cores, where a projection can lag
	// past the production bound of 5 s; these tests assert that a token makes the first read
	// wait and succeed, so they give it room. The bound itself is tested with 500 ms in
	// TestAConsistencyTokenThatCannotBeSatisfiedAnswers504.
	cfg.ConsistencyTimeout = 60 * time.Second
	index := strings.TrimRight(cfg.ElasticsearchURL, "/") + "/" + cfg.ElasticsearchIndexPrefix + readmodels.DefaultSearchIndex
	// Registered before start, so it runs after Main.Close.
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, index, nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	})
	return cfg
}

// read is a GET that waits, through the API, for the given consistency tokens.
func (c client) read(path, token string, consistencyTokens ...string) answer {
	c.t.Helper()
	var headers []string
	if len(consistencyTokens) > 0 {
		headers = []string{"X-Consistency-Token", strings.Join(consistencyTokens, ",")}
	}
	return c.do(http.MethodGet, path, token, nil, headers...)
}

// webhook delivers a signed Stripe event and returns the answer.
func (c client) webhook(secret, eventType string, pi map[string]any) answer {
	c.t.Helper()
	payload, sig := signedWebhook(c.t, secret, eventType, pi)
	return c.do(http.MethodPost, "/v1/stripe/webhook", "", payload, "Stripe-Signature", sig)
}

// postAndPay posts a job with the given title for the company, pays for it through
// stripe-mock and a signed webhook, and returns the job id and the webhook's consistency
// token (the job published).
func postAndPay(c client, secret, companyToken, title, plan string) (string, string) {
	c.t.Helper()
	body := jobBody()
	body["title"] = title
	job := c.must(c.do("POST", "/v1/jobs", companyToken, body), 201)
	jobID := job.str("id")
	pay := c.must(c.do("POST", "/v1/jobs/"+jobID+"/payments", companyToken, map[string]any{"plan": plan}), 201)
	amount := pay.body["amount"]
	pi := map[string]any{
		"id": pay.str("payment_intent_id"), "object": "payment_intent", "status": "succeeded",
		"amount": amount, "amount_received": amount, "currency": strings.ToLower(pay.str("currency")),
		"metadata": map[string]string{"job_id": jobID, "payment_id": pay.str("payment_id")},
	}
	hook := c.must(c.webhook(secret, "payment_intent.succeeded", pi), 200)
	if hook.str("outcome") != "applied" || hook.str("consistency_token") == "" {
		c.t.Fatalf("webhook answer: %s", hook.raw)
	}
	return jobID, hook.str("consistency_token")
}

func items(a answer) []map[string]any {
	var out []map[string]any
	list, _ := a.body["items"].([]any)
	for _, it := range list {
		out = append(out, it.(map[string]any))
	}
	return out
}

// facet returns the count of value in facet name of a search answer (0 if absent).
func facet(a answer, name, value string) int {
	facets, _ := a.body["facets"].(map[string]any)
	buckets, _ := facets[name].([]any)
	for _, b := range buckets {
		if m := b.(map[string]any); m["value"] == value {
			return int(m["count"].(float64))
		}
	}
	return 0
}

// uniqueWord is a search term no other job has.
func uniqueWord() string { return "zq" + testenv.RandomSuffix() }

// awaitProjectors waits until the projectors' consumer groups are stable (a fresh app's
// subscribers join one by one, and each join is a rebalance that pauses the group, which on
// a loaded machine can outlast the 5 s bound of a consistency wait), then until both
// projections applied a company's registration (retrying on 504, the client's cue). After
// this, reads measure the steady state.
func awaitProjectors(c client, cfg app.Config, companyID, token string) {
	c.t.Helper()
	awaitStableGroups(c.t, cfg, 1)
	for _, path := range []string{"/v1/companies/" + companyID, "/v1/jobs?q=warmup"} {
		for deadline := time.Now().Add(90 * time.Second); ; {
			a := c.read(path, "", token)
			if a.status == http.StatusOK {
				break
			}
			if a.status != http.StatusGatewayTimeout || time.Now().After(deadline) {
				c.t.Fatalf("warm-up read %s: %d %s", path, a.status, a.raw)
			}
		}
	}
}

func TestEndToEndHiringThroughHTTP(t *testing.T) {
	t.Parallel()
	cfg := wholeSystemConfig(t)
	// Facets reused, as served (5 s there): the searches below with a consistency token must
	// still count the job the unpaid search before them did not.
	cfg.SearchFacetsMaxAge = time.Minute
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}

	// Sign-ups.
	companyName := "Acme " + uniqueWord()
	company := c.must(c.do("POST", "/v1/companies", "", map[string]any{
		"name": companyName, "email": uuid.NewString() + "@acme.test", "website": "https://acme.test",
		"description": "We make everything.",
	}), 201)
	companyID, employer := company.str("id"), company.str("token")
	candidate := c.must(c.do("POST", "/v1/candidates", "", map[string]any{"name": "Ada Lovelace", "email": uuid.NewString() + "@example.test"}), 201)
	candidateID, candidateToken := candidate.str("id"), candidate.str("token")
	awaitProjectors(c, cfg, companyID, company.str("consistency_token"))

	t.Run("the company is readable with its token", func(t *testing.T) {
		a := c.must(c.read("/v1/companies/"+companyID, "", company.str("consistency_token")), 200)
		if a.str("name") != companyName || a.str("website") != "https://acme.test" || a.body["open_jobs"].(float64) != 0 {
			t.Fatalf("company: %s", a.raw)
		}
	})

	// A job, unpaid: its owner sees it, nobody else does, search does not.
	word := uniqueWord()
	body := jobBody()
	body["title"] = "Staff Go Engineer " + word
	posted := c.must(c.do("POST", "/v1/jobs", employer, body), 201)
	jobID := posted.str("id")
	t.Run("an unpaid job is its owner's only", func(t *testing.T) {
		a := c.must(c.read("/v1/jobs/"+jobID, employer, posted.str("consistency_token")), 200)
		if a.str("status") != "awaiting_payment" || a.header.Get("ETag") == "" {
			t.Fatalf("owner's view: %v %s", a.header, a.raw)
		}
		c.must(c.read("/v1/jobs/"+jobID, "", posted.str("consistency_token")), 404)
		c.must(c.read("/v1/jobs/"+jobID, candidateToken, posted.str("consistency_token")), 404)
		a = c.must(c.read("/v1/jobs?q="+word, "", posted.str("consistency_token")), 200)
		if a.body["total"].(float64) != 0 {
			t.Fatalf("unpaid job in search: %s", a.raw)
		}
	})

	// Pay through stripe-mock and a signed webhook.
	pay := c.must(c.do("POST", "/v1/jobs/"+jobID+"/payments", employer, map[string]any{"plan": "featured"}), 201)
	hook := c.must(c.webhook(cfg.StripeWebhookSecret, "payment_intent.succeeded", map[string]any{
		"id": pay.str("payment_intent_id"), "object": "payment_intent", "status": "succeeded",
		"amount": pay.body["amount"], "amount_received": pay.body["amount"], "currency": strings.ToLower(pay.str("currency")),
		"metadata": map[string]string{"job_id": jobID, "payment_id": pay.str("payment_id")},
	}), 200)
	published := hook.str("consistency_token")
	if hook.str("outcome") != "applied" || published == "" {
		t.Fatalf("webhook: %s", hook.raw)
	}

	t.Run("search finds the published job, with facets", func(t *testing.T) {
		a := c.must(c.read("/v1/jobs?q="+word, "", published), 200)
		got := items(a)
		if a.body["total"].(float64) != 1 || len(got) != 1 || got[0]["id"] != jobID {
			t.Fatalf("search: %s", a.raw)
		}
		it := got[0]
		if it["featured"] != true || it["company"].(map[string]any)["name"] != companyName || it["published_at"] == nil || it["expires_at"] == nil {
			t.Fatalf("item: %v", it)
		}
		for _, f := range []struct{ name, value string }{
			{"tags", "go"}, {"tags", "postgres"}, {"employment_type", "full_time"}, {"seniority", "senior"}, {"regions", "EMEA"},
		} {
			if n := facet(a, f.name, f.value); n != 1 {
				t.Errorf("facet %s=%s: %d, want 1: %s", f.name, f.value, n, a.raw)
			}
		}
		// Typo tolerance, filters that keep it and one that does not.
		typo := word[:len(word)-1] + "x"
		if a := c.must(c.read("/v1/jobs?q=Enginer+"+typo, ""), 200); a.body["total"].(float64) != 1 {
			t.Errorf("typo search: %s", a.raw)
		}
		if a := c.must(c.read("/v1/jobs?q="+word+"&tags=go,postgres&remote=true&country=de&region=EMEA&employment_type=full_time&salary_min=9000000&currency=EUR&company_id="+companyID+"&sort=salary", ""), 200); a.body["total"].(float64) != 1 {
			t.Errorf("filtered search: %s", a.raw)
		}
		if a := c.must(c.read("/v1/jobs?q="+word+"&seniority=junior", ""), 200); a.body["total"].(float64) != 0 {
			t.Errorf("excluding filter: %s", a.raw)
		}
		if a := c.must(c.read("/v1/jobs/"+jobID, "", published), 200); a.str("status") != "published" || a.body["payment_status"] != nil {
			t.Errorf("public job view: %s", a.raw)
		}
		if a := c.must(c.read("/v1/companies/"+companyID, "", published), 200); a.body["open_jobs"].(float64) != 1 {
			t.Errorf("open jobs: %s", a.raw)
		}
	})

	// The candidate applies; the employer sees the application and moves it along.
	applied := c.must(c.do("POST", "/v1/jobs/"+jobID+"/applications", candidateToken, map[string]any{
		"resume_url": "https://cv.example.test/ada.pdf", "cover_letter": "I wrote the first program.",
	}), 201)
	applicationID := applied.str("id")

	t.Run("the employer lists the application", func(t *testing.T) {
		a := c.must(c.read("/v1/jobs/"+jobID+"/applications", employer, applied.str("consistency_token")), 200)
		got := items(a)
		if len(got) != 1 || got[0]["id"] != applicationID || got[0]["status"] != "submitted" ||
			got[0]["resume_url"] != "https://cv.example.test/ada.pdf" || got[0]["cover_letter"] != "I wrote the first program." {
			t.Fatalf("applications: %s", a.raw)
		}
		cand := got[0]["candidate"].(map[string]any)
		if cand["id"] != candidateID || cand["name"] != "Ada Lovelace" || cand["email"] == "" {
			t.Fatalf("candidate: %v", cand)
		}
		// Nobody else sees them.
		c.must(c.read("/v1/jobs/"+jobID+"/applications", candidateToken), 404)
		c.must(c.read("/v1/jobs/"+jobID+"/applications", ""), 401)
	})

	reviewing := c.must(c.do("POST", "/v1/applications/"+applicationID+"/status", employer, map[string]any{"status": "reviewing"}), 200)
	interviewing := c.must(c.do("POST", "/v1/applications/"+applicationID+"/status", employer, map[string]any{"status": "interviewing"},
		"If-Match", fmt.Sprint(reviewing.body["version"])), 200)

	t.Run("the candidate sees the new status", func(t *testing.T) {
		a := c.must(c.read("/v1/candidates/me/applications", candidateToken, interviewing.str("consistency_token")), 200)
		got := items(a)
		if len(got) != 1 || got[0]["id"] != applicationID || got[0]["status"] != "interviewing" {
			t.Fatalf("my applications: %s", a.raw)
		}
		job := got[0]["job"].(map[string]any)
		if job["id"] != jobID || job["title"] != "Staff Go Engineer "+word || job["company"].(map[string]any)["name"] != companyName {
			t.Fatalf("job of the application: %v", job)
		}
		a = c.must(c.read("/v1/jobs/"+jobID+"/applications?status=interviewing", employer, interviewing.str("consistency_token")), 200)
		if len(items(a)) != 1 {
			t.Fatalf("employer's filtered list: %s", a.raw)
		}
	})

	// The job is closed: it leaves search, and nobody can apply any more.
	closed := c.must(c.do("POST", "/v1/jobs/"+jobID+"/close", employer, nil), 200)

	t.Run("a closed job leaves search and refuses applications", func(t *testing.T) {
		a := c.must(c.read("/v1/jobs?q="+word, "", closed.str("consistency_token")), 200)
		if a.body["total"].(float64) != 0 || len(items(a)) != 0 {
			t.Fatalf("closed job still found: %s", a.raw)
		}
		c.must(c.read("/v1/jobs/"+jobID, "", closed.str("consistency_token")), 404)
		if a := c.must(c.read("/v1/jobs/"+jobID, employer, closed.str("consistency_token")), 200); a.str("status") != "closed" {
			t.Fatalf("owner's view of the closed job: %s", a.raw)
		}
		if a := c.must(c.read("/v1/companies/"+companyID+"/jobs", employer, closed.str("consistency_token")), 200); len(items(a)) != 1 || items(a)[0]["status"] != "closed" {
			t.Fatalf("owner's company jobs: %s", a.raw)
		}
		if a := c.must(c.read("/v1/companies/"+companyID+"/jobs", "", closed.str("consistency_token")), 200); len(items(a)) != 0 {
			t.Fatalf("public company jobs: %s", a.raw)
		}
		late := c.must(c.do("POST", "/v1/candidates", "", map[string]any{"name": "Late Comer", "email": uuid.NewString() + "@example.test"}), 201)
		c.must(c.do("POST", "/v1/jobs/"+jobID+"/applications", late.str("token"), map[string]any{"resume_url": "https://cv.example.test/late.pdf"}), 409)
	})
}

func TestSearchReadsItsOwnWritesFiftyTimesInARow(t *testing.T) {
	t.Parallel()
	cfg := wholeSystemConfig(t)
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	company := c.must(c.do("POST", "/v1/companies", "", map[string]any{"name": "Acme", "email": uuid.NewString() + "@acme.test"}), 201)
	employer := company.str("token")
	awaitProjectors(c, cfg, company.str("id"), company.str("consistency_token"))
	for i := range 50 {
		word := uniqueWord()
		jobID, token := postAndPay(c, cfg.StripeWebhookSecret, employer, "Backend Engineer "+word, "standard")
		// The first and only try: the token makes the query wait for the projection.
		a := c.must(c.read("/v1/jobs?q="+word, "", token), 200)
		if got := items(a); len(got) != 1 || got[0]["id"] != jobID {
			t.Fatalf("job %d of 50: search with its token did not find it: %s", i+1, a.raw)
		}
	}
}

func TestAConsistencyTokenThatCannotBeSatisfiedAnswers504(t *testing.T) {
	t.Parallel()
	cfg := wholeSystemConfig(t)
	const bound = 500 * time.Millisecond
	cfg.ConsistencyTimeout = bound
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	company := c.must(c.do("POST", "/v1/companies", "", map[string]any{"name": "Acme", "email": uuid.NewString() + "@acme.test"}), 201)
	companyID := company.str("id")
	// A token that can be satisfied is answered once the projection applied it. The bound
	// is short and a fresh app's projectors first join their consumer groups, so the first
	// tries may run out: a 504 is the client's cue to retry.
	for deadline := time.Now().Add(60 * time.Second); ; {
		a := c.read("/v1/companies/"+companyID, "", company.str("consistency_token"))
		if a.status == http.StatusOK {
			break
		}
		if a.status != http.StatusGatewayTimeout || time.Now().After(deadline) {
			t.Fatalf("satisfiable token: %d %s", a.status, a.raw)
		}
	}
	// Made with the server's key: the only way to get a token the server will wait on.
	signer, err := consistency.NewSigner([]byte(cfg.SigningKey))
	if err != nil {
		t.Fatal(err)
	}
	never := signer.Token(consistency.Position{StreamID: companyID, Version: 1_000_000})
	for _, path := range []string{"/v1/jobs", "/v1/companies/" + companyID} {
		t.Run(path, func(t *testing.T) {
			start := time.Now()
			a := c.read(path, "", never)
			took := time.Since(start)
			if a.status != http.StatusGatewayTimeout || a.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d %q, want 504 problem: %s", a.status, a.header.Get("Content-Type"), a.raw)
			}
			if took < bound || took > bound+time.Second {
				t.Fatalf("answered after %s, want about %s", took, bound)
			}
		})
	}
	t.Run("a malformed token is 400", func(t *testing.T) {
		a := c.must(c.read("/v1/jobs", "", "not-a-token"), 400)
		if !strings.Contains(a.raw, "X-Consistency-Token") {
			t.Fatalf("problem does not name the header: %s", a.raw)
		}
	})
}

func TestSearchBeforeTheProjectorsCreatedTheIndexIs503(t *testing.T) {
	t.Parallel()
	m := start(t, stackConfig(t)) // the API alone: no projector has created this index
	c := client{t: t, base: m.URL()}
	a := c.must(c.read("/v1/jobs", ""), http.StatusServiceUnavailable)
	if a.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("not a problem: %s", a.raw)
	}
}
