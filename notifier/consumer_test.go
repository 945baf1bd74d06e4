package notifier_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/notifier"
	"github.com/jobboard/jobboard/projections"
)

// history is a small story told in events: every message of the notifier follows from it.
type history struct {
	run                          string
	company, candidate, job, app string
	companyEmail, candidateEmail string
	events                       []projections.Event
	versions                     map[string]int64
}

func newStory(t *testing.T) *history {
	t.Helper()
	run := testenv.RandomSuffix()
	h := &history{run: run, company: "co-" + run, candidate: "ca-" + run, job: "job-" + run, app: "app-" + run,
		companyEmail: "hiring-" + run + "@acme.example", candidateEmail: "ada-" + run + "@example.org",
		versions: map[string]int64{}}
	now := time.Now().UTC().Truncate(time.Second)
	details, err := domain.NewJobDetails(domain.JobDetailsInput{Title: "Senior Go Engineer " + run, Description: "Build an event-sourced marketplace with us.",
		EmploymentType: "full_time", Seniority: "senior", Location: domain.LocationInput{Remote: true, Regions: []string{"EMEA"}}})
	if err != nil {
		t.Fatal(err)
	}
	eur, _ := domain.ParseCurrency("EUR")
	reviewing, _ := domain.ParseApplicationStatus("reviewing")
	interviewing, _ := domain.ParseApplicationStatus("interviewing")
	expires := now.Add(30 * 24 * time.Hour)
	h.add(domain.StreamTypeCompany, h.company, &domain.CompanyRegistered{CompanyID: h.company, Name: "Acme Robotics", Email: h.companyEmail, RegisteredAt: now})
	h.add(domain.StreamTypeCandidate, h.candidate, &domain.CandidateRegistered{CandidateID: h.candidate, Name: "Ada Lovelace", Email: h.candidateEmail, RegisteredAt: now})
	h.add(domain.StreamTypeJob, h.job, &domain.JobPosted{JobID: h.job, CompanyID: h.company, Details: details, PostedAt: now})
	h.add(domain.StreamTypeJob, h.job, &domain.ListingPaymentRequested{JobID: h.job, CompanyID: h.company, PaymentID: "pay-1",
		Plan: domain.ListingPlanStandard, Amount: 4900, Currency: eur, DurationSeconds: 30 * 86400, RequestedAt: now, PaymentIntentID: "pi_1"})
	h.add(domain.StreamTypeJob, h.job, &domain.ListingPaymentFailed{JobID: h.job, CompanyID: h.company, PaymentID: "pay-1", Reason: "card_declined", FailedAt: now})
	h.add(domain.StreamTypeJob, h.job, &domain.ListingPaid{JobID: h.job, CompanyID: h.company, PaymentID: "pay-1",
		Plan: domain.ListingPlanStandard, Amount: 4900, Currency: eur, PaidAt: now})
	h.add(domain.StreamTypeJob, h.job, &domain.JobPublished{JobID: h.job, CompanyID: h.company, PaymentID: "pay-1",
		Plan: domain.ListingPlanStandard, PublishedAt: now, ExpiresAt: expires})
	h.add(domain.StreamTypeJob, h.job, &domain.ListingPaymentRefunded{JobID: h.job, CompanyID: h.company, PaymentID: "pay-2",
		RefundID: "re_1", Amount: 9900, Currency: eur, Reason: domain.RefundReasonAlreadyPaid, PaidAt: now, RefundedAt: now})
	h.add(domain.StreamTypeApplication, h.app, &domain.ApplicationSubmitted{ApplicationID: h.app, JobID: h.job, CompanyID: h.company,
		CandidateID: h.candidate, CoverLetter: "I would love to build it with you.", SubmittedAt: now})
	h.add(domain.StreamTypeApplication, h.app, &domain.ApplicationStatusChanged{ApplicationID: h.app, JobID: h.job, CompanyID: h.company,
		CandidateID: h.candidate, From: domain.ApplicationStatusSubmitted, To: reviewing, ChangedAt: now})
	h.add(domain.StreamTypeApplication, h.app, &domain.ApplicationStatusChanged{ApplicationID: h.app, JobID: h.job, CompanyID: h.company,
		CandidateID: h.candidate, From: reviewing, To: interviewing, ChangedAt: now})
	h.add(domain.StreamTypeApplication, h.app, &domain.ApplicationWithdrawn{ApplicationID: h.app, JobID: h.job, CompanyID: h.company,
		CandidateID: h.candidate, From: interviewing, WithdrawnAt: now})
	h.add(domain.StreamTypeJob, h.job, &domain.JobExpired{JobID: h.job, CompanyID: h.company, ExpiresAt: expires, ExpiredAt: expires})
	return h
}

func (h *history) add(streamType, streamID string, payload domain.Event) {
	h.versions[streamID]++
	h.events = append(h.events, projections.Event{Payload: payload, Event: eventstore.Event{
		StreamID: streamID, StreamType: streamType, StreamVersion: h.versions[streamID], EventID: uuid.New(),
		Type: payload.EventType(), SchemaVersion: payload.SchemaVersion(), RecordedAt: time.Now()}})
}

