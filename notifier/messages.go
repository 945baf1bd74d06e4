package notifier

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jobboard/jobboard/domain"
)

// The templates of the built-in messages and whether each is essential (sent whatever the
// recipient's preferences): what a user did or paid for, and registrations, are; news about
// listings and applications may be turned off.
const (
	TemplateCompanyWelcome           = "company_welcome"            // essential
	TemplateApplicationReceived      = "application_received"       // not essential
	TemplatePaymentReceipt           = "payment_receipt"            // essential
	TemplatePaymentFailed            = "payment_failed"             // essential
	TemplatePaymentRefunded          = "payment_refunded"           // essential
	TemplateListingPublished         = "listing_published"          // not essential
	TemplateListingExpiring          = "listing_expiring"           // not essential
	TemplateListingExpired           = "listing_expired"            // not essential
	TemplateCandidateWelcome         = "candidate_welcome"          // essential
	TemplateApplicationSubmitted     = "application_submitted"      // essential
	TemplateApplicationStatusChanged = "application_status_changed" // not essential
	TemplateApplicationWithdrawn     = "application_withdrawn"      // essential
)

// ExpiryWarningLead is how long before a listing's expiry its warning is sent.
const ExpiryWarningLead = 3 * 24 * time.Hour

// txKey carries the consumer's transaction to the rules.
type txKey struct{}

// Tx is the transaction the consumer records a batch in, for rules that read the
// notifier's own tables (what earlier events of the batch kept is visible in it); nil
// outside the consumer.
func Tx(ctx context.Context) pgx.Tx {
	tx, _ := ctx.Value(txKey{}).(pgx.Tx)
	return tx
}

// BuiltinRules registers the employer and candidate messages of the events.
func BuiltinRules(r *Rules) {
	r.On(domain.EventCompanyRegistered, onCompanyRegistered)
	r.On(domain.EventCandidateRegistered, onCandidateRegistered)
	r.On(domain.EventApplicationSubmitted, onApplicationSubmitted)
	r.On(domain.EventApplicationStatusChanged, onApplicationStatusChanged)
	r.On(domain.EventApplicationWithdrawn, onApplicationWithdrawn)
	r.On(domain.EventListingPaid, onListingPaid)
	r.On(domain.EventListingPaymentFailed, onListingPaymentFailed)
	r.On(domain.EventListingPaymentRefunded, onListingPaymentRefunded)
	r.On(domain.EventJobPublished, onJobPublished)
	r.On(domain.EventJobExpired, onJobExpired)
}

// message builds the message of template for ev to the contact to.
func message(ev Event, template, to string, essential bool, data map[string]any, refs map[string]string) Message {
	return Message{Key: Key(ev.EventID.String(), template, to), Template: template, To: to, Essential: essential,
		Data: data, Refs: refs}
}

func onCompanyRegistered(_ context.Context, ev Event) ([]Message, error) {
	p, ok := ev.Payload.(*domain.CompanyRegistered)
	if !ok {
		return nil, nil
	}
	return []Message{message(ev, TemplateCompanyWelcome, CompanyRef(p.CompanyID), true,
		map[string]any{"CompanyID": p.CompanyID}, nil)}, nil
}

func onCandidateRegistered(_ context.Context, ev Event) ([]Message, error) {
	p, ok := ev.Payload.(*domain.CandidateRegistered)
	if !ok {
		return nil, nil
	}
	return []Message{message(ev, TemplateCandidateWelcome, CandidateRef(p.CandidateID), true,
		map[string]any{"CandidateID": p.CandidateID}, nil)}, nil
}

func onApplicationSubmitted(_ context.Context, ev Event) ([]Message, error) {
	p, ok := ev.Payload.(*domain.ApplicationSubmitted)
	if !ok {
		return nil, nil
	}
	refs := map[string]string{"Job": JobRef(p.JobID), "Company": CompanyRef(p.CompanyID), "Candidate": CandidateRef(p.CandidateID)}
	return []Message{
		message(ev, TemplateApplicationReceived, CompanyRef(p.CompanyID), false,
			map[string]any{"JobID": p.JobID, "ApplicationID": p.ApplicationID, "CoverLetter": p.CoverLetter}, refs),
		message(ev, TemplateApplicationSubmitted, CandidateRef(p.CandidateID), true,
			map[string]any{"JobID": p.JobID, "ApplicationID": p.ApplicationID}, refs),
	}, nil
}

// statusNews is the headline and sentence of an application's new status.
var statusNews = map[string][2]string{
	"reviewing":    {"Your application is being reviewed", "%s is reviewing your application for %s."},
	"interviewing": {"You are invited to interview", "%s would like to interview you for %s and will contact you."},
	"offered":      {"You have an offer", "%s offers you the position %s."},
	"hired":        {"You are hired", "%s hired you as %s. Congratulations!"},
	"rejected":     {"Your application was not successful", "%s decided not to go on with your application for %s."},
}

