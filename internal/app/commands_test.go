package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"
)

// client talks to a running app the way an outside client does.
// client is the HTTP client of the tests and benchmarks of one running system.
type client struct {
	t    testing.TB
	base string
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (c client) do(method, path, token string, body any, headers ...string) answer {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) str(key string) string {
	s, _ := a.body[key].(string)
	return s
}

func (c client) must(a answer, status int) answer {
	c.t.Helper()
	if a.status != status {
		c.t.Fatalf("status %d, want %d: %s", a.status, status, a.raw)
	}
	return a
}

const operatorToken = "operator-token-for-tests"

func jobBody() map[string]any {
	return map[string]any{
		"title": "Senior Go Engineer", "description": "Build an event-sourced job marketplace with us.",
		"employment_type": "full_time", "seniority": "senior",
		"location": map[string]any{"remote": true, "regions": []string{"EMEA"}, "countries": []string{"DE"}},
		"salary":   map[string]any{"min": 8000000, "max": 10000000, "currency": "EUR", "period": "year"},
		"tags":     []string{"go", "postgres"},
	}
}

// registerCompany signs a company up and returns its id and token.
func registerCompany(c client) (string, string) {
	c.t.Helper()
	a := c.must(c.do("POST", "/v1/companies", "", map[string]any{"name": "Acme", "email": uuid.NewString() + "@acme.test"}), 201)
	return a.str("id"), a.str("token")
}

// signedWebhook is a Stripe event signed with stripe-go's own test helper.
func signedWebhook(t testing.TB, secret, eventType string, pi map[string]any) (payload []byte, header string) {
	t.Helper()
	obj, _ := json.Marshal(pi)
	ev := map[string]any{
		"id": "evt_" + strings.ReplaceAll(uuid.NewString(), "-", ""), "object": "event", "type": eventType,
		"api_version": stripe.APIVersion, "created": time.Now().Unix(),
		"data": map[string]any{"object": json.RawMessage(obj)},
	}
	payload, _ = json.Marshal(ev)
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret})
	return payload, sp.Header
}

// events reads GET /v1/admin/events until pred holds (the store answers in commit-safe
// order, so a just committed event may take a moment to become visible).
func events(c client, query string, pred func([]map[string]any) bool) []map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a := c.must(c.do("GET", "/v1/admin/events?"+query, operatorToken, nil), 200)
		var items []map[string]any
		for _, it := range a.body["items"].([]any) {
			items = append(items, it.(map[string]any))
		}
		if pred(items) || time.Now().After(deadline) {
			return items
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func countType(items []map[string]any, typ string) int {
	n := 0
	for _, it := range items {
		if it["type"] == typ {
			n++
		}
	}
	return n
}

func TestPayForListingEndToEnd(t *testing.T) {
	t.Parallel()
	cfg := stackConfig(t)
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}

	companyID, token := registerCompany(c)
	job := c.must(c.do("POST", "/v1/jobs", token, jobBody()), 201)
	jobID := job.str("id")
	if job.str("status") != "awaiting_payment" || job.str("consistency_token") == "" || job.body["version"] == nil {
		t.Fatalf("post job answer: %s", job.raw)
	}
	pay := c.must(c.do("POST", "/v1/jobs/"+jobID+"/payments", token, map[string]any{"plan": "featured"}), 201)
	for _, k := range []string{"payment_id", "payment_intent_id", "client_secret", "currency"} {
		if pay.str(k) == "" {
			t.Fatalf("payment answer lacks %s: %s", k, pay.raw)
		}
	}
	if pay.str("status") != "requires_payment" || pay.body["amount"].(float64) != 9900 {
		t.Fatalf("payment answer: %s", pay.raw)
	}

	pi := map[string]any{
		"id": pay.str("payment_intent_id"), "object": "payment_intent", "status": "succeeded",
		"amount": 9900, "amount_received": 9900, "currency": strings.ToLower(pay.str("currency")),
		"metadata": map[string]string{"job_id": jobID, "payment_id": pay.str("payment_id")},
	}
	payload, sig := signedWebhook(t, cfg.StripeWebhookSecret, "payment_intent.succeeded", pi)
	for range 2 { // the same event, delivered twice
		c.must(c.do(http.MethodPost, "/v1/stripe/webhook", "", payload, "Stripe-Signature", sig), 200)
	}

	items := events(c, "stream="+jobID, func(items []map[string]any) bool {
		return countType(items, "job.published") >= 1
	})
	if n := countType(items, "job.listing_paid"); n != 1 {
		t.Errorf("job.listing_paid events: %d, want 1", n)
	}
	if n := countType(items, "job.published"); n != 1 {
		t.Errorf("job.published events: %d, want 1", n)
	}
	for _, it := range items {
		if it["type"] == "job.published" {
			md := it["metadata"].(map[string]any)
			if md["actor"] == nil || !strings.Contains(fmt.Sprint(md["actor"]), "stripe") {
				t.Errorf("job.published metadata: %v", md)
			}
		}
	}
	_ = companyID
}

