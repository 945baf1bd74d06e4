package notifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Message is one email to be sent: what the rules decide and Enqueue records.
type Message struct {
	// Key is the deterministic idempotency key: a message with a key already in the outbox
	// is not added again. Build it with Key(eventID, template, recipient).
	Key string
	// Template names the files notifier/templates/<Template>.{subject,html,txt}.tmpl.
	Template string
	// To is an email address, or a contact reference (CandidateRef, CompanyRef) resolved
	// from the notifier's contacts when the message is sent: a registration event and an
	// event that needs its address may arrive in either order.
	To string
	// Refs are further contact references the template reads by name, resolved when sending
	// into {Name, Email} (e.g. "Candidate": CandidateRef(id), "Job": JobRef(id), whose Name
	// is the job's title).
	Refs map[string]string
	// Data is what the template reads by key; it is stored as JSON, so values come back as
	// JSON types (numbers as float64).
	Data map[string]any
	// Headers are extra mail headers (List-Unsubscribe, …).
	Headers map[string]string
	// Essential messages (receipts, security, what a user asked for) go out whatever the
	// recipient's preferences; the others may be turned off.
	Essential bool
	// NotBefore delays the first attempt (a warning due before a deadline); zero: now.
	NotBefore time.Time
	// Group, when set, makes messages replace each other: enqueueing one cancels the pending
	// messages of its group (a renewed listing's new expiry warning replaces the old one).
	Group string
}

// Key is the idempotency key of the message of template caused by eventID for recipient.
func Key(eventID, template, recipient string) string {
	return eventID + "/" + template + "/" + recipient
}

// Contact references, resolved from the notifier's contacts when a message is sent.
func CandidateRef(id string) string { return "candidate:" + id }
func CompanyRef(id string) string   { return "company:" + id }
func JobRef(id string) string       { return "job:" + id }

// MessageID is the Message-ID (without angle brackets) of the message with key, the same
// on every attempt and every instance.
func MessageID(key, domain string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16]) + "@" + domain
}

// DB is what Enqueue needs: a pgx transaction, connection or pool.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Enqueue records msgs in the outbox; a key already there is left alone (a redelivered
// event adds nothing). Called inside a transaction, the messages are recorded with it.
func Enqueue(ctx context.Context, db DB, msgs ...Message) error {
	for _, m := range msgs {
		if m.Key == "" || m.Template == "" || m.To == "" {
			return fmt.Errorf("notifier: enqueue: message %q of template %q to %q lacks a key, template or recipient", m.Key, m.Template, m.To)
		}
		refs, err := json.Marshal(nonNil(m.Refs))
		if err != nil {
			return fmt.Errorf("notifier: enqueue %s: refs: %w", m.Key, err)
		}
		data, err := json.Marshal(nonNil(m.Data))
		if err != nil {
			return fmt.Errorf("notifier: enqueue %s: data: %w", m.Key, err)
		}
		headers, err := json.Marshal(nonNil(m.Headers))
		if err != nil {
			return fmt.Errorf("notifier: enqueue %s: headers: %w", m.Key, err)
		}
		var notBefore *time.Time
		if !m.NotBefore.IsZero() {
			notBefore = &m.NotBefore
		}
		tag, err := db.Exec(ctx, `INSERT INTO notifier_outbox
			(key, template, recipient, refs, data, headers, essential, grp, next_attempt_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, now()))
			ON CONFLICT (key) DO NOTHING`,
			m.Key, m.Template, m.To, refs, data, headers, m.Essential, m.Group, notBefore)
		if err != nil {
			return fmt.Errorf("notifier: enqueue %s: %w", m.Key, err)
		}
		if tag.RowsAffected() == 1 && m.Group != "" {
			if _, err := db.Exec(ctx, `UPDATE notifier_outbox SET state = 'canceled', updated_at = now()
				WHERE grp = $1 AND state = 'pending' AND key <> $2`, m.Group, m.Key); err != nil {
				return fmt.Errorf("notifier: enqueue %s: replace group %s: %w", m.Key, m.Group, err)
			}
		}
	}
	return nil
}

// Cancel cancels the pending messages of group (the reason for them went away).
func Cancel(ctx context.Context, db DB, group string) error {
	if _, err := db.Exec(ctx, `UPDATE notifier_outbox SET state = 'canceled', updated_at = now()
		WHERE grp = $1 AND state = 'pending'`, group); err != nil {
		return fmt.Errorf("notifier: cancel group %s: %w", group, err)
	}
	return nil
}

func nonNil[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return m
}
