package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/consistency"
)

// TestConsistencyTokensOnTheRealStack runs the whole system with a consistency bound of 5 s,
// a fallback poll of 10 minutes (a wait that ends before the bound was woken by the
// projectors' notification) and room for one waiting query.
func TestConsistencyTokensOnTheRealStack(t *testing.T) {
	t.Parallel()
	cfg := wholeSystemConfig(t)
	const bound = 5 * time.Second
	cfg.ConsistencyTimeout = bound
	cfg.ConsistencyPollInterval = 10 * time.Minute
	cfg.ConsistencyMaxWaiters = 1
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	signer, err := consistency.NewSigner([]byte(cfg.SigningKey))
	if err != nil {
		t.Fatal(err)
	}

	company := c.must(c.do("POST", "/v1/companies", "", map[string]any{"name": "Acme", "email": uuid.NewString() + "@acme.test"}), 201)
	companyID, employer := company.str("id"), company.str("token")
	awaitProjectors(c, cfg, companyID, company.str("consistency_token"))
	other := c.must(c.do("POST", "/v1/companies", "", map[string]any{"name": "Other", "email": uuid.NewString() + "@other.test"}), 201)
	otherToken := other.str("token")
	// pending names a write of the other company that never comes: a query that waited on
	// it would answer 504 after the bound.
	pending := signer.Token(consistency.Position{StreamID: other.str("id"), Version: 1_000_000})

	posted := c.must(c.do("POST", "/v1/jobs", employer, jobBody()), 201)
	jobID := posted.str("id")

	t.Run("a wait is woken by the projectors' notification, not the poll", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		start := time.Now()
		a := c.must(c.read("/v1/jobs/"+jobID, employer, posted.str("consistency_token")), 200)
		if a.str("id") != jobID || time.Since(start) >= bound {
			t.Fatalf("read-your-writes after %s: %s", time.Since(start), a.raw)
		}
		// Tokens of several commands merge (comma-separated in one header).
		updated := c.must(c.do("PATCH", "/v1/jobs/"+jobID, employer, map[string]any{"title": "Staff Engineer"}), 200)
		a = c.must(c.read("/v1/jobs/"+jobID, employer, posted.str("consistency_token"), updated.str("consistency_token")), 200)
		if a.str("title") != "Staff Engineer" {
			t.Fatalf("merged tokens did not wait for the update: %s", a.raw)
		}
	})

	// Read-your-writes waits for what the projection will ever apply: a position of a stream
	// type its projector never consumes holds at once (it answered 504 after the bound).
	t.Run("a token of a stream type the projection never consumes answers at once", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		cand := c.must(c.do("POST", "/v1/candidates", "", map[string]any{"name": "Ada", "email": uuid.NewString() + "@ada.test"}), 201)
		candidate := cand.str("token")
		alert := c.must(c.do("POST", "/v1/candidates/me/alerts", candidate, map[string]any{"q": "go", "frequency": "daily"}), 201)
		// Tokens of writes that never come: only their stream types differ.
		neverJob := signer.Token(consistency.Position{StreamID: jobID, StreamType: domain.StreamTypeJob, Version: 1_000_000})
		neverAlert := signer.Token(consistency.Position{StreamID: alert.str("id"), StreamType: domain.StreamTypeAlert, Version: 1_000_000})
		for _, tc := range []struct{ name, path, token, consistencyToken string }{
			{"a job's token on the alerts", "/v1/candidates/me/alerts", candidate, posted.str("consistency_token")},
			{"a never-written job version on the alerts", "/v1/candidates/me/alerts", candidate, neverJob},
			{"an alert's token on the search", "/v1/jobs", "", alert.str("consistency_token")},
			{"a never-written alert version on the search", "/v1/jobs", "", neverAlert},
			{"an alert's token on a job", "/v1/jobs/" + jobID, employer, neverAlert},
		} {
			start := time.Now()
			a := c.read(tc.path, tc.token, tc.consistencyToken)
			if took := time.Since(start); a.status != http.StatusOK || took > time.Second {
				t.Errorf("%s: %d after %s, want 200 at once: %s", tc.name, a.status, took, a.raw)
			}
		}
		// The projection's own stream type still waits: until applied, or to the bound.
		list := c.must(c.read("/v1/candidates/me/alerts", candidate, alert.str("consistency_token"), posted.str("consistency_token")), 200)
		if !strings.Contains(list.raw, alert.str("id")) {
			t.Errorf("the alert's token did not wait for the alert: %s", list.raw)
		}
		start := time.Now()
		c.must(c.read("/v1/candidates/me/alerts", candidate, neverAlert), http.StatusGatewayTimeout)
		if took := time.Since(start); took < bound {
			t.Errorf("504 after %s, before the bound %s", took, bound)
		}
	})

	t.Run("a token the server did not sign is 400 naming the header, never 500", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		good := posted.str("consistency_token")
		foreign, err := consistency.NewSigner([]byte("another-deployment-signing-key-0123456789"))
		if err != nil {
			t.Fatal(err)
		}
		bad := map[string]string{
			"malformed":          "not-a-token",
			"unsigned (before)":  "djE6MTph",
			"foreign key":        foreign.Token(consistency.Position{StreamID: jobID, Version: 1}),
			"oversized":          strings.Repeat("A", consistency.MaxTokenLen+1),
			"too many tokens":    strings.TrimSuffix(strings.Repeat(good+",", 33), ","),
			"signature stripped": strings.SplitN(good, ".", 2)[0],
		}
		// One character changed, anywhere: it answered 500 when tokens were unsigned.
		for _, i := range []int{0, len(good) / 3, len(good) / 2, len(good) - 1} {
			b := []byte(good)
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			bad[fmt.Sprintf("changed at %d", i)] = string(b)
		}
		for name, token := range bad {
			for _, path := range []string{"/v1/jobs", "/v1/jobs/" + jobID, "/v1/companies/" + companyID} {
				a := c.read(path, "", token)
				if a.status != http.StatusBadRequest || !strings.Contains(a.raw, `"X-Consistency-Token"`) {
					t.Errorf("%s on %s: %d %s", name, path, a.status, a.raw)
				}
			}
		}
	})

	t.Run("another account's or a missing resource is 404 at once, whatever the tokens", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		for _, tc := range []struct{ name, path, token, consistencyToken string }{
			{"another company's job applications, with the owner's token", "/v1/jobs/" + jobID + "/applications", otherToken, posted.str("consistency_token")},
			{"another company's job applications", "/v1/jobs/" + jobID + "/applications", otherToken, pending},
			{"another company's unpaid job", "/v1/jobs/" + jobID, otherToken, pending},
			{"an anonymous read of an unpaid job", "/v1/jobs/" + jobID, "", pending},
			{"a missing job", "/v1/jobs/" + uuid.NewString(), otherToken, pending},
			{"a missing job's applications", "/v1/jobs/" + uuid.NewString() + "/applications", otherToken, pending},
			{"a missing company", "/v1/companies/" + uuid.NewString(), "", pending},
			{"a missing company's jobs", "/v1/companies/" + uuid.NewString() + "/jobs", "", pending},
		} {
			start := time.Now()
			a := c.read(tc.path, tc.token, tc.consistencyToken)
			if took := time.Since(start); a.status != http.StatusNotFound || took > time.Second {
				t.Errorf("%s: %d after %s, want 404 at once: %s", tc.name, a.status, took, a.raw)
			}
		}
		start := time.Now()
		c.must(c.read("/v1/candidates/me/applications", "", pending), 401)
		if took := time.Since(start); took > time.Second {
			t.Errorf("401 after %s", took)
		}
	})

	t.Run("past the cap of waiting queries, 503 with Retry-After", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		first := make(chan int, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodGet, m.URL()+"/v1/companies/"+other.str("id"), nil)
			req.Header.Set("X-Consistency-Token", pending)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				first <- 0
				return
			}
			res.Body.Close()
			first <- res.StatusCode
		}()
		time.Sleep(500 * time.Millisecond) // the first query is waiting
		a := c.read("/v1/companies/"+other.str("id"), "", pending)
		if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" || a.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("second waiter: %d Retry-After %q: %s", a.status, a.header.Get("Retry-After"), a.raw)
		}
		if got := <-first; got != http.StatusGatewayTimeout {
			t.Errorf("first waiter: %d, want 504", got)
		}
		// A query whose token is applied already does not wait, so it needs no place.
		c.must(c.read("/v1/companies/"+companyID, "", company.str("consistency_token")), 200)
	})

	t.Run("another company's If-Match is the same 404 as a missing job", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		foreign := c.must(c.do("PATCH", "/v1/jobs/"+jobID, otherToken, map[string]any{"title": "Mine now"}, "If-Match", `"1"`), 404)
		missing := c.must(c.do("PATCH", "/v1/jobs/"+uuid.NewString(), otherToken, map[string]any{"title": "Mine now"}, "If-Match", `"1"`), 404)
		for _, k := range []string{"type", "title", "status", "detail"} {
			if foreign.body[k] != missing.body[k] {
				t.Errorf("%s: %v for another's job, %v for a missing one", k, foreign.body[k], missing.body[k])
			}
		}
		c.must(c.do("POST", "/v1/jobs/"+jobID+"/close", otherToken, nil, "If-Match", `"1"`), 404)
		c.must(c.do("POST", "/v1/jobs/"+jobID+"/payments", otherToken, map[string]any{"plan": "standard"}, "If-Match", `"1"`), 404)
		// The owner's stale If-Match is still a conflict.
		c.must(c.do("PATCH", "/v1/jobs/"+jobID, employer, map[string]any{"title": "Mine now"}, "If-Match", `"1"`), 409)
	})
}
