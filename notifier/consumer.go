package notifier

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/projections"
)

// ConsumerName is the permanent name of the notifier's consumer group (and dead-letter
// topic): renaming it would decide every message of the retained history again.
const ConsumerName = "Notifier"

// ConsumerConfig configures a Consumer.
type ConsumerConfig struct {
	// Rules decide the messages. Required.
	Rules *Rules
	// MaxEventAge: events recorded longer ago than this cause no message (their contacts
	// are still kept), so a new consumer group starting at the oldest retained event does
	// not mail the whole history. Default 48h.
	MaxEventAge time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Consumer is the notifier's side of the event stream: a projections.Projector, so the
// projections' runner gives it a consumer group, retries with backoff and the poison queue.
// It keeps the contacts the messages need and records the messages its rules decide, all in
// one transaction per batch.
type Consumer struct {
	pool *pgxpool.Pool
	cfg  ConsumerConfig
}

var _ projections.Projector = (*Consumer)(nil)

// NewConsumer builds the consumer.
func NewConsumer(pool *pgxpool.Pool, cfg ConsumerConfig) (*Consumer, error) {
	if pool == nil || cfg.Rules == nil {
		return nil, errors.New("notifier: new consumer: pool and rules are required")
	}
	if cfg.MaxEventAge == 0 {
		cfg.MaxEventAge = 48 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Consumer{pool: pool, cfg: cfg}, nil
}

// Name is ConsumerName.
func (c *Consumer) Name() string { return ConsumerName }

// StreamTypes are every stream type: contacts come from companies, candidates and jobs;
// sign_in streams ask for sign-in links (web/).
func (c *Consumer) StreamTypes() []string {
	return []string{domain.StreamTypeCompany, domain.StreamTypeCandidate, domain.StreamTypeJob, domain.StreamTypeApplication,
		domain.StreamTypeSignInLink}
}

// Apply keeps the contacts and enqueues the decided messages of events, all or nothing.
func (c *Consumer) Apply(ctx context.Context, events []Event) error {
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return projections.Transient(fmt.Errorf("notifier: begin: %w", err))
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	oldest := c.cfg.Now().Add(-c.cfg.MaxEventAge)
	ctx = context.WithValue(ctx, txKey{}, tx)
	for _, ev := range events {
		if err := keepContact(ctx, tx, ev); err != nil {
			return err
		}
		if err := keepPayment(ctx, tx, ev); err != nil {
			return err
		}
		if err := cancelOn(ctx, tx, ev); err != nil {
			return err
		}
		if ev.RecordedAt.Before(oldest) {
			continue
		}
		msgs, err := c.cfg.Rules.Decide(ctx, ev)
		if err != nil {
			return err
		}
		if err := Enqueue(ctx, tx, msgs...); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return projections.Transient(fmt.Errorf("notifier: commit: %w", err))
	}
	return nil
}

// keepContact records the names and addresses of registrations and the titles of jobs.
func keepContact(ctx context.Context, tx pgx.Tx, ev Event) error {
	var ref, name, email string
	switch p := ev.Payload.(type) {
	case *domain.CompanyRegistered:
		ref, name, email = CompanyRef(p.CompanyID), p.Name, p.Email
	case *domain.CandidateRegistered:
		ref, name, email = CandidateRef(p.CandidateID), p.Name, p.Email
	case *domain.JobPosted:
		ref, name = JobRef(p.JobID), p.Details.Title()
	case *domain.JobDetailsChanged:
		ref, name = JobRef(p.JobID), p.Details.Title()
	default:
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO notifier_contacts (ref, name, email, stream_version) VALUES ($1, $2, $3, $4)
		ON CONFLICT (ref) DO UPDATE SET name = excluded.name, email = excluded.email,
			stream_version = excluded.stream_version, updated_at = now()
		WHERE notifier_contacts.stream_version < excluded.stream_version`, ref, name, email, ev.StreamVersion)
	if err != nil {
		return projections.Transient(fmt.Errorf("notifier: keep contact %s: %w", ref, err))
	}
	return nil
}

// keepPayment records the terms of a requested listing payment for its receipt.
func keepPayment(ctx context.Context, tx pgx.Tx, ev Event) error {
	p, ok := ev.Payload.(*domain.ListingPaymentRequested)
	if !ok {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO notifier_payments (payment_id, payment_intent_id, duration_seconds)
		VALUES ($1, $2, $3) ON CONFLICT (payment_id) DO NOTHING`, p.PaymentID, p.PaymentIntentID, p.DurationSeconds)
	if err != nil {
		return projections.Transient(fmt.Errorf("notifier: keep payment %s: %w", p.PaymentID, err))
	}
	return nil
}

// cancelOn cancels the scheduled warnings whose reason went away: a listing closed or
// expired needs no expiry warning.
func cancelOn(ctx context.Context, tx pgx.Tx, ev Event) error {
	switch p := ev.Payload.(type) {
	case *domain.JobClosed:
		return Cancel(ctx, tx, ExpiryWarningGroup(p.JobID))
	case *domain.JobExpired:
		return Cancel(ctx, tx, ExpiryWarningGroup(p.JobID))
	}
	return nil
}

// ExpiryWarningGroup is the group of a job's "listing expiring" message: a renewal's new
// warning replaces the pending one, closing or expiring the job cancels it.
func ExpiryWarningGroup(jobID string) string { return "listing_expiring:" + jobID }
