package app_test

import (
	"context"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/notifier"
	"github.com/jobboard/jobboard/projections"
)

// A notifier process SIGKILLed in the middle of sending, then another started: every
// message the history causes arrives, none is lost, and a message sent again (the killed
// process sent it but did not mark it) carries the same Message-ID.
func TestNotifierProcessKilledMidBatchEveryMessageArrivesResendsKeepTheirMessageID(t *testing.T) {
	t.Parallel()
	bin := buildJobboard(t)
	mp := testenv.StartOwnMailpit(t)
	cfg := stackConfig(t)
	cfg.Roles = []string{app.RoleRelay}
	h := newHistory(t, cfg.DatabaseURL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start(t, cfg)
	h.seed(t, 3000, 13)

	// What the history must cause: the rules over every event of the store. ReadAll stops at
	// the commit-safe watermark, which a transaction elsewhere in the cluster may hold back
	// for a moment: read until every event was read.
	var total int
	if err := h.pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	rules := app.NotifierRules()
	want := map[string]bool{}
	read := 0
	for after, deadline := (eventstore.Position{}), time.Now().Add(time.Minute); read < total; {
		events, err := h.store.ReadAll(ctx, after, 1000, eventstore.ReadFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("read %d of %d events", read, total)
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		for _, e := range events {
			ev, err := projections.DecodeEvent(e)
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := rules.Decide(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				if m.NotBefore.Before(time.Now()) { // expiry warnings due in days are not sent today
					want[m.Key] = true
				}
			}
			after = e.Position()
		}
		read += len(events)
	}
	if len(want) < 200 {
		t.Fatalf("the history causes only %d messages: the test proves little", len(want))
	}

	n := cfg
	n.Roles = []string{app.RoleNotifier}
	n.SMTPURL = mp.SMTPURL() // its own: the test counts every message the server holds
	n.MailClaimLease = 3 * time.Second
	sent := func() int {
		var c int
		if err := h.pool.QueryRow(ctx, `SELECT count(*) FROM notifier_outbox WHERE state = 'sent'`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := startProcess(t, bin, n)
	// Killed when the mail server holds messages the outbox does not count as sent yet: a
	// batch in the middle of sending.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(2 * time.Millisecond) {
		arrived, err := mp.Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if arrived >= 30 && arrived > sent()+2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the notifier process sent no batch to kill")
		}
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	at := sent()
	if at >= len(want) {
		t.Fatalf("the notifier sent all %d messages before it was killed: the test proves nothing", len(want))
	}
	t.Logf("killed after %d of %d messages were marked sent", at, len(want))

	startProcess(t, bin, n)
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		var open int
		// Claimed messages are due again at their lease's end: still open. Warnings
		// scheduled for days ahead are not.
		if err := h.pool.QueryRow(ctx, `SELECT count(*) FROM notifier_outbox WHERE state = 'pending'
			AND next_attempt_at < now() + interval '1 minute'`).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == 0 && sent() >= len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: %d of %d sent, %d still due", sent(), len(want), open)
		}
	}

	rows, err := h.pool.Query(ctx, `SELECT key, state, message_id FROM notifier_outbox WHERE next_attempt_at < now() + interval '1 minute'`)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{} // Message-ID → key
	for rows.Next() {
		var key, state, id string
		if err := rows.Scan(&key, &state, &id); err != nil {
			t.Fatal(err)
		}
		if state != "sent" && state != "canceled" {
			t.Errorf("%s is %s", key, state)
		}
		if state == "sent" {
			if !want[key] {
				t.Errorf("%s was sent, but no event causes it", key)
			}
			ids[id] = key
		}
	}
	rows.Close()
	for key := range want {
		if _, ok := ids[notifier.MessageID(key, "jobboard.localhost")]; !ok {
			var state string
			_ = h.pool.QueryRow(ctx, `SELECT state FROM notifier_outbox WHERE key = $1`, key).Scan(&state)
			if state != "canceled" { // a warning whose listing closed before it was due
				t.Errorf("%s was never sent (state %q)", key, state)
			}
		}
	}

	arrived, err := mp.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	copies := map[string]int{}
	for _, m := range arrived {
		if _, ok := ids[m.MessageID]; !ok {
			t.Errorf("a message with Message-ID %q arrived that the outbox did not send", m.MessageID)
		}
		copies[m.MessageID]++
	}
	var resent []int
	for id := range ids {
		switch c := copies[id]; {
		case c == 0:
			t.Errorf("%s (%s) never arrived", ids[id], id)
		case c > 1:
			resent = append(resent, c)
		}
	}
	sort.Ints(resent)
	t.Logf("%d messages arrived for %d sent; %d were sent again, each with its Message-ID (copies of each: %v)",
		len(arrived), len(ids), len(resent), resent)
	if len(arrived)-len(ids) > 2*10 { // the killed process's 2 workers mark every 10 messages
		t.Errorf("%d resends: more than the killed process could have had claimed", len(arrived)-len(ids))
	}
}
