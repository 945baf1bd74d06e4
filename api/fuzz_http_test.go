package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/readmodels"
)

const fuzzOperatorToken = "operator-token-for-fuzzing"

// FuzzHTTP sends random methods, paths, bodies and headers through the whole handler stack
// of a running app (real router, PostgreSQL, stripe-mock) and asserts it never panics and
// never answers 5xx. Paths are picked from the real routes with real ids substituted, or
// taken raw; tokens are none, garbage, or a real employer's, candidate's or operator's.
func FuzzHTTP(f *testing.F) {
	cfg := app.Config{
		DatabaseURL: testenv.NewDatabase(f), KafkaBrokers: testenv.KafkaBrokers(f), ElasticsearchURL: testenv.ElasticsearchURL(f),
		StripeAPIBase: testenv.StripeAPIBase(f), StripeSecretKey: "sk_test_123", StripeWebhookSecret: "whsec_test",
		HTTPAddr: "127.0.0.1:0", OperatorToken: fuzzOperatorToken, SigningKey: "signing-key-for-fuzzing-0123456789abcdef", LogLevel: "error",
		ShutdownTimeout: 5 * time.Second, ReadinessTimeout: 2 * time.Second,
		Roles: []string{app.RoleAPI}, KafkaTopicPrefix: "fuzz.", KafkaPartitions: 1, ExpiryInterval: time.Minute,
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

	post := func(path, token, body string) map[string]any {
		req, _ := http.NewRequest("POST", m.URL()+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := hc.Do(req)
		if err != nil {
			f.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		if res.StatusCode >= 300 {
			f.Fatalf("setup %s: %d %v", path, res.StatusCode, out)
		}
		return out
	}
	employer := post("/v1/companies", "", `{"name":"Fuzz Inc","email":"fuzz@company.test"}`)["token"].(string)
	candidate := post("/v1/candidates", "", `{"name":"Fuzz","email":"fuzz@candidate.test"}`)["token"].(string)
	jobID := post("/v1/jobs", employer, `{"title":"Fuzzed job","description":"A job that the fuzzer pokes at.","employment_type":"contract","seniority":"mid","location":{"remote":true}}`)["id"].(string)
	tokens := []string{"", "garbage", employer, candidate, fuzzOperatorToken}
	templates := []string{
		"/v1/companies", "/v1/candidates", "/v1/jobs", "/v1/jobs/{job}", "/v1/jobs/{job}/payments", "/v1/jobs/{job}/close",
		"/v1/jobs/{job}/applications", "/v1/applications/{app}/withdraw", "/v1/applications/{app}/status",
		"/v1/stripe/webhook", "/v1/admin/events", "/v1/openapi.json", "/healthz",
	}
	methods := []string{"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"}

	f.Add(uint8(1), uint8(2), "", []byte(`{"title":"x"}`), uint8(2), "", "")
	f.Add(uint8(2), uint8(3), "", []byte(`{"title":"A renamed job"}`), uint8(2), "1", "")
	f.Add(uint8(1), uint8(4), "", []byte(`{"plan":"standard"}`), uint8(2), "", "k1")
	f.Add(uint8(1), uint8(6), "", []byte(`{"resume_url":"https://cv.test/x.pdf"}`), uint8(3), "", "")
	f.Add(uint8(0), uint8(10), "?after=0&limit=5&type=job.posted", []byte(nil), uint8(4), "", "")
	f.Add(uint8(0), uint8(10), "?after=-1&since=yesterday", []byte(nil), uint8(4), "", "")
	f.Add(uint8(1), uint8(9), "", []byte(`{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}`), uint8(0), "", "")
	f.Add(uint8(1), uint8(0), "", []byte(`{"name":"Acme","email":"a@b.c","bogus":true}`), uint8(0), "", "key")
	f.Add(uint8(1), uint8(200), "/v1/jobs/%00/close", []byte(`{}`), uint8(2), "", "")
	f.Add(uint8(1), uint8(5), "", []byte(`{"x":1}`), uint8(2), "\"0\"", "\x01")

	f.Fuzz(func(t *testing.T, method, route uint8, path string, body []byte, token uint8, ifMatch, idemKey string) {
		if int(route) < len(templates) {
			path = strings.NewReplacer("{job}", jobID, "{app}", jobID).Replace(templates[route]) + path
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
		for name, v := range map[string]string{"If-Match": ifMatch, "Idempotency-Key": idemKey} {
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
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s (body %q) = %d %s", req.Method, path, body, res.StatusCode, b)
		}
	})
}
