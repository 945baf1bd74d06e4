package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

// ListingPrices are the prices and duration of listings, from configuration. They are fixed
// into each payment request, so a company pays what it was quoted.
type ListingPrices struct {
	// Standard is the price of a standard listing. Default 49.00 EUR.
	Standard domain.Money
	// Featured is the price of a featured listing (pinned on top). Default 99.00 EUR.
	Featured domain.Money
	// Duration is how long a paid listing stays published. Default 30 days.
	Duration time.Duration
}

// DefaultListingDuration is how long a listing lasts unless configured otherwise.
const DefaultListingDuration = 30 * 24 * time.Hour

func (p *ListingPrices) setDefaults() {
	if p.Standard.IsZero() {
		p.Standard, _ = domain.NewMoney(4900, "EUR")
	}
	if p.Featured.IsZero() {
		p.Featured, _ = domain.NewMoney(9900, "EUR")
	}
	if p.Duration == 0 {
		p.Duration = DefaultListingDuration
	}
}

// Validate reports every problem with the prices.
func (p ListingPrices) Validate() error {
	var errs []error
	if p.Duration < time.Hour {
		errs = append(errs, fmt.Errorf("listing duration %s is shorter than an hour", p.Duration))
	}
	if p.Standard.IsZero() || p.Standard.Amount() <= 0 {
		errs = append(errs, errors.New("standard listing price must be positive"))
	}
	if p.Featured.IsZero() || p.Featured.Amount() <= 0 {
		errs = append(errs, errors.New("featured listing price must be positive"))
	}
	return errors.Join(errs...)
}

func (p ListingPrices) price(plan domain.ListingPlan) domain.Money {
	if plan == domain.ListingPlanFeatured {
		return p.Featured
	}
	return p.Standard
}

// PayForListing starts paying for a job's listing, or renewing a closed or expired one
// (POST /v1/jobs/{id}/payments).
type PayForListing struct {
	Caller Caller
	JobID  string
	// Plan is "standard" or "featured".
	Plan string
	// ExpectedVersion is the client's If-Match, nil if none.
	ExpectedVersion *int64
}

// PaymentStatusRequiresPayment is the status of a payment just requested.
const PaymentStatusRequiresPayment = "requires_payment"

// PaymentResult answers PayForListing: Result names the job; the rest is what the client
// needs to pay (the Stripe PaymentIntent and its client secret).
type PaymentResult struct {
	Result
	PaymentID       string
	PaymentIntentID string
	ClientSecret    string
	// Amount in minor units of Currency (ISO 4217, upper case).
	Amount   int64
	Currency string
	Status   string
}

// PayForListingHandler handles PayForListing.
type PayForListingHandler struct {
	store   EventStore
	gateway PaymentGateway
	clock   Clock
	ids     IDGenerator
	prices  ListingPrices
}

// NewPayForListingHandler returns a handler; every dependency is required, zero prices take
// their defaults.
func NewPayForListingHandler(store EventStore, gateway PaymentGateway, clock Clock, ids IDGenerator, prices ListingPrices) (*PayForListingHandler, error) {
	if err := required(store, gateway, clock, ids); err != nil {
		return nil, fmt.Errorf("new pay for listing handler: %w", err)
	}
	prices.setDefaults()
	if err := prices.Validate(); err != nil {
		return nil, fmt.Errorf("new pay for listing handler: %w", err)
	}
	return &PayForListingHandler{store: store, gateway: gateway, clock: clock, ids: ids, prices: prices}, nil
}

