package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/browsertest"
	"github.com/jobboard/jobboard/projections/projectionstest"
	"github.com/jobboard/jobboard/readmodels"
	"github.com/jobboard/jobboard/seed"
)

// An operator, in a real browser, signs in with the operator token (a wrong one is told so),
// sees the projections with their version, state, lag and dead letters, opens the dead letter
// a projector gave up on and replays it, browses the history and folds a stream as of a time,
// then starts a rebuild of the search projection and watches its progress live until it is
// promoted. axe-core finds nothing serious or critical on any page.
func TestBrowserOperatorReplaysADeadLetterAndWatchesARebuildUntilPromoted(t *testing.T) {
	t.Parallel()
	cfg := wholeSystemConfig(t)
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	// A history of some size, so the rebuild below takes long enough to be watched.
	ctx := context.Background()
	seeder, err := seed.NewSeeder(m.Pool(), m.Store(), seed.Config{Events: 3000, Seed: 14, End: time.Now().UTC(), Span: 24 * time.Hour, BatchEvents: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seeder.Run(ctx); err != nil {
		t.Fatal(err)
	}
	companyName := "Operated " + uniqueWord()
	company := c.must(c.do("POST", "/v1/companies", "", map[string]any{
		"name": companyName, "email": uuid.NewString() + "@ops.test", "website": "https://ops.test",
	}), 201)
	companyID := company.str("id")
	awaitProjectors(c, cfg, companyID, company.str("consistency_token"))
	postAndPay(c, cfg.StripeWebhookSecret, company.str("token"), "Site Reliability Engineer "+uniqueWord(), "standard")

	// The search projector gave up on the company's registration: a dead letter, as the
	// poison queue records it.
	registered, err := m.Store().ReadAll(ctx, eventstore.Start, 1, eventstore.ReadFilter{StreamID: companyID, Types: []string{"company.registered"}})
	if err != nil || len(registered) != 1 {
		t.Fatalf("the company's registration: %v, %v", registered, err)
	}
	dead, err := m.DeadLetters()
	if err != nil {
		t.Fatal(err)
	}
	msg := projectionstest.Message(t, registered[0])
	msg.Metadata.Set(middleware.ReasonForPoisonedKey, "search engine said no")
	if err := dead.Record(ctx, readmodels.JobSearchProjection, msg); err != nil {
		t.Fatal(err)
	}

	b := browsertest.New(t)
	row := `[data-testid=projection][data-name="` + readmodels.JobSearchProjection + `"]`

	// Signed out, the pages send the operator to the sign-in form, which refuses a wrong token.
	b.Open(m.URL() + "/operator")
	if !strings.Contains(b.Location(), "/operator/signin") {
		t.Fatalf("signed out, /operator led to %s", b.Location())
	}
	b.CheckAccessibility("operator sign-in")
	b.Fill(map[string]string{"#token": "not-the-operator-token"})
	if status := b.Submit("[data-testid=operator-signin]"); status != http.StatusUnauthorized {
		t.Fatalf("a wrong token answered %d", status)
	}
	if got := b.Text("[data-testid=token-error]"); !strings.Contains(got, "not an operator token") {
		t.Fatalf("error shown: %q", got)
	}
	b.CheckAccessibility("operator sign-in refused")
	b.Fill(map[string]string{"#token": cfg.OperatorToken})
	b.Submit("[data-testid=operator-signin]")

	// The projections show version, state, lag and the dead letter.
	{
		if got := b.Text(row + " [data-testid=version]"); got != "1" {
			t.Errorf("version %q", got)
		}
		if got := b.Text(row + " [data-testid=state]"); got != "live" {
			t.Errorf("state %q", got)
		}
		if got := b.Text(row + " [data-testid=dead-letters]"); !strings.HasPrefix(got, "1") {
			t.Errorf("dead letters %q", got)
		}
		if got := b.Text(row); !strings.Contains(got, "search engine said no") {
			t.Errorf("the row does not show the last error: %q", got)
		}
		b.CheckAccessibility("projections")
		b.Screenshot("operator-projections")
	}

	// The dead letter is listed, shown and replayed.
	{
		b.Submit(row + " [data-testid=dead-letters]")
		if got := b.Text("[data-testid=dead-letter]"); !strings.Contains(got, "company.registered") || !strings.Contains(got, companyID) {
			t.Fatalf("listed: %q", got)
		}
		b.CheckAccessibility("dead letters")
		b.Submit("[data-testid=dead-letter] a")
		if got := b.Text("[data-testid=reason]"); got != "search engine said no" {
			t.Errorf("reason %q", got)
		}
		if got := b.Text("[data-testid=payload]"); !strings.Contains(got, companyName) {
			t.Errorf("the payload does not show the company: %q", got)
		}
		b.CheckAccessibility("dead letter")
		b.Submit("[data-testid=replay-one]")
		if got := b.Text("[data-testid=notice]"); got != "Replayed 1, failed again 0." {
			t.Errorf("notice %q", got)
		}
		if !b.Has("[data-testid=no-dead-letters]") {
			t.Errorf("the replayed letter is still listed as open")
		}
	}

	// The history is filtered and a stream folded as of a time.
	{
		b.Open(m.URL() + "/operator/events?since=yesterday")
		if got := b.Text("[data-testid=since-error]"); !strings.Contains(got, "2025-01-31T12:00:00Z") {
			t.Errorf("a bad time is not explained next to its field: %q", got)
		}
		b.CheckAccessibility("event history with an error")
		b.Fill(map[string]string{"#since": "", "#stream": companyID, "#type": "company.registered"})
		b.Submit("[data-testid=filter-events]")
		if got := b.Text("[data-testid=event]"); !strings.Contains(got, "company.registered") {
			t.Fatalf("filtered history: %q", got)
		}
		b.CheckAccessibility("event history")
		b.Screenshot("operator-events")
		b.Submit("[data-testid=event] a")
		if got := b.Text("[data-testid=stream-state]"); !strings.Contains(got, companyName) {
			t.Errorf("the folded state does not name the company: %q", got)
		}
		if got := b.Text("[data-testid=stream-version]"); got != "1" {
			t.Errorf("stream version %q", got)
		}
		b.CheckAccessibility("stream as of a time")
	}

	// A rebuild is watched live until promoted.
	{
		b.Open(m.URL() + "/operator")
		b.Submit(row + " [data-testid=start-rebuild]")
		if !strings.Contains(b.Location(), "/rebuilds/") {
			t.Fatalf("starting a rebuild led to %s", b.Location())
		}
		if b.Attr("#rebuild", "data-finished") != "false" {
			t.Fatalf("the rebuild of %s events ended before its page was shown: nothing to watch", b.Text("[data-testid=rebuild-progress]"))
		}
		b.CheckAccessibility("rebuild")
		// The page's script updates it in place: no reload.
		b.WaitFor(`!document.getElementById('rebuild-done').textContent.startsWith('0 / ')`, 3*time.Minute)
		b.Screenshot("operator-rebuild")
		b.WaitFor(`document.querySelector('[data-testid=rebuild-state]').textContent.startsWith('Promoted')`, 3*time.Minute)
		progress := b.Text("[data-testid=rebuild-progress]")
		if !strings.Contains(progress, "(100.0%)") {
			t.Errorf("progress when promoted: %q", progress)
		}
		if rate := b.Text("[data-testid=rebuild-rate]"); !strings.HasSuffix(rate, "events/s") {
			t.Errorf("rate %q", rate)
		}
		// Without the script, a reload shows the same.
		b.Submit("[data-testid=reload]")
		if got := b.Text("[data-testid=rebuild-state]"); !strings.HasPrefix(got, "Promoted: version 2") {
			t.Errorf("reloaded: %q", got)
		}
		b.Open(m.URL() + "/operator")
		if got := b.Text(row + " [data-testid=version]"); got != "2" {
			t.Errorf("version after the rebuild %q", got)
		}
		if got := b.Text(row + " [data-testid=state]"); got != "live" {
			t.Errorf("state after the rebuild %q", got)
		}
	}
}
