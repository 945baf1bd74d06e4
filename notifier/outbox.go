package notifier

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// claimed is an outbox row a sender holds for a while (its lease).
type claimed struct {
	Key, Template, Recipient string
	Refs                     map[string]string
	Data                     map[string]any
	Headers                  map[string]string
	Attempts                 int
	Essential                bool
}

// claim takes up to n due pending messages and moves their next attempt past lease, so no
// other sender takes them meanwhile; SKIP LOCKED lets several senders claim at once without
// waiting for each other. A sender that dies leaves its claims to be taken again when the
// lease ends: a message may then be sent twice, with the same Message-ID.
func claim(ctx context.Context, pool *pgxpool.Pool, n int, lease time.Duration) ([]claimed, error) {
	rows, err := pool.Query(ctx, `UPDATE notifier_outbox o SET next_attempt_at = now() + $2::interval, updated_at = now()
		FROM (SELECT key FROM notifier_outbox WHERE state = 'pending' AND next_attempt_at <= now()
		      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) due
		WHERE o.key = due.key
		RETURNING o.key, o.template, o.recipient, o.refs, o.data, o.headers, o.attempts, o.essential`, n, lease.String())
	if err != nil {
		return nil, fmt.Errorf("notifier: claim: %w", err)
	}
	defer rows.Close()
	var out []claimed
	for rows.Next() {
		var c claimed
		var refs, data, headers []byte
		if err := rows.Scan(&c.Key, &c.Template, &c.Recipient, &refs, &data, &headers, &c.Attempts, &c.Essential); err != nil {
			return nil, fmt.Errorf("notifier: claim: %w", err)
		}
		if err := json.Unmarshal(refs, &c.Refs); err != nil {
			return nil, fmt.Errorf("notifier: claim %s: refs: %w", c.Key, err)
		}
		if err := json.Unmarshal(data, &c.Data); err != nil {
			return nil, fmt.Errorf("notifier: claim %s: data: %w", c.Key, err)
		}
		if err := json.Unmarshal(headers, &c.Headers); err != nil {
			return nil, fmt.Errorf("notifier: claim %s: headers: %w", c.Key, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// markSent records messages as sent (keys[i] with Message-ID ids[i]) in one statement. Its
// commit does not wait for the disk (synchronous_commit off): a mark lost to a crash of
// PostgreSQL only means a resend with the same Message-ID, which at-least-once allows.
func markSent(ctx context.Context, pool *pgxpool.Pool, keys, ids []string) error {
	if len(keys) == 0 {
		return nil
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("notifier: mark sent: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return fmt.Errorf("notifier: mark sent: %w", err)
	}
	_, err = tx.Exec(ctx, `UPDATE notifier_outbox o SET state = 'sent', attempts = o.attempts + 1, message_id = s.id,
		last_error = '', sent_at = now(), updated_at = now()
		FROM unnest($1::text[], $2::text[]) AS s(key, id)
		WHERE o.key = s.key AND o.state = 'pending'`, keys, ids)
	if err != nil {
		return fmt.Errorf("notifier: mark %d messages sent: %w", len(keys), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("notifier: mark sent: %w", err)
	}
	return nil
}

// markFailed records a failed attempt: the message is tried again after retryIn, or is dead
// when dead is true.
func markFailed(ctx context.Context, pool *pgxpool.Pool, key, messageID string, cause error, retryIn time.Duration, dead bool) error {
	state := "pending"
	if dead {
		state = "dead"
	}
	_, err := pool.Exec(ctx, `UPDATE notifier_outbox SET state = $2, attempts = attempts + 1, message_id = $3,
		last_error = $4, next_attempt_at = now() + $5::interval, updated_at = now()
		WHERE key = $1 AND state = 'pending'`, key, state, messageID, truncate(cause.Error(), 2000), retryIn.String())
	if err != nil {
		return fmt.Errorf("notifier: mark %s failed: %w", key, err)
	}
	return nil
}

// cancelMessage cancels one pending message, saying why.
func cancelMessage(ctx context.Context, pool *pgxpool.Pool, key, why string) error {
	_, err := pool.Exec(ctx, `UPDATE notifier_outbox SET state = 'canceled', last_error = $2, updated_at = now()
		WHERE key = $1 AND state = 'pending'`, key, why)
	if err != nil {
		return fmt.Errorf("notifier: cancel %s: %w", key, err)
	}
	return nil
}

// release gives claims back without counting an attempt: the mail server could not be
// reached, which says nothing about the messages.
func release(ctx context.Context, pool *pgxpool.Pool, keys []string, cause error, retryIn time.Duration) error {
	_, err := pool.Exec(ctx, `UPDATE notifier_outbox SET last_error = $2, next_attempt_at = now() + $3::interval,
		updated_at = now() WHERE key = ANY($1) AND state = 'pending'`, keys, truncate(cause.Error(), 2000), retryIn.String())
	if err != nil {
		return fmt.Errorf("notifier: release claims: %w", err)
	}
	return nil
}

// resolveContacts looks up the contacts of refs (one query); unknown refs are missing.
func resolveContacts(ctx context.Context, pool *pgxpool.Pool, refs []string) (map[string]Contact, error) {
	out := map[string]Contact{}
	if len(refs) == 0 {
		return out, nil
	}
	rows, err := pool.Query(ctx, `SELECT ref, name, email FROM notifier_contacts WHERE ref = ANY($1)`, refs)
	if err != nil {
		return nil, fmt.Errorf("notifier: contacts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ref string
		var c Contact
		if err := rows.Scan(&ref, &c.Name, &c.Email); err != nil {
			return nil, fmt.Errorf("notifier: contacts: %w", err)
		}
		out[ref] = c
	}
	return out, rows.Err()
}

// Status is the outbox at a glance: messages per state, the oldest pending one's age and the
// dead messages (newest first) with their errors.
type Status struct {
	Pending, Sent, Dead, Canceled int64
	// OldestPending is the age of the oldest due pending message (0: none due).
	OldestPending time.Duration
	DeadMessages  []DeadMessage
}

// DeadMessage is a message given up on.
type DeadMessage struct {
	Key, Template, Recipient, LastError string
	Attempts                            int
	UpdatedAt                           time.Time
}

// ReadStatus reads the outbox's Status with up to deadLimit dead messages.
func ReadStatus(ctx context.Context, pool *pgxpool.Pool, deadLimit int) (Status, error) {
	var s Status
	var oldest float64
	err := pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'sent'),
		count(*) FILTER (WHERE state = 'dead'), count(*) FILTER (WHERE state = 'canceled'),
		coalesce(extract(epoch FROM now() - min(next_attempt_at) FILTER (WHERE state = 'pending' AND next_attempt_at <= now())), 0)
		FROM notifier_outbox`).Scan(&s.Pending, &s.Sent, &s.Dead, &s.Canceled, &oldest)
	if err != nil {
		return Status{}, fmt.Errorf("notifier: status: %w", err)
	}
	s.OldestPending = time.Duration(oldest * float64(time.Second))
	if deadLimit <= 0 {
		return s, nil
	}
	rows, err := pool.Query(ctx, `SELECT key, template, recipient, last_error, attempts, updated_at FROM notifier_outbox
		WHERE state = 'dead' ORDER BY updated_at DESC LIMIT $1`, deadLimit)
	if err != nil {
		return Status{}, fmt.Errorf("notifier: status: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d DeadMessage
		if err := rows.Scan(&d.Key, &d.Template, &d.Recipient, &d.LastError, &d.Attempts, &d.UpdatedAt); err != nil {
			return Status{}, fmt.Errorf("notifier: status: %w", err)
		}
		s.DeadMessages = append(s.DeadMessages, d)
	}
	return s, rows.Err()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