func TestStripeWebhookRefusesABadSignature(t *testing.T) {
	t.Parallel()
	cfg := stackConfig(t)
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	_, token := registerCompany(c)
	jobID := c.must(c.do("POST", "/v1/jobs", token, jobBody()), 201).str("id")
	pay := c.must(c.do("POST", "/v1/jobs/"+jobID+"/payments", token, map[string]any{"plan": "standard"}), 201)
	pi := map[string]any{"id": pay.str("payment_intent_id"), "object": "payment_intent", "amount": 4900, "amount_received": 4900,
		"currency": "eur", "metadata": map[string]string{"job_id": jobID, "payment_id": pay.str("payment_id")}}

	payload, _ := signedWebhook(t, "whsec_someone_else", "payment_intent.succeeded", pi)
	_, good := signedWebhook(t, cfg.StripeWebhookSecret, "payment_intent.succeeded", pi)
	for name, sig := range map[string]string{"missing": "", "wrong secret": webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: "whsec_x"}).Header, "of another payload": good} {
		a := c.do("POST", "/v1/stripe/webhook", "", payload, "Stripe-Signature", sig)
		if a.status != 400 || a.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s signature: %d %s", name, a.status, a.raw)
		}
	}
	items := events(c, "stream="+jobID, func([]map[string]any) bool { return false })
	if n := countType(items, "job.listing_paid"); n != 0 {
		t.Fatalf("a badly signed webhook appended %d job.listing_paid", n)
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	m := start(t, stackConfig(t))
	c := client{t: t, base: m.URL()}
	_, token := registerCompany(c)

	t.Run("a repeat returns the first answer and appends nothing", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		key := uuid.NewString()
		first := c.must(c.do("POST", "/v1/jobs", token, jobBody(), "Idempotency-Key", key), 201)
		second := c.must(c.do("POST", "/v1/jobs", token, jobBody(), "Idempotency-Key", key), 201)
		if first.raw != second.raw || second.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("first %s\nsecond %s", first.raw, second.raw)
		}
		withKey := func(items []map[string]any) int {
			n := 0
			for _, it := range items {
				if it["metadata"].(map[string]any)["idempotency_key"] == key {
					n++
				}
			}
			return n
		}
		items := events(c, "stream="+first.str("id"), func(items []map[string]any) bool { return withKey(items) > 0 })
		if n := withKey(items); n != 1 {
			t.Fatalf("%d events with the key, want 1", n)
		}
	})
	t.Run("the same key with another body is 422", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		key := uuid.NewString()
		c.must(c.do("POST", "/v1/jobs", token, jobBody(), "Idempotency-Key", key), 201)
		other := jobBody()
		other["title"] = "Another title"
		c.must(c.do("POST", "/v1/jobs", token, other, "Idempotency-Key", key), 422)
	})
	t.Run("keys are scoped by caller", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		_, other := registerCompany(c)
		key := uuid.NewString()
		a := c.must(c.do("POST", "/v1/jobs", token, jobBody(), "Idempotency-Key", key), 201)
		b := c.must(c.do("POST", "/v1/jobs", other, jobBody(), "Idempotency-Key", key), 201)
		if a.str("id") == b.str("id") {
			t.Fatal("two companies got the same job through one key")
		}
	})
	t.Run("concurrent repeats run the command once", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		key := uuid.NewString()
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			ids = map[string]int{}
			sts = map[int]int{}
		)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := c.do("POST", "/v1/jobs", token, jobBody(), "Idempotency-Key", key)
				mu.Lock()
				defer mu.Unlock()
				sts[a.status]++
				if a.status == 201 {
					ids[a.str("id")]++
				}
			}()
		}
		wg.Wait()
		if len(ids) != 1 || sts[201]+sts[409] != 10 {
			t.Fatalf("statuses %v, ids %v: want one job, 201 or 409 (still in progress) only", sts, ids)
		}
	})
}

