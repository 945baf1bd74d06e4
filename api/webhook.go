package api

import (
	"github.com/jobboard/jobboard/commands"

	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/jobboard/jobboard/internal/apperr"
)

// registerStripeRoutes: Stripe's webhook. It is authenticated by its signature, not a token.
func (s *Server) registerStripeRoutes(v1 *mux.Router) {
	g := group(v1)
	g.HandleFunc("/stripe/webhook", s.handleStripeWebhook).Methods(http.MethodPost)
}

// webhookAnswer tells Stripe (and whoever reads its dashboard) what became of an event.
type webhookAnswer struct {
	Received bool   `json:"received"`
	EventID  string `json:"event_id"`
	Type     string `json:"type"`
	// Outcome is "applied", or "ignored" with Reason.
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
	// JobID, Version and ConsistencyToken are the listing's job stream after an applied
	// event, so whoever watches the payment (our tests, an operator) can read its effect.
	JobID            string `json:"job_id,omitempty"`
	Version          int64  `json:"version,omitempty"`
	ConsistencyToken string `json:"consistency_token,omitempty"`
}

// handleStripeWebhook verifies the signature with stripe-go (a bad or missing one is a 400
// and nothing is appended), then turns payment_intent.succeeded and
// payment_intent.payment_failed into ConfirmListingPayment and FailListingPayment. Other
// types are acknowledged and ignored. The API version of the event must be one stripe-go
// understands (ConstructEventWithOptions' default check is kept): a webhook endpoint must
// be created with the API version of our stripe-go.
//
// Stripe delivers at least once and in any order; the commands are no-ops when they repeat
// what happened (a payment confirmed or refunded twice, a failure after the success), so
// redeliveries change nothing. A 2xx tells Stripe to stop, so it is only answered for an
// event that was applied or deliberately ignored: 200 "ignored" when the listing refuses the
// payment (amount or intent mismatch) or the intent is not ours. An unknown job or payment
// is a 404 so Stripe retries (the request that created the intent may not have committed
// yet); an event that cannot be applied now — the job's stream kept changing through every
// concurrency retry, an engine or Stripe is down — is a 503 problem, retried too.
func (s *Server) handleStripeWebhook(w http.ResponseWriter, r *http.Request) {
	payload, err := readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	event, err := webhook.ConstructEventWithOptions(payload, r.Header.Get("Stripe-Signature"), s.cfg.StripeWebhookSecret,
		webhook.ConstructEventOptions{Tolerance: s.cfg.StripeWebhookTolerance})
	if err != nil {
		s.writeError(w, r, &apperr.Error{Code: apperr.Invalid, Message: "the webhook's Stripe-Signature does not verify",
			Fields: []apperr.FieldError{{Field: "Stripe-Signature", Message: err.Error()}}, Err: err})
		return
	}
	answer := webhookAnswer{Received: true, EventID: event.ID, Type: string(event.Type), Outcome: "ignored"}
	switch event.Type {
	case "payment_intent.succeeded", "payment_intent.payment_failed":
	default:
		answer.Reason = "event type not handled"
		writeJSON(w, http.StatusOK, answer)
		return
	}
	var pi stripe.PaymentIntent
	if event.Data == nil || json.Unmarshal(event.Data.Raw, &pi) != nil {
		s.writeError(w, r, invalidField("data.object", "must be a PaymentIntent"))
		return
	}
	jobID, paymentID := pi.Metadata["job_id"], pi.Metadata["payment_id"]
	if jobID == "" || paymentID == "" {
		answer.Reason = "the PaymentIntent is not a listing payment (no job_id/payment_id metadata)"
		writeJSON(w, http.StatusOK, answer)
		return
	}
	caller := commands.Caller{Actor: commands.Actor{Role: commands.RoleSystem, ID: "stripe"}, CorrelationID: requestIDFrom(r.Context()), CausationID: event.ID}
	at := time.Unix(event.Created, 0).UTC()
	if event.Created == 0 {
		at = time.Now().UTC()
	}
	var res commands.Result
	if event.Type == "payment_intent.succeeded" {
		amount := pi.AmountReceived
		if amount == 0 {
			amount = pi.Amount
		}
		res, err = s.app.Commands.ConfirmListingPayment.Handle(r.Context(), commands.ConfirmListingPayment{
			Caller: caller, JobID: jobID, PaymentID: paymentID, PaymentIntentID: pi.ID,
			Amount: amount, Currency: strings.ToUpper(string(pi.Currency)), PaidAt: at,
		})
	} else {
		reason := "payment failed"
		if pi.LastPaymentError != nil && pi.LastPaymentError.Msg != "" {
			reason = pi.LastPaymentError.Msg
		}
		res, err = s.app.Commands.FailListingPayment.Handle(r.Context(), commands.FailListingPayment{
			Caller: caller, JobID: jobID, PaymentID: paymentID, Reason: reason, FailedAt: at,
		})
	}
	switch apperr.CodeOf(err) {
	case "":
		answer.Outcome = "applied"
		answer.JobID, answer.Version, answer.ConsistencyToken = jobID, res.Version, s.consistencyToken(res)
	case apperr.Invalid, apperr.Unprocessable, apperr.Forbidden:
		s.log.WarnContext(r.Context(), "stripe webhook refused by the listing", "event_id", event.ID, "type", event.Type, "job_id", jobID, "payment_id", paymentID, "error", err)
		answer.Reason = err.Error()
		if ae, ok := err.(*apperr.Error); ok {
			answer.Reason = ae.Message
		}
	default:
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}
