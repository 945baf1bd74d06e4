package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/jobboard/jobboard/domain"
)

// Clock tells the time; tests inject a movable one.
type Clock func() time.Time

// IDGenerator makes the ids of new aggregates and payments (UUID strings).
type IDGenerator func() string

// NewUUIDv7 is the production IDGenerator: time-ordered UUIDs, kind to B-tree indexes.
func NewUUIDv7() string { return uuid.Must(uuid.NewV7()).String() }

// Stream is a stream's history as a handler needs it.
type Stream struct {
	ID string
	// Type is the stream type of its events ("job"), "" when it does not exist.
	Type string
	// Version is the number of events in the stream; 0 when it does not exist.
	Version int64
	// Events are the decoded events, in version order.
	Events []domain.Event
}

// Claim reserves a unique key within a scope (one company per e-mail address) for a stream.
type Claim struct {
	Scope    string
	Key      string
	StreamID string
}

// Scopes of claims.
const (
	ClaimCompanyEmail   = "company_email"
	ClaimCandidateEmail = "candidate_email"
	// ClaimApplication holds domain.ApplicationKey(job, candidate): one application per
	// candidate and job, whatever the (random) application id.
	ClaimApplication = "application"
)

// Credential is a bearer token's hash and whom it authenticates; the token itself is never
// stored. A subject has one token: storing a credential replaces the subject's previous
// one in the same transaction, so a rotated token stops authenticating when the rotation
// commits.
type Credential struct {
	TokenHash []byte
	Role      Role
	SubjectID string
	// IssuedAt is when the token was made (registration or rotation), shown as created_at.
	IssuedAt time.Time
}

// ListingSchedule is the change an append makes to the write-side schedule of listing
// expiries: a published job is scheduled to expire at ExpiresAt; a closed or expired job is
// unscheduled (Remove).
type ListingSchedule struct {
	JobID     string
	ExpiresAt time.Time
	Remove    bool
}

// AppendRequest is one atomic write: the events, appended only if the stream is at
// ExpectedVersion, and the side rows that must commit with them or not at all.
type AppendRequest struct {
	StreamID   string
	StreamType string
	// ExpectedVersion is the stream's version the events follow; 0 means the stream must not
	// exist yet.
	ExpectedVersion int64
	Events          []domain.Event
	Metadata        Metadata
	// Claims are reserved in the same transaction; a taken one fails the whole append with a
	// *ClaimTakenError.
	Claims []Claim
	// Credential, if set, is stored in the same transaction.
	Credential *Credential
	// Schedule, if set, updates the listing schedule in the same transaction.
	Schedule *ListingSchedule
}

// EventStore is the event store as handlers use it.
type EventStore interface {
	// Load returns a stream's decoded history; a stream that does not exist has version 0 and
	// no events.
	Load(ctx context.Context, streamID string) (Stream, error)
	// Append writes req atomically and returns the stream's new version. It returns an error
	// wrapping ErrConcurrencyConflict when the stream is not at req.ExpectedVersion, and a
	// *ClaimTakenError when a claim is held by another stream.
	Append(ctx context.Context, req AppendRequest) (int64, error)
}

// DueListings finds published jobs whose listing has run out, for the ExpiryScheduler.
type DueListings interface {
	// ClaimDueListings returns up to limit jobs scheduled to expire at or before now that no
	// other scheduler has claimed, and claims them for lease (so several schedulers share the
	// work instead of doing it twice). A claim that is not resolved by an expiry lapses after
	// the lease, so a crashed scheduler's jobs are picked up again.
	ClaimDueListings(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]string, error)
}

// PaymentIntentRequest asks the payment provider for a charge.
type PaymentIntentRequest struct {
	// Amount in minor units of Currency.
	Amount   int64
	Currency string
	// IdempotencyKey makes a retried request return the first intent instead of charging
	// twice; it is derived from the payment id.
	IdempotencyKey string
	// Metadata is stored with the intent and comes back in webhooks (job_id, payment_id).
	Metadata    map[string]string
	Description string
}

// PaymentIntent is the provider's answer.
type PaymentIntent struct {
	ID           string
	ClientSecret string
	Amount       int64
	Currency     string
	Status       string
}

// RefundRequest asks the payment provider to refund a PaymentIntent in full.
type RefundRequest struct {
	PaymentIntentID string
	// IdempotencyKey makes a repeated refund (a redelivered webhook, a retried command) return
	// the first refund instead of refunding twice; it is derived from the payment id.
	IdempotencyKey string
	// Metadata is stored with the refund (job_id, payment_id, reason).
	Metadata map[string]string
}

// Refund is the provider's answer to a RefundRequest.
type Refund struct {
	ID     string
	Status string
}

// PaymentGateway talks to the payment provider (Stripe). Implementations return
// *apperr.Error (Unavailable when the provider cannot be reached, Conflict when the intent
// is in a state that forbids the call, Internal otherwise).
type PaymentGateway interface {
	CreatePaymentIntent(ctx context.Context, req PaymentIntentRequest) (PaymentIntent, error)
	// PaymentIntent retrieves an intent (for its client secret, to hand out again).
	PaymentIntent(ctx context.Context, id string) (PaymentIntent, error)
	// CancelPaymentIntent cancels an intent; canceling an intent already canceled is not an
	// error, one that already succeeded is a Conflict.
	CancelPaymentIntent(ctx context.Context, id string) error
	// RefundPayment refunds a PaymentIntent that succeeded.
	RefundPayment(ctx context.Context, req RefundRequest) (Refund, error)
}

// ErrConcurrencyConflict: the stream was not at the expected version. EventStore adapters
// wrap it.
var ErrConcurrencyConflict = errors.New("concurrency conflict")

// ClaimTakenError: a unique claim is held by another stream.
type ClaimTakenError struct {
	Scope, Key string
}

func (e *ClaimTakenError) Error() string {
	return fmt.Sprintf("claim %s %q is taken", e.Scope, e.Key)
}
