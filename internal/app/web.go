package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/jobboard/jobboard/api"
	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/internal/signinlink"
	"github.com/jobboard/jobboard/notifier"
	"github.com/jobboard/jobboard/payments"
	"github.com/jobboard/jobboard/web"
)

// RoleWeb serves the web pages on the same listener as the API: /v1, /healthz, /readyz and
// /metrics stay the API's, every other path is a page.
const RoleWeb = "web"

// withWeb puts the web pages in front of the API's handler.
func (m *Main) withWeb(app application.Application, apiHandler http.Handler) (http.Handler, error) {
	cfg := web.Config{
		App:           app,
		SigningKey:    []byte(m.cfg.SigningKey),
		BaseURL:       m.cfg.PublicBaseURL,
		SecureCookies: strings.HasPrefix(m.cfg.PublicBaseURL, "https://"),
		// The registrations' limit: each of these forms registers or e-mails.
		AccountRateLimit:   web.RateLimit{PerMinute: m.cfg.RegistrationRateLimit.PerMinute, Burst: m.cfg.RegistrationRateLimit.Burst},
		TrustForwardedFor:  m.cfg.TrustForwardedFor,
		ConsistencyTimeout: m.cfg.ConsistencyTimeout,
		Operators:          m.webOperators(),
	}
	if m.cfg.DevMode {
		gw, err := payments.NewStripeGateway(payments.StripeConfig{SecretKey: m.cfg.StripeSecretKey, APIBase: m.cfg.StripeAPIBase, Logger: m.log})
		if err != nil {
			return nil, err
		}
		cfg.TestPayments = testPayments{gateway: gw, webhookSecret: m.cfg.StripeWebhookSecret, api: apiHandler}
	}
	pages, err := web.NewServer(cfg, m.log.With("component", "web"))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for _, p := range []string{"/v1/", "/healthz", "/readyz", "/metrics"} {
		mux.Handle(p, apiHandler)
	}
	mux.Handle("/", pages)
	return mux, nil
}

// TemplateSignInLink is the e-mail carrying a sign-in link (notifier/templates).
const TemplateSignInLink = "sign_in_link"

// signInLinkRule e-mails the link of a sign_in.link_requested event to the address it was
// asked for. The event holds no secret: the rule signs the link with the key, the same way
// every time (rules must be deterministic). The message keeps the link's path (the outbox
// holds it until it is sent, as long as the link lives at most); the template puts
// PUBLIC_BASE_URL before it.
func signInLinkRule(key []byte) notifier.Rule {
	return func(_ context.Context, ev notifier.Event) ([]notifier.Message, error) {
		p, ok := ev.Payload.(*domain.SignInLinkRequested)
		if !ok {
			return nil, nil
		}
		path, err := signinlink.URL(key, "", signinlink.Link{LinkID: p.LinkID, Role: p.Role, AccountID: p.AccountID, ExpiresAt: p.ExpiresAt.Unix()})
		if err != nil {
			return nil, err
		}
		return []notifier.Message{{Key: notifier.Key(ev.EventID.String(), TemplateSignInLink, p.Email), Template: TemplateSignInLink,
			To: p.Email, Essential: true, Data: map[string]any{"Path": path, "Role": p.Role, "Minutes": int(p.ExpiresAt.Sub(p.RequestedAt).Minutes())}}}, nil
	}
}

// testPayments is the test-mode payment of the web pages (DEV_MODE): it confirms the intent
// at stripe-mock, then delivers the payment_intent.succeeded webhook Stripe would send,
// signed with the webhook secret, to the API's own webhook route, so the job is published
// exactly as in production. stripe-mock sends no webhooks and answers canned intents, so
// the event carries the payment's own amount and metadata.
type testPayments struct {
	gateway       *payments.StripeGateway
	webhookSecret string
	api           http.Handler
}

func (t testPayments) Pay(ctx context.Context, p web.TestPayment) (string, error) {
	if err := t.gateway.ConfirmTestPayment(ctx, p.PaymentIntentID); err != nil {
		return "", err
	}
	pi, _ := json.Marshal(map[string]any{
		"id": p.PaymentIntentID, "object": "payment_intent", "status": "succeeded",
		"amount": p.Amount, "amount_received": p.Amount, "currency": strings.ToLower(p.Currency),
		"metadata": map[string]string{"job_id": p.JobID, "payment_id": p.PaymentID},
	})
	event, _ := json.Marshal(map[string]any{
		"id": "evt_test_" + strings.ReplaceAll(uuid.NewString(), "-", ""), "object": "event", "type": "payment_intent.succeeded",
		"api_version": stripe.APIVersion, "created": time.Now().Unix(), "data": map[string]any{"object": json.RawMessage(pi)},
	})
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: event, Secret: t.webhookSecret})
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/stripe/webhook", strings.NewReader(string(event)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", signed.Header)
	rec := httptest.NewRecorder()
	t.api.ServeHTTP(rec, req)
	var answer struct {
		Outcome          string `json:"outcome"`
		Reason           string `json:"reason"`
		ConsistencyToken string `json:"consistency_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || rec.Code != http.StatusOK || answer.Outcome != "applied" {
		return "", apperr.Wrap(apperr.Unavailable, fmt.Errorf("test webhook: %d %s", rec.Code, rec.Body.String()), "the test payment was not applied (%s); try again", answer.Reason)
	}
	return answer.ConsistencyToken, nil
}

// webOperators are the operators who may sign in to the operators' pages: the API's.
func (m *Main) webOperators() []web.Operator {
	var out []web.Operator
	if m.cfg.OperatorToken != "" {
		out = append(out, web.Operator{Name: api.SharedOperatorName, Token: m.cfg.OperatorToken})
	}
	for _, o := range m.cfg.Operators {
		out = append(out, web.Operator{Name: o.Name, Token: o.Token})
	}
	return out
}