func TestCommandRoutesRefuseClientMistakes(t *testing.T) {
	t.Parallel()
	m := start(t, stackConfig(t))
	c := client{t: t, base: m.URL()}
	_, token := registerCompany(c)
	_, candidate := func() (string, string) {
		a := c.must(c.do("POST", "/v1/candidates", "", map[string]any{"name": "Ada", "email": uuid.NewString() + "@cand.test"}), 201)
		return a.str("id"), a.str("token")
	}()

	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
		field                     string
	}{
		{"no token", "POST", "/v1/jobs", "", jobBody(), 401, ""},
		{"an unknown token", "POST", "/v1/jobs", "jbc_nope", jobBody(), 401, ""},
		{"a candidate posting a job", "POST", "/v1/jobs", candidate, jobBody(), 403, ""},
		{"an employer reading the raw history", "GET", "/v1/admin/events", token, nil, 403, ""},
		{"malformed JSON", "POST", "/v1/jobs", token, `{"title": `, 400, "body"},
		{"an unknown field", "POST", "/v1/jobs", token, `{"title":"x","bogus":1}`, 400, "bogus"},
		{"a wrong type", "POST", "/v1/jobs", token, `{"salary":{"min":"lots"}}`, 400, "salary.min"},
		{"a body over 1 MiB", "POST", "/v1/jobs", token, `{"title":"` + strings.Repeat("x", 1<<20) + `"}`, 413, ""},
		{"invalid fields, listed", "POST", "/v1/jobs", token, map[string]any{"title": "x", "description": "short", "employment_type": "gig", "seniority": "mid", "location": map[string]any{}}, 400, "employment_type"},
		{"an unknown plan", "POST", "/v1/jobs/" + uuid.NewString() + "/payments", token, map[string]any{"plan": "gold"}, 400, "plan"},
		{"someone else's job", "POST", "/v1/jobs/" + uuid.NewString() + "/close", token, nil, 404, ""},
		{"a bad If-Match", "PATCH", "/v1/jobs/" + uuid.NewString(), token, map[string]any{"title": "New title"}, 400, "If-Match"},
		{"a bad after", "GET", "/v1/admin/events?after=x&limit=5000", operatorToken, nil, 400, "after"},
	}
	for _, tc := range cases {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			c := client{t: t, base: m.URL()}
			var hdr []string
			if tc.name == "a bad If-Match" {
				hdr = []string{"If-Match", "soon"}
			}
			a := c.do(tc.method, tc.path, tc.token, tc.body, hdr...)
			if a.status != tc.status || a.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %s: %s", a.status, a.header.Get("Content-Type"), a.raw)
			}
			if tc.field != "" && !strings.Contains(a.raw, `"field":"`+tc.field+`"`) {
				t.Fatalf("the problem does not name %s: %s", tc.field, a.raw)
			}
		})
	}
}
