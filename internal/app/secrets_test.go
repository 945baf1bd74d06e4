package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jobboard/jobboard/api"
	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/internal/testenv"
)

// logSink collects the program's log output; handlers write from many goroutines.
type logSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// devConfig is a valid configuration with every built-in development secret; New does not
// connect to anything.
func devConfig(addr string) app.Config {
	return app.Config{
		DatabaseURL: "postgres://jobboard:jobboard@127.0.0.1:5432/jobboard", KafkaBrokers: []string{"127.0.0.1:9092"},
		ElasticsearchURL: "http://127.0.0.1:9200", StripeAPIBase: "http://127.0.0.1:12111",
		StripeSecretKey: app.DevStripeSecretKey, StripeWebhookSecret: app.DevStripeWebhookSecret,
		OperatorToken: app.DevOperatorToken, SigningKey: app.DevSigningKey, HTTPAddr: addr,
		LogLevel: "info", ShutdownTimeout: time.Second, ReadinessTimeout: time.Second, Roles: []string{app.RoleAPI},
		KafkaTopicPrefix: "jobboard.", KafkaPartitions: 1, ExpiryInterval: time.Second,
	}
}

func TestNewRefusesDevelopmentSecretsOffLoopback(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:8080", "[::]:8080", ":8080", "10.0.0.7:8080", "api.example.com:8080"} {
		_, err := app.New(devConfig(addr), slog.Default())
		if err == nil {
			t.Errorf("HTTP_ADDR=%s: accepted", addr)
			continue
		}
		for _, s := range app.DevelopmentSecrets() {
			if !strings.Contains(err.Error(), s.Env+": the built-in development value must not be used off loopback (set DEV_MODE=true only for local development)") {
				t.Errorf("HTTP_ADDR=%s: %s is not named:\n%v", addr, s.Env, err)
			}
		}
	}

	// Accepted on loopback, and off it with DevMode, each time with a warning that names the
	// variables and never their values.
	dev := devConfig("0.0.0.0:8080")
	dev.DevMode = true
	for name, cfg := range map[string]app.Config{"loopback": devConfig("127.0.0.1:0"), "DEV_MODE": dev} {
		var sink logSink
		if _, err := app.New(cfg, slog.New(slog.NewTextHandler(&sink, nil))); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out := sink.String()
		if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "OPERATOR_TOKEN") || !strings.Contains(out, "SIGNING_KEY") {
			t.Errorf("%s: no warning naming the development secrets: %s", name, out)
		}
		for _, s := range app.DevelopmentSecrets() {
			if strings.Contains(out, s.Value) {
				t.Errorf("%s: the warning shows the value of %s: %s", name, s.Env, out)
			}
		}
	}

	own := devConfig("0.0.0.0:8080")
	own.StripeSecretKey, own.StripeWebhookSecret = "sk_live_own", "whsec_own"
	own.OperatorToken, own.SigningKey = "", "own-signing-key-0123456789abcdef0123"
	own.Operators = []api.Operator{{Name: "alice", Token: "alice-operator-token-0123456789abcdef"}}
	var sink logSink
	if _, err := app.New(own, slog.New(slog.NewTextHandler(&sink, nil))); err != nil {
		t.Fatalf("own secrets off loopback: %v", err)
	}
	if sink.String() != "" {
		t.Errorf("own secrets: %s", sink.String())
	}
}

