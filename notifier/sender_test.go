package notifier_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/notifier"
)

const testFrom = "jobboard <noreply@jobboard.test>"

// startSender runs a sender against the SMTP server at smtpURL until the test ends.
func startSender(t *testing.T, pool *pgxpool.Pool, smtpURL string, tune func(*notifier.SenderConfig)) {
	t.Helper()
	smtp, err := notifier.ParseSMTPURL(smtpURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := notifier.SenderConfig{SMTP: smtp, From: testFrom, BaseURL: "http://127.0.0.1:8080",
		PollInterval: 50 * time.Millisecond, RetryInitialInterval: 200 * time.Millisecond, RetryMaxInterval: time.Second}
	if tune != nil {
		tune(&cfg)
	}
	s, err := notifier.NewSender(pool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// welcome is a company_welcome message to addr.
func welcome(event, addr string) notifier.Message {
	return notifier.Message{Key: notifier.Key(event, notifier.TemplateCompanyWelcome, addr), Template: notifier.TemplateCompanyWelcome,
		To: addr, Essential: true, Data: map[string]any{"CompanyID": "c-" + event}}
}

// waitForStates waits until no message is pending and returns the states by key.
func waitForStates(t *testing.T, pool *pgxpool.Pool, timeout time.Duration) map[string]string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		states := outboxStates(t, pool)
		pending := 0
		for _, s := range states {
			if s == "pending" {
				pending++
			}
		}
		if pending == 0 {
			return states
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still pending after %s: %v", pending, timeout, states)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSenderDeliversOnceWithTheKeysMessageID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mp := testenv.StackMailpit(t)
	pool := newPool(t)
	run := testenv.RandomSuffix()
	var msgs []notifier.Message
	for i := range 20 {
		msgs = append(msgs, welcome(fmt.Sprintf("e%d", i), fmt.Sprintf("owner-%d-%s@example.org", i, run)))
	}
	if err := notifier.Enqueue(ctx, pool, msgs...); err != nil {
		t.Fatal(err)
	}
	// Two senders share the outbox as two instances would.
	startSender(t, pool, mp.SMTPURL(), nil)
	startSender(t, pool, mp.SMTPURL(), nil)
	states := waitForStates(t, pool, 30*time.Second)
	for k, s := range states {
		if s != "sent" {
			t.Errorf("%s is %s, want sent", k, s)
		}
	}
	for i, m := range msgs {
		got := mp.WaitForMessages(t, fmt.Sprintf("to:%q", m.To), 1, 10*time.Second)
		if len(got) != 1 {
			t.Fatalf("message %d: %d copies arrived, want 1", i, len(got))
		}
		if want := notifier.MessageID(m.Key, "jobboard.test"); got[0].MessageID != want {
			t.Errorf("message %d: Message-ID %q, want %q", i, got[0].MessageID, want)
		}
		if want := "Welcome to jobboard"; got[0].Subject != want {
			t.Errorf("message %d: subject %q", i, got[0].Subject)
		}
	}
	// Enqueued again (a redelivered event): nothing new is sent.
	if err := notifier.Enqueue(ctx, pool, msgs...); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if got := mp.WaitForMessages(t, fmt.Sprintf("to:%q", msgs[0].To), 2, time.Second); len(got) != 1 {
		t.Fatalf("after the messages were enqueued again: %d copies, want 1", len(got))
	}
}

func TestSenderDeadLettersWhatCannotBeSentAndGoesOn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mp := testenv.StackMailpit(t)
	pool := newPool(t)
	run := testenv.RandomSuffix()
	good := welcome("good", "good-"+run+"@example.org")
	malformed := welcome("malformed", "not an address@")
	broken := notifier.Message{Key: "broken", Template: notifier.TemplateListingExpired, To: "broken-" + run + "@example.org",
		Data: map[string]any{"JobID": "j"}} // lacks ExpiredAt and the Job reference
	unknown := notifier.Message{Key: "unknown", Template: "no_such_template", To: "unknown-" + run + "@example.org"}
	// The broken ones first: they must not hold up the good one.
	if err := notifier.Enqueue(ctx, pool, malformed, broken, unknown); err != nil {
		t.Fatal(err)
	}
	if err := notifier.Enqueue(ctx, pool, good); err != nil {
		t.Fatal(err)
	}
	startSender(t, pool, mp.SMTPURL(), func(c *notifier.SenderConfig) { c.Workers = 1 })
	states := waitForStates(t, pool, 30*time.Second)
	want := map[string]string{good.Key: "sent", malformed.Key: "dead", broken.Key: "dead", unknown.Key: "dead"}
	for k, s := range want {
		if states[k] != s {
			t.Errorf("%s is %s, want %s", k, states[k], s)
		}
	}
	if got := mp.WaitForMessages(t, fmt.Sprintf("to:%q", good.To), 1, 10*time.Second); len(got) != 1 {
		t.Fatalf("the good message: %d copies, want 1", len(got))
	}
	st, err := notifier.ReadStatus(ctx, pool, 10)
	if err != nil {
		t.Fatal(err)
	}
	if st.Dead != 3 || st.Sent != 1 || len(st.DeadMessages) != 3 {
		t.Fatalf("status %+v, want 3 dead and 1 sent", st)
	}
	named := map[string]string{}
	for _, d := range st.DeadMessages {
		named[d.Key] = d.LastError
	}
	for _, k := range []string{malformed.Key, broken.Key, unknown.Key} {
		if named[k] == "" {
			t.Errorf("dead message %s has no error named", k)
		}
	}
	t.Logf("dead letters: %v", named)
}

// A recipient who turned a kind of message off: Suppressed says so, the message is canceled
// and never sent; the essential one goes out.
func TestSuppressedMessagesAreCanceledNotSent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mp := testenv.StackMailpit(t)
	pool := newPool(t)
	run := testenv.RandomSuffix()
	essential := welcome("e1", "essential-"+run+"@example.org")
	optional := welcome("e2", "optional-"+run+"@example.org")
	optional.Essential = false
	if err := notifier.Enqueue(ctx, pool, optional, essential); err != nil {
		t.Fatal(err)
	}
	asked := make(chan notifier.SuppressParams, 2)
	startSender(t, pool, mp.SMTPURL(), func(c *notifier.SenderConfig) {
		c.Suppressed = func(_ context.Context, p notifier.SuppressParams) (bool, error) {
			asked <- p
			return !p.Essential, nil
		}
	})
	states := waitForStates(t, pool, 30*time.Second)
	if states[optional.Key] != "canceled" || states[essential.Key] != "sent" {
		t.Fatalf("states %v, want the optional one canceled and the essential one sent", states)
	}
	if got := mp.WaitForMessages(t, fmt.Sprintf("to:%q", essential.To), 1, 10*time.Second); len(got) != 1 {
		t.Fatalf("the essential message: %d copies", len(got))
	}
	if got, _ := mp.Search(ctx, fmt.Sprintf("to:%q", optional.To)); len(got) != 0 {
		t.Fatalf("the suppressed message arrived %d times", len(got))
	}
	if p := <-asked; p.Template != notifier.TemplateCompanyWelcome || p.Recipient == "" {
		t.Fatalf("Suppressed was asked %+v", p)
	}
}
