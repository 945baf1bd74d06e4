package notifier_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/notifier"
)

// The mail server stopped for 10 s: what was queued before and meanwhile arrives once
// afterwards, and nothing is dead-lettered for the outage.
func TestSMTPServerDownForTenSecondsEverythingQueuedArrivesAfterwards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mp := testenv.StartOwnMailpit(t)
	pool := newPool(t)
	run := testenv.RandomSuffix()
	batch := func(from, to int) []notifier.Message {
		var out []notifier.Message
		for i := from; i < to; i++ {
			out = append(out, welcome(fmt.Sprintf("e%d", i), fmt.Sprintf("o%d-%s@example.org", i, run)))
		}
		return out
	}
	// Few attempts: an outage that counted attempts would kill every message.
	startSender(t, pool, mp.SMTPURL(), func(c *notifier.SenderConfig) { c.MaxAttempts = 2 })
	if err := notifier.Enqueue(ctx, pool, batch(0, 10)...); err != nil {
		t.Fatal(err)
	}
	waitForStates(t, pool, 30*time.Second)

	mp.Stop()
	stopped := time.Now()
	if err := notifier.Enqueue(ctx, pool, batch(10, 40)...); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10*time.Second - time.Since(stopped))
	if st, err := notifier.ReadStatus(ctx, pool, 0); err != nil || st.Pending != 30 {
		t.Fatalf("while the server was down: %+v %v, want the 30 new messages pending", st, err)
	}
	mp.Start()

	states := waitForStates(t, pool, 60*time.Second)
	for k, s := range states {
		if s != "sent" {
			t.Errorf("%s is %s, want sent", k, s)
		}
	}
	got := mp.WaitForMessages(t, "to:"+run, 40, 20*time.Second)
	ids := map[string]int{}
	for _, m := range got {
		ids[m.MessageID]++
	}
	if len(got) != 40 || len(ids) != 40 {
		t.Fatalf("%d messages with %d Message-IDs arrived, want 40 once each", len(got), len(ids))
	}
}
