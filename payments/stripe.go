// Package payments is the Stripe adapter: it implements commands.PaymentGateway with
// stripe-go. It may import commands/ (for the port) and internal/apperr, never api/ or the
// event store.
package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v85"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/internal/apperr"
)

// StripeConfig configures a StripeGateway.
type StripeConfig struct {
	// SecretKey is the Stripe API secret key (sk_…). Required.
	SecretKey string
	// APIBase is the Stripe API's base URL; empty for api.stripe.com. Tests point it at
	// stripe-mock.
	APIBase string
	// HTTPClient is used for calls to Stripe; optional (stripe-go's default: 80 s timeout).
	HTTPClient *http.Client
	// MaxNetworkRetries is how often stripe-go retries a failed call (with the same
	// idempotency key). Default 2; negative for none.
	MaxNetworkRetries int64
	// Logger receives the adapter's logs. Default slog.Default().
	Logger *slog.Logger
}

func (c *StripeConfig) setDefaults() {
	if c.MaxNetworkRetries == 0 {
		c.MaxNetworkRetries = 2
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem with the configuration.
func (c StripeConfig) Validate() error {
	var errs []error
	if c.SecretKey == "" {
		errs = append(errs, errors.New("stripe secret key is required"))
	}
	if c.APIBase != "" && !strings.HasPrefix(c.APIBase, "http://") && !strings.HasPrefix(c.APIBase, "https://") {
		errs = append(errs, fmt.Errorf("stripe API base %q is not an http(s) URL", c.APIBase))
	}
	return errors.Join(errs...)
}

// StripeGateway creates, reads and cancels PaymentIntents and refunds them at Stripe.
type StripeGateway struct {
	sc  *stripe.Client
	log *slog.Logger
}

var _ commands.PaymentGateway = (*StripeGateway)(nil)

// NewStripeGateway returns a gateway.
func NewStripeGateway(cfg StripeConfig) (*StripeGateway, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new stripe gateway: %w", err)
	}
	log := cfg.Logger.With("component", "stripe")
	bc := &stripe.BackendConfig{
		MaxNetworkRetries: stripe.Int64(max(cfg.MaxNetworkRetries, 0)),
		LeveledLogger:     slogLeveled{log},
	}
	if cfg.APIBase != "" {
		bc.URL = stripe.String(strings.TrimRight(cfg.APIBase, "/"))
	}
	if cfg.HTTPClient != nil {
		bc.HTTPClient = cfg.HTTPClient
	}
	sc := stripe.NewClient(cfg.SecretKey, stripe.WithBackends(stripe.NewBackendsWithConfig(bc)))
	return &StripeGateway{sc: sc, log: log}, nil
}

// CreatePaymentIntent creates a PaymentIntent with automatic payment methods. Stripe
// returns the first intent again for a repeated idempotency key, so retries never charge
// twice. Errors are *apperr.Error: Unavailable when Stripe cannot be reached or fails
// (network, 5xx, rate limits), Internal when it refuses the request (our bug).
func (g *StripeGateway) CreatePaymentIntent(ctx context.Context, req commands.PaymentIntentRequest) (commands.PaymentIntent, error) {
	params := &stripe.PaymentIntentCreateParams{
		Amount:                  stripe.Int64(req.Amount),
		Currency:                stripe.String(strings.ToLower(req.Currency)),
		AutomaticPaymentMethods: &stripe.PaymentIntentCreateAutomaticPaymentMethodsParams{Enabled: stripe.Bool(true)},
	}
	if req.Description != "" {
		params.Description = stripe.String(req.Description)
	}
	for k, v := range req.Metadata {
		params.AddMetadata(k, v)
	}
	if req.IdempotencyKey != "" {
		params.SetIdempotencyKey(req.IdempotencyKey)
	}
	pi, err := g.sc.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		return commands.PaymentIntent{}, g.translate(ctx, err)
	}
	return intentOf(pi), nil
}

func intentOf(pi *stripe.PaymentIntent) commands.PaymentIntent {
	return commands.PaymentIntent{
		ID:           pi.ID,
		ClientSecret: pi.ClientSecret,
		Amount:       pi.Amount,
		Currency:     strings.ToUpper(string(pi.Currency)),
		Status:       string(pi.Status),
	}
}

