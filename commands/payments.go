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
	// Created is false when the answer is the payment already open for the same plan.
	Created         bool
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

// Handle keeps one open payment per job. The same plan as the open payment answers that
// payment again (Created false; its intent is read back from Stripe for the client secret).
// Another plan, or no open payment, asks the job first (nothing is charged for a payment it
// refuses), cancels at Stripe the intents of the payments the job cancels, creates the new
// PaymentIntent and records ListingPaymentCanceled and ListingPaymentRequested.
//
// Racing requests must not open two intents. The payment id is derived from (job, number of
// payments the job has had, plan) — the job's payment "slot" — and the Stripe idempotency
// key from the payment id, so requests that decide on the same state ask Stripe for the same
// payment with the same key and get the same PaymentIntent; only one of them appends, the
// other's append loses the race, it decides again, finds that payment open and answers it.
// A request retried after a crash before its append derives the same id and key again, so
// no Idempotency-Key is needed for that. Unrelated changes of the job (details) do not move
// the slot. (Stripe keeps idempotency keys 24 hours; a slot is taken by its append within
// the request.)
func (h *PayForListingHandler) Handle(ctx context.Context, cmd PayForListing) (PaymentResult, error) {
	companyID := cmd.Caller.Actor.ID
	if err := requireRole(cmd.Caller.Actor, RoleEmployer); err != nil {
		return PaymentResult{}, err
	}
	plan, err := domain.ParseListingPlan(cmd.Plan)
	if err != nil {
		return PaymentResult{}, invalidField("plan", err.Error())
	}
	var (
		pay     domain.ListingPayment
		intent  PaymentIntent
		created bool
	)
	x := execution{store: h.store, streamID: cmd.JobID, pinned: cmd.ExpectedVersion, authorize: ownedJob(companyID),
		metadata: cmd.Caller.metadata("PayForListing", h.ids), what: "job"}
	res, err := x.run(ctx, func(ctx context.Context, s Stream) (decision, error) {
		now := h.clock()
		probe, err := loadOwnedJob(s, companyID)
		if err != nil {
			return decision{}, err
		}
		req := domain.ListingPaymentRequest{
			PaymentID: listingPaymentID(cmd.JobID, len(probe.Payments()), plan),
			Plan:      plan, Price: h.prices.price(plan), Duration: h.prices.Duration,
		}
		pay, err = probe.RequestListingPayment(companyID, req, now)
		if err != nil {
			return decision{}, err
		}
		if created = len(probe.Changes()) > 0; !created {
			intent, err = h.openIntent(ctx, cmd.JobID, pay)
			return decision{}, err
		}
		for _, e := range probe.Changes() {
			if c, ok := e.(*domain.ListingPaymentCanceled); ok && c.PaymentIntentID != "" {
				if err := h.gateway.CancelPaymentIntent(ctx, c.PaymentIntentID); err != nil {
					return decision{}, err
				}
			}
		}
		if intent, err = h.gateway.CreatePaymentIntent(ctx, intentRequest(cmd.JobID, pay)); err != nil {
			return decision{}, err
		}
		job, err := loadJob(s)
		if err != nil {
			return decision{}, err
		}
		req.PaymentIntentID = intent.ID
		if pay, err = job.RequestListingPayment(companyID, req, now); err != nil {
			return decision{}, err
		}
		return decision{streamType: job.StreamType(), events: job.Changes()}, nil
	})
	if err != nil {
		return PaymentResult{}, err
	}
	return PaymentResult{
		Result:          res,
		Created:         created,
		PaymentID:       pay.ID,
		PaymentIntentID: intent.ID,
		ClientSecret:    intent.ClientSecret,
		Amount:          pay.Price.Amount(),
		Currency:        pay.Price.Currency().String(),
		Status:          PaymentStatusRequiresPayment,
	}, nil
}

// openIntent is the PaymentIntent of the open payment, read back from Stripe; a payment
// recorded without one (an older history) gets it created, with the payment's own key.
func (h *PayForListingHandler) openIntent(ctx context.Context, jobID string, pay domain.ListingPayment) (PaymentIntent, error) {
	if pay.IntentID == "" {
		return h.gateway.CreatePaymentIntent(ctx, intentRequest(jobID, pay))
	}
	return h.gateway.PaymentIntent(ctx, pay.IntentID)
}

func intentRequest(jobID string, pay domain.ListingPayment) PaymentIntentRequest {
	return PaymentIntentRequest{
		Amount:         pay.Price.Amount(),
		Currency:       strings.ToLower(pay.Price.Currency().String()),
		IdempotencyKey: "jobboard-listing-payment-" + pay.ID,
		Metadata:       map[string]string{"job_id": jobID, "payment_id": pay.ID, "plan": pay.Plan.String()},
		Description:    "jobboard " + pay.Plan.String() + " listing of job " + jobID,
	}
}

// listingPaymentID is the id of the payment that takes the job's slot-th payment slot for
// plan: a name-based UUID (version 5, RFC 9562), the same for every request that decides on
// the same state.
func listingPaymentID(jobID string, slot int, plan domain.ListingPlan) string {
	return uuid.NewSHA1(paymentNamespace, []byte(fmt.Sprintf("listing-payment\x00%s\x00%d\x00%s", jobID, slot, plan))).String()
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
	store   EventStore
	gateway PaymentGateway
	clock   Clock
	ids     IDGenerator
	log     *slog.Logger
}

