package api

import (
	"context"
	"time"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
)

// The ports the HTTP adapter drives. They are declared here, small and in HTTP-neutral terms,
// and implemented in internal/app on top of commands/ (which knows nothing of HTTP). Every
// method returns *apperr.Error for anything the client should see; anything else is a 500.

// CommandMeta is what every command carries besides its own fields.
type CommandMeta struct {
	// Principal is the authenticated caller; the zero Principal on public routes and webhooks.
	Principal Principal
	// System names the component acting when there is no principal ("stripe").
	System string
	// CorrelationID ties the events to the request (X-Request-ID).
	CorrelationID string
	// CausationID is what caused the command (a Stripe event id for webhooks).
	CausationID string
	// IdempotencyKey is the client's Idempotency-Key, if any.
	IdempotencyKey string
}

// CommandResult is what every command answers.
type CommandResult struct {
	// ID is the affected aggregate.
	ID string
	// Version is the stream's version after the command. The API hands the client a signed
	// consistency token of (ID, Version), so its next queries can wait for the projections.
	Version int64
}

// RegisterCompanyParams registers an employer account.
type RegisterCompanyParams struct {
	Meta  CommandMeta
	Input domain.CompanyInput
}

// RegisterCandidateParams registers a candidate account.
type RegisterCandidateParams struct {
	Meta  CommandMeta
	Input domain.CandidateInput
}

// RegisteredAccount is a new account and its bearer token, shown once.
type RegisteredAccount struct {
	CommandResult
	Token string
}

// PostJobParams drafts a job for a company.
type PostJobParams struct {
	Meta      CommandMeta
	CompanyID string
	Details   domain.JobDetailsInput
}

// UpdateJobParams changes a job's details.
type UpdateJobParams struct {
	Meta      CommandMeta
	CompanyID string
	JobID     string
	// ExpectedVersion is If-Match; 0 means the client did not send one.
	ExpectedVersion int64
	Patch           domain.JobDetailsPatch
}

// PayForListingParams starts a listing payment.
type PayForListingParams struct {
	Meta            CommandMeta
	CompanyID       string
	JobID           string
	Plan            string
	ExpectedVersion int64
}

// ListingPaymentStarted is the PaymentIntent the client confirms with Stripe.
type ListingPaymentStarted struct {
	CommandResult
	// Created is false when this is the payment already open for the same plan (200, not 201).
	Created         bool
	PaymentID       string
	PaymentIntentID string
	ClientSecret    string
	Amount          int64
	Currency        string
	Status          string
}

// CloseJobParams closes a job.
type CloseJobParams struct {
	Meta            CommandMeta
	CompanyID       string
	JobID           string
	ExpectedVersion int64
}

// ApplyParams submits an application.
type ApplyParams struct {
	Meta        CommandMeta
	CandidateID string
	JobID       string
	ResumeURL   string
	CoverLetter string
}

// WithdrawApplicationParams withdraws an application.
type WithdrawApplicationParams struct {
	Meta            CommandMeta
	CandidateID     string
	ApplicationID   string
	ExpectedVersion int64
}

// ChangeApplicationStatusParams moves an application along its pipeline.
type ChangeApplicationStatusParams struct {
	Meta            CommandMeta
	CompanyID       string
	ApplicationID   string
	Status          string
	ExpectedVersion int64
}

// ConfirmListingPaymentParams records a payment Stripe says succeeded.
type ConfirmListingPaymentParams struct {
	Meta            CommandMeta
	JobID           string
	PaymentID       string
	PaymentIntentID string
	Amount          int64
	// Currency is ISO 4217, upper case.
	Currency string
	PaidAt   time.Time
}

// FailListingPaymentParams records a payment Stripe says failed.
type FailListingPaymentParams struct {
	Meta      CommandMeta
	JobID     string
	PaymentID string
	Reason    string
	FailedAt  time.Time
}

// RotateTokenParams replaces the caller's bearer token.
type RotateTokenParams struct {
	Meta CommandMeta
}

// RotatedToken is the caller's new bearer token, shown once.
type RotatedToken struct {
	CommandResult
	Token string
}

// Commands are the use cases behind the command routes.
type Commands interface {
	RegisterCompany(ctx context.Context, p RegisterCompanyParams) (RegisteredAccount, error)
	RegisterCandidate(ctx context.Context, p RegisterCandidateParams) (RegisteredAccount, error)
	PostJob(ctx context.Context, p PostJobParams) (CommandResult, error)
	UpdateJob(ctx context.Context, p UpdateJobParams) (CommandResult, error)
	PayForListing(ctx context.Context, p PayForListingParams) (ListingPaymentStarted, error)
	CloseJob(ctx context.Context, p CloseJobParams) (CommandResult, error)
	Apply(ctx context.Context, p ApplyParams) (CommandResult, error)
	WithdrawApplication(ctx context.Context, p WithdrawApplicationParams) (CommandResult, error)
	ChangeApplicationStatus(ctx context.Context, p ChangeApplicationStatusParams) (CommandResult, error)
	ConfirmListingPayment(ctx context.Context, p ConfirmListingPaymentParams) (CommandResult, error)
	FailListingPayment(ctx context.Context, p FailListingPaymentParams) (CommandResult, error)
	RotateToken(ctx context.Context, p RotateTokenParams) (RotatedToken, error)
}

// Credentials resolves a bearer token of an employer or candidate.
type Credentials interface {
	// Authenticate returns the principal whose token this is, or an *apperr.Error with code
	// Unauthorized when no account has it.
	Authenticate(ctx context.Context, token string) (Principal, error)
	// Describe returns what is stored about an employer's or candidate's token, or an
	// *apperr.Error with code Unauthorized when no account has it.
	Describe(ctx context.Context, token string) (TokenInfo, error)
}

// TokenInfo is what GET /v1/tokens/current shows of the caller's token.
type TokenInfo struct {
	Role      Role
	SubjectID string
	// CreatedAt is when the token was issued (registration or last rotation).
	CreatedAt time.Time
	// LastUsedAt is when it last authenticated a request, to within a minute; nil if never.
	LastUsedAt *time.Time
}

// EventReader is the raw history, for GET /v1/admin/events.
type EventReader interface {
	ReadAll(ctx context.Context, after eventstore.Position, limit int, filter eventstore.ReadFilter) ([]eventstore.Event, error)
	PositionOf(ctx context.Context, globalPosition int64) (eventstore.Position, error)
}
