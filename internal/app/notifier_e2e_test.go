package app_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/internal/testenv"
)

// Through the HTTP API, the relay and the notifier role to the stack's Mailpit: sign-ups, a
// paid listing, an application and its progress each email the right person once, with a
// subject that says what happened, links into the product and never a bearer token.
func TestEmailsOfAHiringThroughHTTP(t *testing.T) {
	t.Parallel()
	mp := testenv.StackMailpit(t)
	cfg := stackConfig(t)
	cfg.Roles = []string{app.RoleAPI, app.RoleRelay, app.RoleNotifier}
	cfg.SMTPURL = mp.SMTPURL()
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}

	companyEmail, candidateEmail := uuid.NewString()+"@acme.test", uuid.NewString()+"@example.test"
	company := c.must(c.do("POST", "/v1/companies", "", map[string]any{"name": "Acme Robotics", "email": companyEmail}), 201)
	employer := company.str("token")
	candidate := c.must(c.do("POST", "/v1/candidates", "", map[string]any{"name": "Ada Lovelace", "email": candidateEmail}), 201)
	candidateToken := candidate.str("token")
	title := "Staff Go Engineer " + uniqueWord()
	jobID, _ := postAndPay(c, cfg.StripeWebhookSecret, employer, title, "standard")
	applied := c.must(c.do("POST", "/v1/jobs/"+jobID+"/applications", candidateToken, map[string]any{
		"resume_url": "https://cv.example.test/ada.pdf", "cover_letter": "I wrote the first program.",
	}), 201)
	appID := applied.str("id")
	reviewing := c.must(c.do("POST", "/v1/applications/"+appID+"/status", employer, map[string]any{"status": "reviewing"}), 200)
	c.must(c.do("POST", "/v1/applications/"+appID+"/status", employer, map[string]any{"status": "interviewing"},
		"If-Match", fmt.Sprint(reviewing.body["version"])), 200)

	want := map[string][]string{
		companyEmail: {
			"Welcome to jobboard, Acme Robotics",
			"Receipt: 49.00 EUR for the standard listing of " + title,
			"Your job " + title + " is live",
			"New application from Ada Lovelace for " + title,
		},
		candidateEmail: {
			"Welcome to jobboard, Ada Lovelace",
			"You applied for " + title + " at Acme Robotics",
			"Your application is being reviewed: " + title + " at Acme Robotics",
			"You are invited to interview: " + title + " at Acme Robotics",
		},
	}
	ctx := context.Background()
	for to, subjects := range want {
		mp.WaitForMessages(t, fmt.Sprintf("to:%q", to), len(subjects), 90*time.Second)
		time.Sleep(time.Second) // a duplicate would arrive now
		got := mp.WaitForMessages(t, fmt.Sprintf("to:%q", to), len(subjects)+1, time.Second)
		var have []string
		for _, msg := range got {
			have = append(have, msg.Subject)
			body, err := mp.Message(ctx, msg.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, token := range []string{employer, candidateToken} {
				if strings.Contains(body.Text, token) || strings.Contains(body.HTML, token) {
					t.Errorf("%q carries a bearer token", msg.Subject)
				}
			}
			if !strings.Contains(body.Text, app.DevPublicBaseURL+"/") {
				t.Errorf("%q links nowhere into the product:\n%s", msg.Subject, body.Text)
			}
		}
		sort.Strings(have)
		sort.Strings(subjects)
		if strings.Join(have, "\n") != strings.Join(subjects, "\n") {
			t.Errorf("%s received:\n  %s\nwant each once:\n  %s", to, strings.Join(have, "\n  "), strings.Join(subjects, "\n  "))
		}
	}

	_, _, metrics := get(t, m.URL()+"/metrics")
	for _, want := range []string{`jobboard_notifier_sent_total{template="application_received"} 1`,
		`jobboard_notifier_outbox_messages{state="sent"} 8`, `jobboard_notifier_outbox_messages{state="dead"} 0`,
		"jobboard_notifier_send_seconds_count 8"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
