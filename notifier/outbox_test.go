package notifier_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/notifier"
)

func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func outboxStates(t testing.TB, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT key, state FROM notifier_outbox`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, s string
		if err := rows.Scan(&k, &s); err != nil {
			t.Fatal(err)
		}
		out[k] = s
	}
	return out
}

func TestEnqueueKeepsTheFirstMessageOfAKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	m := notifier.Message{Key: notifier.Key("e1", "company_welcome", "a@example.org"), Template: "company_welcome",
		To: "a@example.org", Data: map[string]any{"CompanyID": "c1"}}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := notifier.Enqueue(ctx, tx, m, m); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	m.Data = map[string]any{"CompanyID": "changed"}
	if err := notifier.Enqueue(ctx, pool, m); err != nil {
		t.Fatal(err)
	}
	var n int
	var company string
	if err := pool.QueryRow(ctx, `SELECT count(*), max(data->>'CompanyID') FROM notifier_outbox`).Scan(&n, &company); err != nil {
		t.Fatal(err)
	}
	if n != 1 || company != "c1" {
		t.Fatalf("got %d rows with CompanyID %q, want the first message once", n, company)
	}
	if err := notifier.Enqueue(ctx, pool, notifier.Message{Template: "x", To: "y"}); err == nil {
		t.Fatal("a message without a key was enqueued")
	}
}

func TestEnqueueOfAGroupReplacesItsPendingMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	later := time.Now().Add(time.Hour)
	first := notifier.Message{Key: "k1", Template: "listing_expiring", To: "a@example.org", Group: "g", NotBefore: later}
	second := notifier.Message{Key: "k2", Template: "listing_expiring", To: "a@example.org", Group: "g", NotBefore: later}
	if err := notifier.Enqueue(ctx, pool, first, second, first); err != nil {
		t.Fatal(err)
	}
	if got := outboxStates(t, pool); got["k1"] != "canceled" || got["k2"] != "pending" {
		t.Fatalf("states %v, want k1 canceled by k2, and k1's repetition a no-op", got)
	}
	if err := notifier.Cancel(ctx, pool, "g"); err != nil {
		t.Fatal(err)
	}
	if got := outboxStates(t, pool); got["k2"] != "canceled" {
		t.Fatalf("states %v, want k2 canceled", got)
	}
}