// Handle checks with the job that a payment may start, creates the PaymentIntent (its
// Stripe idempotency key derives from the payment id, so a retry never charges twice) and
// records ListingPaymentRequested with the intent's id.
//
// The payment id derives from the client's Idempotency-Key when there is one, so a request
// retried after a crash finds its first payment (and intent) again instead of starting a
// second one; without a key every request is a new payment.
func (h *PayForListingHandler) Handle(ctx context.Context, cmd PayForListing) (PaymentResult, error) {
	companyID := cmd.Caller.Actor.ID
	if err := requireRole(cmd.Caller.Actor, RoleEmployer); err != nil {
		return PaymentResult{}, err
	}
	plan, err := domain.ParseListingPlan(cmd.Plan)
	if err != nil {
		return PaymentResult{}, invalidField("plan", err.Error())
	}
	paymentID := h.ids()
	if key := cmd.Caller.IdempotencyKey; key != "" {
		// A name-based UUID (version 5, RFC 9562).
		paymentID = uuid.NewSHA1(paymentNamespace, []byte("listing-payment\x00"+companyID+"\x00"+cmd.JobID+"\x00"+key)).String()
	}
	req := domain.ListingPaymentRequest{PaymentID: paymentID, Plan: plan, Price: h.prices.price(plan), Duration: h.prices.Duration}
	var intent PaymentIntent
	x := execution{store: h.store, streamID: cmd.JobID, pinned: cmd.ExpectedVersion, authorize: ownedJob(companyID),
		metadata: cmd.Caller.metadata("PayForListing", h.ids), what: "job"}
	res, err := x.run(ctx, func(ctx context.Context, s Stream) (decision, error) {
		now := h.clock()
		// Ask the job first: nothing is charged for a payment it refuses.
		probe, err := loadOwnedJob(s, companyID)
		if err != nil {
			return decision{}, err
		}
		if err := probe.RequestListingPayment(companyID, req, now); err != nil {
			return decision{}, err
		}
		intent, err = h.gateway.CreatePaymentIntent(ctx, PaymentIntentRequest{
			Amount:         req.Price.Amount(),
			Currency:       strings.ToLower(req.Price.Currency().String()),
			IdempotencyKey: "jobboard-listing-payment-" + paymentID,
			Metadata:       map[string]string{"job_id": cmd.JobID, "payment_id": paymentID, "plan": plan.String()},
			Description:    "jobboard " + plan.String() + " listing of job " + cmd.JobID,
		})
		if err != nil {
			return decision{}, err
		}
		if len(probe.Changes()) == 0 {
			return decision{}, nil // the same payment was requested before
		}
		job, err := loadJob(s)
		if err != nil {
			return decision{}, err
		}
		withIntent := req
		withIntent.PaymentIntentID = intent.ID
		if err := job.RequestListingPayment(companyID, withIntent, now); err != nil {
			return decision{}, err
		}
		return decision{streamType: job.StreamType(), events: job.Changes()}, nil
	})
	if err != nil {
		return PaymentResult{}, err
	}
	return PaymentResult{
		Result:          res,
		PaymentID:       paymentID,
		PaymentIntentID: intent.ID,
		ClientSecret:    intent.ClientSecret,
		Amount:          req.Price.Amount(),
		Currency:        req.Price.Currency().String(),
		Status:          PaymentStatusRequiresPayment,
	}, nil
}

// ConfirmListingPayment is the payment provider saying a listing payment succeeded (the
// webhook's payment_intent.succeeded; job_id and payment_id come from the intent's metadata).
type ConfirmListingPayment struct {
	Caller    Caller
	JobID     string
	PaymentID string
	// PaymentIntentID, when given, must be the intent recorded with the payment request.
	PaymentIntentID string
	// Amount received, in minor units of Currency (any case: Stripe writes "eur").
	Amount   int64
	Currency string
	// PaidAt is when the provider took the money (the webhook event's time); the handler's
	// clock when zero. The listing runs from then.
	PaidAt time.Time
}

// ConfirmListingPaymentHandler handles ConfirmListingPayment.
type ConfirmListingPaymentHandler struct {
	store EventStore
	clock Clock
	ids   IDGenerator
	log   *slog.Logger
}

// NewConfirmListingPaymentHandler returns a handler; every dependency is required.
func NewConfirmListingPaymentHandler(store EventStore, clock Clock, ids IDGenerator, log *slog.Logger) (*ConfirmListingPaymentHandler, error) {
	if err := required(store, clock, ids, log); err != nil {
		return nil, fmt.Errorf("new confirm listing payment handler: %w", err)
	}
	return &ConfirmListingPaymentHandler{store: store, clock: clock, ids: ids, log: log}, nil
}

