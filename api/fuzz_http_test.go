package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/readmodels"
)

const fuzzOperatorToken = "operator-token-for-fuzzing"

// FuzzHTTP sends random methods, paths, bodies and headers through the whole handler stack
// of a running app (real router, PostgreSQL, Kafka, projectors, Elasticsearch, stripe-mock)
// and asserts it never panics and never answers 5xx. Paths are picked from the real routes
// with real ids substituted, or taken raw; tokens are none, garbage, or a real employer's,
// candidate's or operator's; If-Match, Idempotency-Key, X-Consistency-Token and the cursor
// query parameter are fuzzed, seeded with real ones the server issued. The one 5xx allowed is
// a 504 to a consistency token sent exactly as the server issued it (a projection may lag);
// a token the server did not issue must never make a query wait.
func FuzzHTTP(f *testing.F) {
	cfg := app.Config{
		DatabaseURL: testenv.NewDatabase(f), KafkaBrokers: testenv.KafkaBrokers(f), ElasticsearchURL: testenv.ElasticsearchURL(f),
		StripeAPIBase: testenv.StripeAPIBase(f), StripeSecretKey: "sk_test_123", StripeWebhookSecret: "whsec_test",
		HTTPAddr: "127.0.0.1:0", OperatorToken: fuzzOperatorToken, SigningKey: "signing-key-for-fuzzing-0123456789abcdef", LogLevel: "error",
		ShutdownTimeout: 5 * time.Second, ReadinessTimeout: 2 * time.Second, ConsistencyTimeout: 2 * time.Second,
		// The relay and projectors run too, so queries find data and hand out real cursors.
		Roles:            []string{app.RoleAPI, app.RoleRelay, app.RoleProjectors},
		KafkaTopicPrefix: "fuzz-" + testenv.RandomSuffix() + ".", KafkaPartitions: 1, ExpiryInterval: time.Minute,
		ElasticsearchIndexPrefix: "fuzz-" + testenv.RandomSuffix() + "-",
	}
	// The search index exists, as in any running system (the projectors role creates it);
	// without it search answers 503 by design, which is not what this target explores.
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{cfg.ElasticsearchURL}})
	if err != nil {
		f.Fatal(err)
	}
	if err := readmodels.EnsureSearchIndex(context.Background(), es, cfg.SearchIndexPrefix()+"-v1", cfg.SearchAlias(), readmodels.IndexSettings{}); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = readmodels.DeleteIndex(context.Background(), es, cfg.SearchIndexPrefix()+"-v1") })
	m, err := app.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		f.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = m.Close() })
	hc := &http.Client{Timeout: 30 * time.Second}

	call := func(method, path, token, body string, headers ...string) map[string]any {
		req, _ := http.NewRequest(method, m.URL()+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := hc.Do(req)
		if err != nil {
			f.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		if res.StatusCode >= 300 && res.StatusCode != http.StatusGatewayTimeout {
			f.Fatalf("setup %s %s: %d %v", method, path, res.StatusCode, out)
		}
		return out
	}
	post := func(path, token, body string) map[string]any { return call("POST", path, token, body) }
	company := post("/v1/companies", "", `{"name":"Fuzz Inc","email":"fuzz@company.test"}`)
	employer, companyID := company["token"].(string), company["id"].(string)
	candidate := post("/v1/candidates", "", `{"name":"Fuzz","email":"fuzz@candidate.test"}`)["token"].(string)
	candidate2 := post("/v1/candidates", "", `{"name":"Fuzz Two","email":"fuzz2@candidate.test"}`)["token"].(string)
	const job = `{"title":"Fuzzed job","description":"A job that the fuzzer pokes at.","employment_type":"contract","seniority":"mid","location":{"remote":true}}`
	jobID := post("/v1/jobs", employer, job)["id"].(string)
	// Two paid jobs with two applications: every list has a second page, so its first
	// page's next_cursor is a real cursor to seed with.
	var consistencyTokens []string
	for i := 0; i < 2; i++ {
		id := post("/v1/jobs", employer, job)["id"].(string)
		pay := post("/v1/jobs/"+id+"/payments", employer, `{"plan":"standard"}`)
		pi, _ := json.Marshal(map[string]any{
			"id": pay["payment_intent_id"], "object": "payment_intent", "status": "succeeded", "amount": pay["amount"], "amount_received": pay["amount"],
			"currency": strings.ToLower(pay["currency"].(string)), "metadata": map[string]any{"job_id": id, "payment_id": pay["payment_id"]},
		})
		event, _ := json.Marshal(map[string]any{"id": "evt_fuzz_" + testenv.RandomSuffix(), "object": "event", "type": "payment_intent.succeeded",
			"api_version": stripe.APIVersion, "created": time.Now().Unix(), "data": map[string]any{"object": json.RawMessage(pi)}})
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: event, Secret: cfg.StripeWebhookSecret})
		consistencyTokens = append(consistencyTokens, call("POST", "/v1/stripe/webhook", "", string(signed.Payload), "Stripe-Signature", signed.Header)["consistency_token"].(string))
		if i == 0 {
			jobID = id
		}
	}
	appID := post("/v1/jobs/"+jobID+"/applications", candidate, `{"resume_url":"https://cv.test/1.pdf"}`)["id"].(string)
	applied := post("/v1/jobs/"+jobID+"/applications", candidate2, `{"resume_url":"https://cv.test/2.pdf"}`)
	consistencyTokens = append(consistencyTokens, applied["consistency_token"].(string))
	// The company's registration too: its jobs' list answers 404 until the company is read,
	// and its events may be applied after its jobs' (another partition).
	consistencyTokens = append(consistencyTokens, company["consistency_token"].(string))
	var cursors []string
	for _, q := range []struct{ path, token string }{
		{"/v1/jobs?limit=1", ""}, {"/v1/companies/" + companyID + "/jobs?limit=1", employer}, {"/v1/jobs/" + jobID + "/applications?limit=1", employer},
	} {
		// A fresh system's projectors take a while to join their consumer groups: 504 is the
		// cue to ask again.
		var page map[string]any
		for deadline := time.Now().Add(2 * time.Minute); page == nil; {
			page = call("GET", q.path, q.token, "", "X-Consistency-Token", strings.Join(consistencyTokens, ","))
			if page["status"] == float64(http.StatusGatewayTimeout) && time.Now().Before(deadline) {
				page = nil
			}
		}
		if c, _ := page["next_cursor"].(string); c != "" {
			cursors = append(cursors, c)
		} else {
			f.Fatalf("setup %s: no next_cursor: %v", q.path, page)
		}
	}
	// Seeds name the real tokens and cursors as {token0}, {cursor1}, … ({token0~}: with its
	// last character changed), replaced at each run: every fuzzing process sets up its own
	// system, whose values differ from the ones of the process that added the seeds.
	issued := map[string]bool{}
	var real []string
	for kind, values := range map[string][]string{"token": consistencyTokens, "cursor": cursors} {
		for i, v := range values {
			changed := v[:len(v)-1] + "A"
			if v[len(v)-1] == 'A' {
				changed = v[:len(v)-1] + "B"
			}
			real = append(real, fmt.Sprintf("{%s%d}", kind, i), v, fmt.Sprintf("{%s%d~}", kind, i), changed)
			if kind == "token" {
				issued[v] = true
			}
		}
	}
	realValues := strings.NewReplacer(real...)
	tokens := []string{"", "garbage", employer, candidate, fuzzOperatorToken}
	templates := []string{
		"/v1/companies", "/v1/candidates", "/v1/jobs", "/v1/jobs/{job}", "/v1/jobs/{job}/payments", "/v1/jobs/{job}/close",
		"/v1/jobs/{job}/applications", "/v1/applications/{app}/withdraw", "/v1/applications/{app}/status",
		"/v1/stripe/webhook", "/v1/admin/events", "/v1/openapi.json", "/healthz",
		"/v1/companies/{company}", "/v1/companies/{company}/jobs", "/v1/candidates/me/applications",
	}
	methods := []string{"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"}

	f.Add(uint8(1), uint8(2), "", []byte(`{"title":"x"}`), uint8(2), "", "", "", "")
	f.Add(uint8(2), uint8(3), "", []byte(`{"title":"A renamed job"}`), uint8(2), "1", "", "", "")
	f.Add(uint8(1), uint8(4), "", []byte(`{"plan":"standard"}`), uint8(2), "", "k1", "", "")
	f.Add(uint8(1), uint8(6), "", []byte(`{"resume_url":"https://cv.test/x.pdf"}`), uint8(3), "", "", "", "")
	f.Add(uint8(0), uint8(10), "?after=0&limit=5&type=job.posted", []byte(nil), uint8(4), "", "", "", "")
	f.Add(uint8(0), uint8(10), "?after=-1&since=yesterday", []byte(nil), uint8(4), "", "", "", "")
	f.Add(uint8(1), uint8(9), "", []byte(`{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}`), uint8(0), "", "", "", "")
	f.Add(uint8(1), uint8(0), "", []byte(`{"name":"Acme","email":"a@b.c","bogus":true}`), uint8(0), "", "key", "", "")
	f.Add(uint8(1), uint8(200), "/v1/jobs/%00/close", []byte(`{}`), uint8(2), "", "", "", "")
	f.Add(uint8(1), uint8(5), "", []byte(`{"x":1}`), uint8(2), "\"0\"", "\x01", "", "")
	// Headers and cursors: real ones, real ones changed, forged and oversized ones.
	f.Add(uint8(2), uint8(3), "", []byte(`{"title":"A renamed job"}`), uint8(2), `W/"3"`, "", "", "")
	f.Add(uint8(2), uint8(3), "", []byte(`{"title":"A renamed job"}`), uint8(1), "99", "", "", "")
	f.Add(uint8(1), uint8(0), "", []byte(`{"name":"Acme","email":"k@b.c"}`), uint8(0), "", strings.Repeat("k", 300), "", "")
	f.Add(uint8(0), uint8(2), "?q=go", []byte(nil), uint8(0), "", "", "", "%%%x")
	f.Add(uint8(0), uint8(14), "?status=published", []byte(nil), uint8(2), "", "", "", "not-a-cursor")
	f.Add(uint8(0), uint8(15), "", []byte(nil), uint8(3), "", "", strings.Repeat("A", 5000), "")
	f.Add(uint8(0), uint8(13), "", []byte(nil), uint8(0), "", "", "v1.99999999999", "")
	for i := range consistencyTokens {
		tok := fmt.Sprintf("{token%d}", i)
		f.Add(uint8(0), uint8(3), "", []byte(nil), uint8(0), "", "", tok, "")
		f.Add(uint8(0), uint8(13), "", []byte(nil), uint8(2), "", "", fmt.Sprintf("{token%d~}", i), "")
		f.Add(uint8(0), uint8(2), "", []byte(nil), uint8(0), "", "", tok+","+tok+"x", "")
	}
	for i, route := range []uint8{2, 14, 6} {
		cur := fmt.Sprintf("{cursor%d}", i)
		f.Add(uint8(0), route, "?limit=1", []byte(nil), uint8(2), "", "", "", cur)
		f.Add(uint8(0), route, "?limit=1", []byte(nil), uint8(2), "", "", "", fmt.Sprintf("{cursor%d~}", i))
		f.Add(uint8(0), route+1, "", []byte(nil), uint8(3), "", "", "", cur)
	}

	f.Fuzz(func(t *testing.T, method, route uint8, path string, body []byte, token uint8, ifMatch, idemKey, consistencyToken, cursor string) {
		if int(route) < len(templates) {
			path = strings.NewReplacer("{job}", jobID, "{app}", appID, "{company}", companyID).Replace(templates[route]) + path
		}
		consistencyToken, cursor = realValues.Replace(consistencyToken), realValues.Replace(cursor)
		if cursor != "" {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			// Half the time raw (bad percent-encoding included), else as a client encodes it.
			if len(cursor)%2 == 0 {
				path += sep + "cursor=" + cursor
			} else {
				path += sep + "cursor=" + url.QueryEscape(cursor)
			}
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		u, err := url.Parse(m.URL() + path)
		if err != nil {
			return // not a request a client can send
		}
		req, err := http.NewRequest(methods[int(method)%len(methods)], u.String(), bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		if tok := tokens[int(token)%len(tokens)]; tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		for name, v := range map[string]string{"If-Match": ifMatch, "Idempotency-Key": idemKey, "X-Consistency-Token": consistencyToken} {
			if v != "" && !strings.ContainsAny(v, "\r\n\x00") {
				req.Header.Set(name, v)
			}
		}
		res, err := hc.Do(req)
		if err != nil {
			if strings.Contains(err.Error(), "invalid header") || strings.Contains(err.Error(), "invalid method") {
				return
			}
			t.Fatalf("%s %s: %v", req.Method, path, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusGatewayTimeout && issued[req.Header.Get("X-Consistency-Token")] {
			return // a real token whose projection lags: the wait's deliberate bound
		}
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s (body %q) = %d %s", req.Method, path, body, res.StatusCode, b)
		}
	})
}
