package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/jobboard/jobboard/internal/testenv"
)

// mailHeaders reads one message's headers through Mailpit's API.
func mailHeaders(t *testing.T, mp testenv.Mailpit, id string) map[string][]string {
	t.Helper()
	res, err := http.Get(mp.API + "/api/v1/message/" + url.PathEscape(id) + "/headers")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var h map[string][]string
	if err := json.NewDecoder(res.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestJobAlertThroughHTTPAndMailpit: a candidate saves a search over HTTP; a matching job
// published through Stripe's webhook reaches the candidate's mailbox (the real Mailpit) once,
// with RFC 8058 headers; the one-click POST of its link ends the alert, and the next matching
// job mails nothing.
func TestJobAlertThroughHTTPAndMailpit(t *testing.T) {
	t.Parallel()
	mp := testenv.StartOwnMailpit(t)
	cfg := wholeSystemConfig(t)
	cfg.SMTPURL, cfg.MailFrom, cfg.PublicBaseURL = mp.SMTPURL(), "jobboard <noreply@jobboard.test>", "https://jobs.example.com"
	cfg.MailWorkers, cfg.MailMaxAttempts, cfg.MailClaimLease = 2, 8, 30*time.Second
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	_, companyToken := registerCompany(c)
	reg := c.must(c.do("POST", "/v1/companies", "", map[string]any{"name": "Warm-up", "email": uuid.NewString() + "@acme.test"}), 201)
	awaitProjectors(c, cfg, reg.str("id"), reg.str("consistency_token"))

	email := uuid.NewString() + "@candidates.test"
	cand := c.must(c.do("POST", "/v1/candidates", "", map[string]any{"name": "Ada", "email": email}), 201)
	token := cand.str("token")
	word := uniqueWord()
	alert := c.must(c.do("POST", "/v1/candidates/me/alerts", token, map[string]any{"q": word, "tags": []string{"go"}, "frequency": "instant"}), 201)
	list := c.must(c.read("/v1/candidates/me/alerts", token, alert.str("consistency_token")), 200)
	if got := items(list); len(got) != 1 || got[0]["id"] != alert.str("id") {
		t.Fatalf("alerts: %s", list.raw)
	}
	c.must(c.do("POST", "/v1/candidates/me/alerts", companyToken, map[string]any{"frequency": "daily"}), 403)

	title := "Senior Go Engineer " + word
	jobID, _ := postAndPay(c, cfg.StripeWebhookSecret, companyToken, title, "standard")
	msgs := mp.WaitForMessages(t, `to:"`+email+`" subject:"New job for your alert"`, 1, 2*time.Minute)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, title) {
		t.Fatalf("mailbox of %s: %+v", email, msgs)
	}
	body, err := mp.Message(context.Background(), msgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body.Text, "/jobs/"+jobID) || !strings.Contains(body.Text, "/v1/unsubscribe?token=") {
		t.Fatalf("text part:\n%s", body.Text)
	}
	h := mailHeaders(t, mp.Mailpit, msgs[0].ID)
	if post := h["List-Unsubscribe-Post"]; len(post) != 1 || post[0] != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe-Post %v", post)
	}
	link := strings.Trim(strings.Join(h["List-Unsubscribe"], ""), "<>")
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("List-Unsubscribe %q", link)
	}

	// The mail client's one-click POST, to this server (PUBLIC_BASE_URL is elsewhere).
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/v1/unsubscribe?"+u.RawQuery, strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var unsub map[string]any
	_ = json.NewDecoder(res.Body).Decode(&unsub)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || unsub["unsubscribed"] != "alert" {
		t.Fatalf("one-click unsubscribe: %d %v", res.StatusCode, unsub)
	}
	after := c.must(c.read("/v1/candidates/me/alerts", token, unsub["consistency_token"].(string)), 200)
	if got := items(after); len(got) != 0 {
		t.Fatalf("alerts after unsubscribing: %s", after.raw)
	}
	c.must(c.read("/v1/candidates/me/alerts/"+alert.str("id"), token), 404)

	// A second matching job: once it is searchable and the matcher had time, still one e-mail.
	_, published := postAndPay(c, cfg.StripeWebhookSecret, companyToken, "Go Platform Engineer "+word, "standard")
	c.must(c.read("/v1/jobs?q="+word, "", published), 200)
	time.Sleep(5 * time.Second)
	if again := mp.WaitForMessages(t, `to:"`+email+`" subject:"New job for your alert"`, 2, 5*time.Second); len(again) != 1 {
		t.Fatalf("after unsubscribing, the mailbox has %d messages", len(again))
	}
}