// PaymentIntent retrieves an intent; errors as CreatePaymentIntent's.
func (g *StripeGateway) PaymentIntent(ctx context.Context, id string) (commands.PaymentIntent, error) {
	pi, err := g.sc.V1PaymentIntents.Retrieve(ctx, id, nil)
	if err != nil {
		return commands.PaymentIntent{}, g.translate(ctx, err)
	}
	return intentOf(pi), nil
}

// CancelPaymentIntent cancels an intent the company replaced by another plan ("abandoned").
// Stripe refuses to cancel an intent that is not open (payment_intent_unexpected_state);
// then the intent is read: already canceled (a racing request, a retry) is success, any
// other state (it just succeeded) is an apperr.Conflict — its success will be refunded.
func (g *StripeGateway) CancelPaymentIntent(ctx context.Context, id string) error {
	_, err := g.sc.V1PaymentIntents.Cancel(ctx, id, &stripe.PaymentIntentCancelParams{
		CancellationReason: stripe.String(string(stripe.PaymentIntentCancellationReasonAbandoned)),
	})
	var se *stripe.Error
	if !errors.As(err, &se) || se.Code != stripe.ErrorCodePaymentIntentUnexpectedState {
		if err != nil {
			return g.translate(ctx, err)
		}
		return nil
	}
	pi, rerr := g.sc.V1PaymentIntents.Retrieve(ctx, id, nil)
	switch {
	case rerr != nil:
		return g.translate(ctx, rerr)
	case pi.Status == stripe.PaymentIntentStatusCanceled:
		return nil
	default:
		return apperr.Wrap(apperr.Conflict, err, "the open payment can no longer be canceled (it is %s); try again", pi.Status)
	}
}

// RefundPayment refunds the whole PaymentIntent. The idempotency key makes a repeated call
// return the first refund, so a redelivered webhook never refunds twice.
func (g *StripeGateway) RefundPayment(ctx context.Context, req commands.RefundRequest) (commands.Refund, error) {
	params := &stripe.RefundCreateParams{PaymentIntent: stripe.String(req.PaymentIntentID)}
	for k, v := range req.Metadata {
		params.AddMetadata(k, v)
	}
	if req.IdempotencyKey != "" {
		params.SetIdempotencyKey(req.IdempotencyKey)
	}
	r, err := g.sc.V1Refunds.Create(ctx, params)
	if err != nil {
		return commands.Refund{}, g.translate(ctx, err)
	}
	return commands.Refund{ID: r.ID, Status: string(r.Status)}, nil
}

func (g *StripeGateway) translate(ctx context.Context, err error) error {
	var se *stripe.Error
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apperr.Wrap(apperr.Unavailable, err, "the payment provider did not answer in time")
	case errors.As(err, &se):
		if se.HTTPStatusCode >= 500 || se.HTTPStatusCode == http.StatusTooManyRequests || se.Type == stripe.ErrorTypeAPI {
			g.log.WarnContext(ctx, "stripe unavailable", "status", se.HTTPStatusCode, "type", se.Type, "request_id", se.RequestID, "error", se.Msg)
			return apperr.Wrap(apperr.Unavailable, err, "the payment provider is unavailable; try again")
		}
		return apperr.Wrap(apperr.Internal, err, "the payment provider refused the payment")
	case errors.As(err, &ne):
		return apperr.Wrap(apperr.Unavailable, err, "the payment provider cannot be reached; try again")
	default:
		return apperr.Wrap(apperr.Internal, err, "calling the payment provider failed")
	}
}

// slogLeveled sends stripe-go's own logs to slog. Its errors are the adapter's to report
// (with context), so they are logged at debug level only.
type slogLeveled struct{ l *slog.Logger }

func (s slogLeveled) Debugf(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s slogLeveled) Infof(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s slogLeveled) Warnf(format string, v ...any)  { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s slogLeveled) Errorf(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }

// ConfirmTestPayment confirms an intent with Stripe's test card (pm_card_visa): what a
// customer's browser does through Stripe.js, done by the server for the test-mode payment
// page (DEV_MODE, stripe-mock). Never used with a live key.
func (g *StripeGateway) ConfirmTestPayment(ctx context.Context, id string) error {
	_, err := g.sc.V1PaymentIntents.Confirm(ctx, id, &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa")})
	if err != nil {
		return g.translate(ctx, err)
	}
	return nil
}