// NewConfirmListingPaymentHandler returns a handler; every dependency is required.
func NewConfirmListingPaymentHandler(store EventStore, gateway PaymentGateway, clock Clock, ids IDGenerator, log *slog.Logger) (*ConfirmListingPaymentHandler, error) {
	if err := required(store, gateway, clock, ids, log); err != nil {
		return nil, fmt.Errorf("new confirm listing payment handler: %w", err)
	}
	return &ConfirmListingPaymentHandler{store: store, gateway: gateway, clock: clock, ids: ids, log: log}, nil
}

// Handle records ListingPaid and JobPublished (scheduling the expiry). A payment that
// succeeded when nothing is due (domain.ErrNothingDue) is refunded through Stripe and
// recorded as ListingPaymentRefunded. The refund's idempotency key derives from the payment
// id, and a payment already refunded is a no-op before any call, so a redelivered or
// concurrent webhook never refunds twice. A duplicate delivery changes nothing and answers
// the current version. A payment whose amount, currency or intent differs from the request
// is refused with apperr.Unprocessable, logged, and changes nothing; an unknown payment is
// apperr.NotFound; losing the concurrency retries is apperr.Unavailable (see unavailableIfBusy).
func (h *ConfirmListingPaymentHandler) Handle(ctx context.Context, cmd ConfirmListingPayment) (Result, error) {
	if err := requireRole(cmd.Caller.Actor, RoleSystem, RoleOperator); err != nil {
		return Result{}, err
	}
	paidAt := cmd.PaidAt
	if paidAt.IsZero() {
		paidAt = h.clock()
	}
	x := execution{store: h.store, streamID: cmd.JobID, metadata: cmd.Caller.metadata("ConfirmListingPayment", h.ids), what: "job"}
	res, err := x.run(ctx, func(ctx context.Context, s Stream) (decision, error) {
		job, err := loadJob(s)
		if err != nil {
			return decision{}, err
		}
		pay, ok := job.Payment(cmd.PaymentID)
		if ok && cmd.PaymentIntentID != "" && pay.IntentID != "" && pay.IntentID != cmd.PaymentIntentID {
			return decision{}, apperr.New(apperr.Unprocessable, "payment %s was requested with another payment intent", cmd.PaymentID)
		}
		err = job.ConfirmListingPayment(cmd.PaymentID, cmd.Amount, cmd.Currency, paidAt)
		if errors.Is(err, domain.ErrNothingDue) {
			err = h.refund(ctx, job, cmd, pay, paidAt)
		}
		if err != nil {
			return decision{}, err
		}
		return decision{streamType: job.StreamType(), events: job.Changes()}, nil
	})
	err = unavailableIfBusy(err)
	if apperr.CodeOf(err) == apperr.Unprocessable {
		h.log.WarnContext(ctx, "listing payment confirmation refused",
			"job_id", cmd.JobID, "payment_id", cmd.PaymentID, "payment_intent_id", cmd.PaymentIntentID,
			"amount", cmd.Amount, "currency", cmd.Currency, "error", err)
	}
	return res, err
}

// refund refunds a payment that pays for nothing at Stripe and records it on job.
func (h *ConfirmListingPaymentHandler) refund(ctx context.Context, job *domain.Job, cmd ConfirmListingPayment, pay domain.ListingPayment, paidAt time.Time) error {
	intentID := pay.IntentID
	if intentID == "" {
		intentID = cmd.PaymentIntentID
	}
	if intentID == "" {
		return apperr.New(apperr.Unprocessable, "payment %s has no payment intent to refund", cmd.PaymentID)
	}
	refund, err := h.gateway.RefundPayment(ctx, RefundRequest{
		PaymentIntentID: intentID,
		IdempotencyKey:  "jobboard-listing-refund-" + cmd.PaymentID,
		Metadata:        map[string]string{"job_id": cmd.JobID, "payment_id": cmd.PaymentID},
	})
	if err != nil {
		return err
	}
	h.log.InfoContext(ctx, "listing payment refunded: nothing was due",
		"job_id", cmd.JobID, "payment_id", cmd.PaymentID, "payment_intent_id", intentID, "refund_id", refund.ID)
	return job.RefundListingPayment(cmd.PaymentID, refund.ID, paidAt, h.clock())
}

// unavailableIfBusy turns a write that lost every concurrency retry into apperr.Unavailable:
// the provider's notification could not be applied now, so the webhook answers 503 and
// Stripe delivers it again (a Conflict would read as "refused" and stop the retries).
func unavailableIfBusy(err error) error {
	if errors.Is(err, ErrConcurrencyConflict) {
		return apperr.Wrap(apperr.Unavailable, err, "the job is being changed concurrently; try again")
	}
	return err
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
	res, err := x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		job, err := loadJob(s)
		if err != nil {
			return decision{}, err
		}
		if err := job.FailListingPayment(cmd.PaymentID, cmd.Reason, failedAt); err != nil {
			return decision{}, err
		}
		return decision{streamType: job.StreamType(), events: job.Changes()}, nil
	})
	return res, unavailableIfBusy(err)
}

// paymentNamespace is the UUID namespace of derived payment ids.
// Never change it.
var paymentNamespace = uuid.UUID{
	0x5b, 0x1e, 0x2f, 0x8c, 0x3d, 0x4a, 0x4e, 0x71, 0x9a, 0x0c, 0x6f, 0x2d, 0x11, 0x8e, 0x73, 0x42,
}