// wantSubjects are the messages the story causes, by recipient, in no order.
func (h *history) wantSubjects() map[string][]string {
	job := "Senior Go Engineer " + h.run
	return map[string][]string{
		h.companyEmail: {
			"Welcome to jobboard, Acme Robotics",
			"Payment failed for the listing of " + job,
			"Receipt: 49.00 EUR for the standard listing of " + job,
			"Your job " + job + " is live",
			"Refund: 99.00 EUR for " + job,
			"New application from Ada Lovelace for " + job,
			"Your listing " + job + " has expired",
		},
		h.candidateEmail: {
			"Welcome to jobboard, Ada Lovelace",
			"You applied for " + job + " at Acme Robotics",
			"Your application is being reviewed: " + job + " at Acme Robotics",
			"You are invited to interview: " + job + " at Acme Robotics",
			"You withdrew your application for " + job,
		},
	}
}

func newConsumer(t *testing.T, pool *pgxpool.Pool) *notifier.Consumer {
	t.Helper()
	rules := &notifier.Rules{}
	notifier.BuiltinRules(rules)
	c, err := notifier.NewConsumer(pool, notifier.ConsumerConfig{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Every employer and candidate message arrives once for its event, with a subject that says
// what happened; the events delivered again (in other batches, in another order across
// streams) send nothing new. The expiry warning of the listing is canceled by its expiry.
func TestEveryMessageArrivesOnceForItsEventAndRedeliveryAddsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mp := testenv.StackMailpit(t)
	pool := newPool(t)
	h := newStory(t)
	c := newConsumer(t, pool)
	// Applications first, registrations last: contacts are resolved when sending.
	var apps, rest []projections.Event
	for _, ev := range h.events {
		if ev.StreamType == domain.StreamTypeApplication {
			apps = append(apps, ev)
		} else {
			rest = append(rest, ev)
		}
	}
	if err := c.Apply(ctx, apps); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(ctx, rest); err != nil {
		t.Fatal(err)
	}
	startSender(t, pool, mp.SMTPURL(), nil)
	states := waitForStates(t, pool, 60*time.Second)

	check := func(when string) {
		t.Helper()
		for to, want := range h.wantSubjects() {
			got := mp.WaitForMessages(t, fmt.Sprintf("to:%q", to), len(want), 20*time.Second)
			var subjects []string
			for _, m := range got {
				subjects = append(subjects, m.Subject)
			}
			if len(got) != len(want) {
				t.Fatalf("%s: %s got %d messages, want %d:\n got  %q\n want %q", when, to, len(got), len(want), subjects, want)
			}
			for _, s := range want {
				if !contains(subjects, s) {
					t.Errorf("%s: %s did not get %q (got %q)", when, to, s, subjects)
				}
			}
		}
	}
	check("first delivery")
	var expiring int
	for k, s := range states {
		if strings.Contains(k, notifier.TemplateListingExpiring) {
			expiring++
			if s != "canceled" {
				t.Errorf("the expiry warning is %s after the listing expired, want canceled", s)
			}
		}
	}
	if expiring != 1 {
		t.Errorf("%d expiry warnings were scheduled, want 1", expiring)
	}

	// Redelivered: all again in one batch, then one by one.
	if err := c.Apply(ctx, h.events); err != nil {
		t.Fatal(err)
	}
	for _, ev := range h.events {
		if err := c.Apply(ctx, []projections.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	if after := waitForStates(t, pool, 30*time.Second); len(after) != len(states) {
		t.Fatalf("redelivery added messages: %d in the outbox, %d before", len(after), len(states))
	}
	time.Sleep(time.Second)
	check("after redelivery")

	// The text part links into the product and carries no token.
	got := mp.WaitForMessages(t, fmt.Sprintf("to:%q subject:%q", h.companyEmail, "New application"), 1, 10*time.Second)
	body, err := mp.Message(ctx, got[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body.Text, "http://127.0.0.1:8080/employer/jobs/"+h.job) || !strings.Contains(body.Text, "I would love to build it with you.") {
		t.Errorf("application received, text part:\n%s", body.Text)
	}
	if !strings.Contains(body.HTML, `href="http://127.0.0.1:8080/employer/jobs/`+h.job+`"`) {
		t.Errorf("application received, HTML part:\n%s", body.HTML)
	}
}

// Events older than MaxEventAge (a new consumer group reading the retained history) keep
// their contacts but cause no message.
func TestOldEventsCauseNoMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	h := newStory(t)
	rules := &notifier.Rules{}
	notifier.BuiltinRules(rules)
	c, err := notifier.NewConsumer(pool, notifier.ConsumerConfig{Rules: rules, Now: func() time.Time { return time.Now().Add(72 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(ctx, h.events); err != nil {
		t.Fatal(err)
	}
	var messages, contacts int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM notifier_outbox), (SELECT count(*) FROM notifier_contacts)`).Scan(&messages, &contacts); err != nil {
		t.Fatal(err)
	}
	if messages != 0 || contacts != 3 {
		t.Fatalf("%d messages and %d contacts, want none and 3 (company, candidate, job)", messages, contacts)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
