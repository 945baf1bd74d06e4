package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/jobboard/jobboard/internal/testenv"
)

// succeeded is the PaymentIntent of a payment_intent.succeeded webhook for a payment answer.
func succeeded(jobID string, pay answer) map[string]any {
	amount := pay.body["amount"]
	return map[string]any{
		"id": pay.str("payment_intent_id"), "object": "payment_intent", "status": "succeeded",
		"amount": amount, "amount_received": amount, "currency": strings.ToLower(pay.str("currency")),
		"metadata": map[string]string{"job_id": jobID, "payment_id": pay.str("payment_id")},
	}
}

// TestOnePaymentAtATimeOverHTTP runs the payment races of issue 10 against the whole
// system, with stripe-mock behind a proxy that records what reached "Stripe".
func TestOnePaymentAtATimeOverHTTP(t *testing.T) {
	t.Parallel()
	proxy := testenv.NewStripeProxy(t)
	cfg := wholeSystemConfig(t)
	cfg.StripeAPIBase = proxy.URL
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	_, token := registerCompany(c)
	jobID := c.must(c.do("POST", "/v1/jobs", token, jobBody()), 201).str("id")
	payments := "/v1/jobs/" + jobID + "/payments"

	// Two concurrent requests: one payment, one intent, both answers name it.
	var racing [2]answer
	var wg sync.WaitGroup
	for i := range racing {
		wg.Go(func() { racing[i] = c.do("POST", payments, token, map[string]any{"plan": "standard"}) })
	}
	wg.Wait()
	if s0, s1 := racing[0].status, racing[1].status; s0+s1 != 201+200 {
		t.Fatalf("racing answers %d and %d, want one 201 and one 200:\n%s\n%s", s0, s1, racing[0].raw, racing[1].raw)
	}
	std := racing[0]
	for _, a := range racing {
		if a.str("payment_id") != std.str("payment_id") || a.str("payment_intent_id") != std.str("payment_intent_id") ||
			a.str("client_secret") == "" || a.str("status") != "requires_payment" {
			t.Fatalf("racing answers differ:\n%s\n%s", racing[0].raw, racing[1].raw)
		}
	}
	keys := map[string]bool{}
	for _, call := range proxy.Calls("POST", "/v1/payment_intents") {
		keys[call.IdempotencyKey] = true
	}
	if len(keys) != 1 || !keys["jobboard-listing-payment-"+std.str("payment_id")] {
		t.Fatalf("PaymentIntents asked of Stripe under idempotency keys %v, want one, of payment %s", keys, std.str("payment_id"))
	}

	// The same plan again: 200, the same payment, no new intent.
	creates := len(proxy.Calls("POST", "/v1/payment_intents"))
	again := c.must(c.do("POST", payments, token, map[string]any{"plan": "standard"}), 200)
	if again.str("payment_id") != std.str("payment_id") || again.str("payment_intent_id") != std.str("payment_intent_id") {
		t.Fatalf("same plan again: %s, first %s", again.raw, std.raw)
	}
	if n := len(proxy.Calls("POST", "/v1/payment_intents")); n != creates {
		t.Fatalf("asking again created %d more intents", n-creates)
	}

	// Another plan: the open intent is canceled at Stripe, a new payment opens (201).
	feat := c.must(c.do("POST", payments, token, map[string]any{"plan": "featured"}), 201)
	if feat.str("payment_id") == std.str("payment_id") || feat.body["amount"].(float64) != 9900 {
		t.Fatalf("another plan: %s", feat.raw)
	}
	if n := len(proxy.Calls("POST", "/v1/payment_intents/"+std.str("payment_intent_id")+"/cancel")); n != 1 {
		t.Fatalf("the replaced intent was canceled %d times at Stripe, want 1", n)
	}

	// The featured payment publishes the job; the replaced one succeeding late is refunded
	// once, however often Stripe delivers it.
	c.must(c.webhook(cfg.StripeWebhookSecret, "payment_intent.succeeded", succeeded(jobID, feat)), 200)
	payload, sig := signedWebhook(t, cfg.StripeWebhookSecret, "payment_intent.succeeded", succeeded(jobID, std))
	var consistency string
	for range 2 {
		hook := c.must(c.do(http.MethodPost, "/v1/stripe/webhook", "", payload, "Stripe-Signature", sig), 200)
		if hook.str("outcome") != "applied" {
			t.Fatalf("late success: %s", hook.raw)
		}
		consistency = hook.str("consistency_token")
	}
	refunds := proxy.Calls("POST", "/v1/refunds")
	if len(refunds) != 1 || refunds[0].Form.Get("payment_intent") != std.str("payment_intent_id") ||
		refunds[0].IdempotencyKey != "jobboard-listing-refund-"+std.str("payment_id") {
		t.Fatalf("refunds at Stripe = %+v, want one of %s", refunds, std.str("payment_intent_id"))
	}

	// The owner sees every payment; nobody else sees any.
	job := c.must(c.read("/v1/jobs/"+jobID, token, consistency), 200)
	if job.str("status") != "published" {
		t.Fatalf("job: %s", job.raw)
	}
	got := map[string]string{}
	list, _ := job.body["payments"].([]any)
	for _, p := range list {
		p := p.(map[string]any)
		got[fmt.Sprint(p["payment_id"])] = fmt.Sprintf("%v %v %v %v", p["plan"], p["amount"], p["currency"], p["status"])
	}
	want := map[string]string{
		std.str("payment_id"):  "standard 4900 EUR refunded",
		feat.str("payment_id"): "featured 9900 EUR paid",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("owner's payments = %v, want %v", got, want)
	}
	if public := c.must(c.read("/v1/jobs/"+jobID, ""), 200); public.body["payments"] != nil {
		t.Fatalf("an anonymous reader sees payments: %s", public.raw)
	}
}