// An operator's token names its holder: the access log and the metadata of the events it
// causes say "operator:<name>", so two operators can be told apart.
func TestANamedOperatorIsTheActorOfItsEvents(t *testing.T) {
	t.Parallel()
	cfg := stackConfig(t)
	cfg.Operators = []api.Operator{
		{Name: "alice", Token: "alice-operator-token-0123456789abcdef"},
		{Name: "bob", Token: "bob-operator-token-0123456789abcdef0"},
	}
	var sink logSink
	m := startLogged(t, cfg, slog.New(slog.NewTextHandler(&sink, &slog.HandlerOptions{Level: slog.LevelInfo})))
	c := client{t: t, base: m.URL()}
	alice, bob := cfg.Operators[0].Token, cfg.Operators[1].Token

	_, token := registerCompany(c)
	jobID := c.must(c.do("POST", "/v1/jobs", token, jobBody()), 201).str("id")
	pay := c.must(c.do("POST", "/v1/jobs/"+jobID+"/payments", token, map[string]any{"plan": "standard"}), 201)

	// Each operator's token (and the shared one) opens the admin routes; a near miss does not.
	for who, tok := range map[string]string{"alice": alice, "bob": bob, "operator": cfg.OperatorToken} {
		c.must(c.do("GET", "/v1/admin/events?stream="+jobID, tok, nil), 200)
		if !strings.Contains(sink.String(), "actor=operator:"+who) {
			t.Errorf("the access log does not name operator:%s:\n%s", who, sink.String())
		}
	}
	c.must(c.do("GET", "/v1/admin/events?stream="+jobID, alice[:len(alice)-1]+"x", nil), 401)

	// No route lets an operator append yet: the operator's principal (what authentication
	// made of alice's token) confirms the payment through the application's command.
	cmds, err := m.Commands()
	if err != nil {
		t.Fatal(err)
	}
	_, err = cmds.ConfirmListingPayment.Handle(context.Background(), commands.ConfirmListingPayment{
		Caller: commands.Caller{Actor: commands.Actor{Role: commands.RoleOperator, ID: "alice"}, CorrelationID: "alice-confirms"},
		JobID:  jobID, PaymentID: pay.str("payment_id"), PaymentIntentID: pay.str("payment_intent_id"),
		Amount: 4900, Currency: pay.str("currency"), PaidAt: time.Now().UTC(),
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		a := c.must(c.do("GET", "/v1/admin/events?stream="+jobID, bob, nil), 200)
		var page struct {
			Items []struct {
				Type     string         `json:"type"`
				Metadata map[string]any `json:"metadata"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(a.raw), &page); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, ev := range page.Items {
			if ev.Type == "job.listing_paid" || ev.Type == "job.published" {
				found = true
				if ev.Metadata["actor"] != "operator:alice" {
					t.Errorf("%s metadata = %v, want actor operator:alice", ev.Type, ev.Metadata)
				}
			}
		}
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no job.listing_paid in %s", a.raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// withRole is dsn logging in as a new role with a password of its own (a member of the
// stack's user, so it reaches every table), dropped when the test ends.
func withRole(t *testing.T, dsn, role, password string) string {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	u, _ := url.Parse(dsn)
	if _, err := admin.Exec(ctx, "CREATE ROLE "+role+" LOGIN PASSWORD '"+password+"' IN ROLE "+u.User.Username()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, testenv.PostgresURL(t))
		if err != nil {
			t.Logf("drop role %s: %v", role, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP ROLE IF EXISTS "+role); err != nil {
			t.Logf("drop role %s: %v", role, err)
		}
	})
	u.User = url.UserPassword(role, password)
	return u.String()
}

// The real program, given distinctive secrets, logs at debug level through requests that
// exercise authentication (good, wrong and near-miss tokens), the webhook (good and bad
// signatures), Stripe calls and /readyz: none of the secrets appears in what it logged.
func TestNoSecretReachesTheLog(t *testing.T) {
	t.Parallel()
	suffix := testenv.RandomSuffix()
	secrets := map[string]string{
		"db password":    "dbpw-" + suffix + "-distinctive",
		"stripe key":     "sk_test_key" + suffix + "distinctive",
		"webhook secret": "whsec_hook" + suffix + "distinctive",
		"operator token": "shared-operator-" + suffix + "-distinctive",
		"alice's token":  "alice-operator-" + suffix + "-distinctive-0123456789",
		"signing key":    "signing-key-" + suffix + "-distinctive-0123456789",
	}
	cfg := stackConfig(t)
	cfg.DatabaseURL = withRole(t, cfg.DatabaseURL, "jbt_log_"+suffix, secrets["db password"])
	cfg.StripeSecretKey, cfg.StripeWebhookSecret = secrets["stripe key"], secrets["webhook secret"]
	cfg.OperatorToken, cfg.SigningKey = secrets["operator token"], secrets["signing key"]
	cfg.Operators = []api.Operator{{Name: "alice", Token: secrets["alice's token"]}}
	cfg.Roles = []string{app.RoleAPI, app.RoleRelay}
	cfg.LogLevel = "debug"
	var sink logSink
	// Registered before start, so it reads the log after Main.Close (the shutdown logs too).
	t.Cleanup(func() { checkLog(t, sink.String(), secrets, cfg.DatabaseURL) })
	m := startLogged(t, cfg, slog.New(slog.NewTextHandler(&sink, &slog.HandlerOptions{Level: slog.LevelDebug})))
	c := client{t: t, base: m.URL()}

	_, token := registerCompany(c)
	c.must(c.do("POST", "/v1/companies", "", `{"name":`), 400)
	jobID := c.must(c.do("POST", "/v1/jobs", token, jobBody()), 201).str("id")
	pay := c.must(c.do("POST", "/v1/jobs/"+jobID+"/payments", token, map[string]any{"plan": "standard"}), 201)
	pi := map[string]any{"id": pay.str("payment_intent_id"), "object": "payment_intent", "status": "succeeded", "amount": 4900,
		"amount_received": 4900, "currency": "eur", "metadata": map[string]string{"job_id": jobID, "payment_id": pay.str("payment_id")}}
	c.must(c.webhook("whsec_someone_else", "payment_intent.succeeded", pi), 400)
	c.must(c.webhook(cfg.StripeWebhookSecret, "payment_intent.succeeded", pi), 200)
	for _, tok := range []string{cfg.OperatorToken + "x", secrets["alice's token"][:20], "Bearer", token + "x"} {
		c.must(c.do("GET", "/v1/admin/events", tok, nil), 401)
	}
	c.must(c.do("GET", "/v1/admin/events", token, nil), 403)
	c.must(c.do("GET", "/v1/admin/events?stream="+jobID, secrets["alice's token"], nil), 200)
	c.must(c.do("GET", "/readyz", cfg.OperatorToken, nil), 200)
	c.must(c.do("GET", "/readyz", "", nil), 200)
	c.must(c.do("GET", "/v1/jobs/"+jobID, token, nil, "X-Consistency-Token", "forged-"+secrets["signing key"]), 400)
}

// checkLog fails t if the log shows one of the secrets (or the database URL).
func checkLog(t *testing.T, out string, secrets map[string]string, dsn string) {
	// The log is there to be searched: it has the requests, their actors and the warning.
	for _, want := range []string{"http request", "actor=operator:alice", "status=401", "/v1/stripe/webhook"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the log lacks %q; did the requests run?\n%s", want, out)
		}
	}
	for name, secret := range secrets {
		if strings.Contains(out, secret) {
			i := strings.Index(out, secret)
			t.Errorf("the log shows the %s: …%s…", name, out[max(0, i-200):min(len(out), i+len(secret)+50)])
		}
	}
	if strings.Contains(out, dsn) {
		t.Error("the log shows DATABASE_URL")
	}
	if !t.Failed() {
		t.Logf("%d bytes of log, no secret", len(out))
	}
}
