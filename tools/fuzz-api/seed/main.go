// Command seed gives the schemathesis run of `make fuzz-api` (tools/fuzz-api/run.sh) real
// resources to aim at: a company with a paid, published job (paid through stripe-mock and a
// webhook signed with stripe-go's own helper, so the event's API version always matches), a
// candidate who applied to it, and a second, unpaid job. It prints them as shell variables.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"
)

func main() {
	base := flag.String("url", "", "base URL of the running server")
	secret := flag.String("webhook-secret", "", "STRIPE_WEBHOOK_SECRET of the server")
	flag.Parse()
	if err := seed(*base, *secret); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

type seeder struct {
	base string
	hc   *http.Client
}

// call sends a JSON request and decodes the answer, which must have the wanted status.
func (s seeder) call(method, path, token string, body any, want int, headers ...string) (map[string]any, error) {
	var b []byte
	switch v := body.(type) {
	case nil:
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequest(method, s.base+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := s.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return out, nil
}

func str(m map[string]any, key string) string { s, _ := m[key].(string); return s }

func seed(base, secret string) error {
	if base == "" || secret == "" {
		return errors.New("-url and -webhook-secret are required")
	}
	s := seeder{base: strings.TrimRight(base, "/"), hc: &http.Client{Timeout: 30 * time.Second}}
	company, err := s.call("POST", "/v1/companies", "", map[string]any{"name": "Fuzz Inc", "email": uuid.NewString() + "@fuzz.test", "website": "https://fuzz.test"}, 201)
	if err != nil {
		return err
	}
	candidate, err := s.call("POST", "/v1/candidates", "", map[string]any{"name": "Fuzz Candidate", "email": uuid.NewString() + "@fuzz.test"}, 201)
	if err != nil {
		return err
	}
	// An account of its own for POST /v1/tokens/rotate: its first rotation retires the token
	// the run was given, which must not be one the other routes use.
	rotator, err := s.call("POST", "/v1/candidates", "", map[string]any{"name": "Fuzz Rotator", "email": uuid.NewString() + "@fuzz.test"}, 201)
	if err != nil {
		return err
	}
	employer := str(company, "token")
	job := map[string]any{
		"title": "Senior Go Engineer", "description": "Build an event-sourced job marketplace with us.",
		"employment_type": "full_time", "seniority": "senior",
		"location": map[string]any{"remote": true, "regions": []string{"EMEA"}, "countries": []string{"DE"}},
		"salary":   map[string]any{"min": 8000000, "max": 10000000, "currency": "EUR", "period": "year"},
		"tags":     []string{"go", "postgres"},
	}
	posted, err := s.call("POST", "/v1/jobs", employer, job, 201)
	if err != nil {
		return err
	}
	jobID := str(posted, "id")
	pay, err := s.call("POST", "/v1/jobs/"+jobID+"/payments", employer, map[string]any{"plan": "standard"}, 201)
	if err != nil {
		return err
	}
	pi, _ := json.Marshal(map[string]any{
		"id": str(pay, "payment_intent_id"), "object": "payment_intent", "status": "succeeded",
		"amount": pay["amount"], "amount_received": pay["amount"], "currency": strings.ToLower(str(pay, "currency")),
		"metadata": map[string]string{"job_id": jobID, "payment_id": str(pay, "payment_id")},
	})
	event, _ := json.Marshal(map[string]any{
		"id": "evt_" + strings.ReplaceAll(uuid.NewString(), "-", ""), "object": "event", "type": "payment_intent.succeeded",
		"api_version": stripe.APIVersion, "created": time.Now().Unix(), "data": map[string]any{"object": json.RawMessage(pi)},
	})
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: event, Secret: secret})
	hook, err := s.call("POST", "/v1/stripe/webhook", "", signed.Payload, 200, "Stripe-Signature", signed.Header)
	if err != nil {
		return err
	}
	if str(hook, "outcome") != "applied" {
		return fmt.Errorf("webhook not applied: %v", hook)
	}
	applied, err := s.call("POST", "/v1/jobs/"+jobID+"/applications", str(candidate, "token"), map[string]any{"resume_url": "https://cv.fuzz.test/ada.pdf", "cover_letter": "Hello"}, 201)
	if err != nil {
		return err
	}
	unpaid, err := s.call("POST", "/v1/jobs", employer, job, 201)
	if err != nil {
		return err
	}
	// The projections serve the queries: wait until they applied the application and the
	// second job, so the run starts from a settled board (504 is the cue to ask again; so is
	// 404, as a token names the events of one stream and the job may be projected later).
	for _, q := range []struct{ path, token string }{
		{"/v1/jobs/" + jobID + "/applications", str(applied, "consistency_token")}, {"/v1/jobs/" + str(unpaid, "id"), str(unpaid, "consistency_token")},
	} {
		for deadline := time.Now().Add(2 * time.Minute); ; {
			_, err := s.call("GET", q.path, employer, nil, 200, "X-Consistency-Token", q.token)
			if err == nil {
				break
			}
			retry := strings.Contains(err.Error(), ": 504,") || strings.Contains(err.Error(), ": 404,")
			if !retry || time.Now().After(deadline) {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for name, v := range map[string]string{
		"FUZZ_EMPLOYER_TOKEN": employer, "FUZZ_COMPANY_ID": str(company, "id"),
		"FUZZ_CANDIDATE_TOKEN": str(candidate, "token"), "FUZZ_CANDIDATE_ID": str(candidate, "id"),
		"FUZZ_JOB_ID": jobID, "FUZZ_UNPAID_JOB_ID": str(unpaid, "id"), "FUZZ_APPLICATION_ID": str(applied, "id"),
		"FUZZ_CONSISTENCY_TOKEN": str(applied, "consistency_token"), "FUZZ_ROTATE_TOKEN": str(rotator, "token"),
	} {
		fmt.Printf("%s=%s\n", name, v)
	}
	return nil
}