// Handle records ListingPaid and JobPublished (scheduling the expiry). A duplicate delivery
// changes nothing and answers the current version. A payment whose amount, currency or
// intent differs from the request is refused with apperr.Unprocessable, logged, and changes
// nothing; an unknown payment is apperr.NotFound.
func (h *ConfirmListingPaymentHandler) Handle(ctx context.Context, cmd ConfirmListingPayment) (Result, error) {
	if err := requireRole(cmd.Caller.Actor, RoleSystem, RoleOperator); err != nil {
		return Result{}, err
	}
	paidAt := cmd.PaidAt
	if paidAt.IsZero() {
		paidAt = h.clock()
	}
	x := execution{store: h.store, streamID: cmd.JobID, metadata: cmd.Caller.metadata("ConfirmListingPayment", h.ids), what: "job"}
	res, err := x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		job, err := loadJob(s)
		if err != nil {
			return decision{}, err
		}
		if pay, ok := job.Payment(cmd.PaymentID); ok && cmd.PaymentIntentID != "" && pay.IntentID != "" && pay.IntentID != cmd.PaymentIntentID {
			return decision{}, apperr.New(apperr.Unprocessable, "payment %s was requested with another payment intent", cmd.PaymentID)
		}
		if err := job.ConfirmListingPayment(cmd.PaymentID, cmd.Amount, cmd.Currency, paidAt); err != nil {
			return decision{}, err
		}
		return decision{streamType: job.StreamType(), events: job.Changes()}, nil
	})
	if apperr.CodeOf(err) == apperr.Unprocessable {
		h.log.WarnContext(ctx, "listing payment confirmation refused",
			"job_id", cmd.JobID, "payment_id", cmd.PaymentID, "payment_intent_id", cmd.PaymentIntentID,
			"amount", cmd.Amount, "currency", cmd.Currency, "error", err)
	}
	return res, err
}

// FailListingPayment is the payment provider saying an attempt to pay failed (the webhook's
// payment_intent.payment_failed).
type FailListingPayment struct {
	Caller    Caller
	JobID     string
	PaymentID string
	// Reason is the provider's failure code or message, for the record.
	Reason string
	// FailedAt is the webhook event's time; the handler's clock when zero.
	FailedAt time.Time
}

// FailListingPaymentHandler handles FailListingPayment.
type FailListingPaymentHandler struct {
	store EventStore
	clock Clock
	ids   IDGenerator
}

// NewFailListingPaymentHandler returns a handler; every dependency is required.
func NewFailListingPaymentHandler(store EventStore, clock Clock, ids IDGenerator) (*FailListingPaymentHandler, error) {
	if err := required(store, clock, ids); err != nil {
		return nil, fmt.Errorf("new fail listing payment handler: %w", err)
	}
	return &FailListingPaymentHandler{store: store, clock: clock, ids: ids}, nil
}

// Handle records ListingPaymentFailed; nothing when the payment already failed or was paid
// (a late or repeated delivery).
func (h *FailListingPaymentHandler) Handle(ctx context.Context, cmd FailListingPayment) (Result, error) {
	if err := requireRole(cmd.Caller.Actor, RoleSystem, RoleOperator); err != nil {
		return Result{}, err
	}
	failedAt := cmd.FailedAt
	if failedAt.IsZero() {
		failedAt = h.clock()
	}
	x := execution{store: h.store, streamID: cmd.JobID, metadata: cmd.Caller.metadata("FailListingPayment", h.ids), what: "job"}
	return x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		job, err := loadJob(s)
		if err != nil {
			return decision{}, err
		}
		if err := job.FailListingPayment(cmd.PaymentID, cmd.Reason, failedAt); err != nil {
			return decision{}, err
		}
		return decision{streamType: job.StreamType(), events: job.Changes()}, nil
	})
}

// paymentNamespace is the UUID namespace of payment ids derived from idempotency keys.
// Never change it.
var paymentNamespace = uuid.UUID{
	0x5b, 0x1e, 0x2f, 0x8c, 0x3d, 0x4a, 0x4e, 0x71, 0x9a, 0x0c, 0x6f, 0x2d, 0x11, 0x8e, 0x73, 0x42,
}