// TestStripeWebhookUnderContentionAnswers503: a confirmation whose append loses every
// concurrency retry is not acknowledged — 503, so Stripe delivers it again — and writes
// nothing; the redelivery then publishes the job. A trigger makes every append to the job's
// stream fail as a concurrent writer taking the version would.
func TestStripeWebhookUnderContentionAnswers503(t *testing.T) {
	t.Parallel()
	cfg := stackConfig(t)
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	_, token := registerCompany(c)
	jobID := c.must(c.do("POST", "/v1/jobs", token, jobBody()), 201).str("id")
	pay := c.must(c.do("POST", "/v1/jobs/"+jobID+"/payments", token, map[string]any{"plan": "standard"}), 201)

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE FUNCTION contend() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.stream_id = '%s' THEN
				RAISE EXCEPTION 'another writer took the version' USING ERRCODE = 'unique_violation',
					CONSTRAINT = 'events_stream_id_stream_version_key';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER contend BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION contend();`, uuid.MustParse(jobID))); err != nil {
		t.Fatal(err)
	}
	payload, sig := signedWebhook(t, cfg.StripeWebhookSecret, "payment_intent.succeeded", succeeded(jobID, pay))
	busy := c.do(http.MethodPost, "/v1/stripe/webhook", "", payload, "Stripe-Signature", sig)
	if busy.status != http.StatusServiceUnavailable || !strings.HasPrefix(busy.header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("webhook under contention: %d %s", busy.status, busy.raw)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_id = $1 AND event_type IN ('job.listing_paid', 'job.published')`, jobID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d payment events written under contention (%v)", n, err)
	}

	if _, err := conn.Exec(ctx, `DROP TRIGGER contend ON events`); err != nil {
		t.Fatal(err)
	}
	if hook := c.must(c.do(http.MethodPost, "/v1/stripe/webhook", "", payload, "Stripe-Signature", sig), 200); hook.str("outcome") != "applied" {
		t.Fatalf("redelivery: %s", hook.raw)
	}
	items := events(c, "stream="+jobID, func(items []map[string]any) bool { return countType(items, "job.published") == 1 })
	if countType(items, "job.published") != 1 {
		t.Fatalf("the redelivery did not publish the job: %v", items)
	}
}