func onApplicationStatusChanged(_ context.Context, ev Event) ([]Message, error) {
	p, ok := ev.Payload.(*domain.ApplicationStatusChanged)
	if !ok {
		return nil, nil
	}
	news, ok := statusNews[p.To.String()]
	if !ok {
		return nil, nil // "submitted", "withdrawn": their own messages
	}
	// The sentence names the company and job at send time: templates fill them in.
	return []Message{message(ev, TemplateApplicationStatusChanged, CandidateRef(p.CandidateID), false,
		map[string]any{"JobID": p.JobID, "ApplicationID": p.ApplicationID, "Status": p.To.String(),
			"Headline": news[0], "SentenceFormat": news[1]},
		map[string]string{"Job": JobRef(p.JobID), "Company": CompanyRef(p.CompanyID)})}, nil
}

func onApplicationWithdrawn(_ context.Context, ev Event) ([]Message, error) {
	p, ok := ev.Payload.(*domain.ApplicationWithdrawn)
	if !ok {
		return nil, nil
	}
	return []Message{message(ev, TemplateApplicationWithdrawn, CandidateRef(p.CandidateID), true,
		map[string]any{"JobID": p.JobID, "ApplicationID": p.ApplicationID},
		map[string]string{"Job": JobRef(p.JobID), "Company": CompanyRef(p.CompanyID)})}, nil
}

func onListingPaid(ctx context.Context, ev Event) ([]Message, error) {
	p, ok := ev.Payload.(*domain.ListingPaid)
	if !ok {
		return nil, nil
	}
	var intent string
	var seconds int64
	if tx := Tx(ctx); tx != nil {
		err := tx.QueryRow(ctx, `SELECT payment_intent_id, duration_seconds FROM notifier_payments WHERE payment_id = $1`,
			p.PaymentID).Scan(&intent, &seconds)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("payment %s: %w", p.PaymentID, err)
		}
	}
	data := map[string]any{"JobID": p.JobID, "PaymentID": p.PaymentID, "Plan": p.Plan.String(),
		"Amount": p.Amount, "Currency": p.Currency.String(), "PaidAt": p.PaidAt.UTC().Format(time.RFC3339),
		"StripeReference": intent, "PeriodDays": int64(math.Round(float64(seconds) / 86400))}
	return []Message{message(ev, TemplatePaymentReceipt, CompanyRef(p.CompanyID), true, data,
		map[string]string{"Job": JobRef(p.JobID)})}, nil
}

func onListingPaymentFailed(_ context.Context, ev Event) ([]Message, error) {
	p, ok := ev.Payload.(*domain.ListingPaymentFailed)
	if !ok {
		return nil, nil
	}
	return []Message{message(ev, TemplatePaymentFailed, CompanyRef(p.CompanyID), true,
		map[string]any{"JobID": p.JobID, "PaymentID": p.PaymentID, "Reason": p.Reason},
		map[string]string{"Job": JobRef(p.JobID)})}, nil
}

// refundReasons explain a refund to the employer.
var refundReasons = map[string]string{
	domain.RefundReasonCanceled:    "it was replaced by a payment for another plan",
	domain.RefundReasonAlreadyPaid: "another payment had already paid for the listing",
	domain.RefundReasonJobClosed:   "the job was closed",
}

func onListingPaymentRefunded(_ context.Context, ev Event) ([]Message, error) {
	p, ok := ev.Payload.(*domain.ListingPaymentRefunded)
	if !ok {
		return nil, nil
	}
	reason, ok := refundReasons[p.Reason]
	if !ok {
		reason = p.Reason
	}
	return []Message{message(ev, TemplatePaymentRefunded, CompanyRef(p.CompanyID), true,
		map[string]any{"JobID": p.JobID, "PaymentID": p.PaymentID, "RefundID": p.RefundID, "Amount": p.Amount,
			"Currency": p.Currency.String(), "ReasonText": reason},
		map[string]string{"Job": JobRef(p.JobID)})}, nil
}

// onJobPublished announces the listing and schedules its expiry warning, which replaces the
// warning of an earlier publication (a renewal) and is canceled when the job closes or
// expires first.
func onJobPublished(_ context.Context, ev Event) ([]Message, error) {
	p, ok := ev.Payload.(*domain.JobPublished)
	if !ok {
		return nil, nil
	}
	to := CompanyRef(p.CompanyID)
	refs := map[string]string{"Job": JobRef(p.JobID)}
	expires := p.ExpiresAt.UTC().Format(time.RFC3339)
	out := []Message{message(ev, TemplateListingPublished, to, false,
		map[string]any{"JobID": p.JobID, "Featured": p.Featured, "ExpiresAt": expires}, refs)}
	if p.ExpiresAt.Sub(p.PublishedAt) > ExpiryWarningLead {
		w := message(ev, TemplateListingExpiring, to, false, map[string]any{"JobID": p.JobID, "ExpiresAt": expires}, refs)
		w.NotBefore = p.ExpiresAt.Add(-ExpiryWarningLead)
		w.Group = ExpiryWarningGroup(p.JobID)
		out = append(out, w)
	}
	return out, nil
}

func onJobExpired(_ context.Context, ev Event) ([]Message, error) {
	p, ok := ev.Payload.(*domain.JobExpired)
	if !ok {
		return nil, nil
	}
	return []Message{message(ev, TemplateListingExpired, CompanyRef(p.CompanyID), false,
		map[string]any{"JobID": p.JobID, "ExpiredAt": p.ExpiredAt.UTC().Format(time.RFC3339)},
		map[string]string{"Job": JobRef(p.JobID)})}, nil
}
