package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jobboard/jobboard/api"
	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/internal/testenv"
)

// stackConfig points at the real engines of the local stack, listening on a free port.
func stackConfig(t testing.TB) app.Config {
	t.Helper()
	return app.Config{
		DatabaseURL:              testenv.NewDatabase(t),
		KafkaBrokers:             testenv.KafkaBrokers(t),
		ElasticsearchURL:         testenv.ElasticsearchURL(t),
		StripeAPIBase:            testenv.StripeAPIBase(t),
		StripeSecretKey:          "sk_test_123",
		StripeWebhookSecret:      "whsec_test",
		HTTPAddr:                 "127.0.0.1:0",
		OperatorToken:            "operator-token-for-tests",
		SigningKey:               "signing-key-for-tests-0123456789abcdef",
		LogLevel:                 "warn",
		ShutdownTimeout:          5 * time.Second,
		ReadinessTimeout:         2 * time.Second,
		Roles:                    []string{app.RoleAPI},
		KafkaTopicPrefix:         "test-" + testenv.RandomSuffix() + ".",
		KafkaPartitions:          2,
		ElasticsearchIndexPrefix: "test-" + testenv.RandomSuffix() + "-",
		ExpiryInterval:           time.Second,
		// The notifier's settings, for the tests that run it: the stack's Mailpit.
		SMTPURL:         "smtp://" + testenv.DefaultMailpitSMTP,
		MailFrom:        "jobboard <noreply@jobboard.localhost>",
		PublicBaseURL:   app.DevPublicBaseURL,
		MailMaxAttempts: 8,
		MailWorkers:     2,
		MailClaimLease:  2 * time.Minute,
	}
}

func start(t testing.TB, cfg app.Config) *app.Main {
	t.Helper()
	return startLogged(t, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// startLogged is start with the program's logs sent to log.
func startLogged(t testing.TB, cfg app.Config, log *slog.Logger) *app.Main {
	t.Helper()
	m, err := app.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m
}

func get(t testing.TB, url string) (int, string, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), string(b)
}

func TestServeAgainstTheRealStack(t *testing.T) {
	t.Parallel()
	m := start(t, stackConfig(t))

	t.Run("healthz says the process is alive", func(t *testing.T) {
		if code, _, body := get(t, m.URL()+"/healthz"); code != 200 {
			t.Fatalf("healthz = %d %s", code, body)
		}
	})
	t.Run("readyz checks every engine and answers 200", func(t *testing.T) {
		code, _, body := get(t, m.URL()+"/readyz")
		if code != 200 {
			t.Fatalf("readyz = %d %s", code, body)
		}
		var got struct {
			Status  string            `json:"status"`
			Engines map[string]string `json:"engines"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		if got.Status != "ready" {
			t.Errorf("status = %q", got.Status)
		}
		for _, engine := range []string{"postgres", "kafka", "elasticsearch"} {
			if got.Engines[engine] != "up" {
				t.Errorf("%s: %q", engine, got.Engines[engine])
			}
		}
	})
	t.Run("metrics are in Prometheus' text format", func(t *testing.T) {
		code, _, body := get(t, m.URL()+"/metrics")
		if code != 200 || !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "jobboard_http_request_duration_seconds") {
			t.Fatalf("metrics = %d, missing series:\n%.500s", code, body)
		}
	})
	t.Run("an unknown route is a problem+json 404", func(t *testing.T) {
		code, ctype, _ := get(t, m.URL()+"/nope")
		if code != 404 || ctype != "application/problem+json" {
			t.Fatalf("= %d %s", code, ctype)
		}
	})
}

func TestReadyzNamesTheEngineThatIsDown(t *testing.T) {
	t.Parallel()
	// A port nothing listens on: Kafka is "down" for this instance only, so the shared
	// broker keeps serving the other tests.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	cfg := stackConfig(t)
	cfg.KafkaBrokers = []string{closed}
	cfg.Operators = []api.Operator{{Name: "alice", Token: "alice-operator-token-0123456789abcdef"}}
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	_, employer := registerCompany(c)

	type readiness struct {
		Detail  string                     `json:"detail"`
		Engines map[string]string          `json:"engines"`
		Checks  map[string]api.CheckResult `json:"checks"`
	}
	readyz := func(token string) (readiness, string) {
		t.Helper()
		a := c.do(http.MethodGet, "/readyz", token, nil)
		if a.status != http.StatusServiceUnavailable || a.header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("readyz = %d %s %s", a.status, a.header.Get("Content-Type"), a.raw)
		}
		var p readiness
		if err := json.Unmarshal([]byte(a.raw), &p); err != nil {
			t.Fatal(err)
		}
		if p.Detail != "unavailable: kafka" || p.Engines["kafka"] != "down" || p.Engines["postgres"] != "up" || p.Engines["elasticsearch"] != "up" {
			t.Fatalf("readyz problem = %s", a.raw)
		}
		return p, a.raw
	}
	// Everyone sees which engine is down, not why: the error text names hosts and internals.
	for name, token := range map[string]string{"no token": "", "a wrong token": "not-a-token", "an employer's token": employer} {
		if p, raw := readyz(token); p.Checks != nil || strings.Contains(raw, closed) || strings.Contains(raw, `"error"`) {
			t.Errorf("with %s, readyz shows the details: %s", name, raw)
		}
	}
	for name, token := range map[string]string{"OPERATOR_TOKEN": cfg.OperatorToken, "alice's token": cfg.Operators[0].Token} {
		p, raw := readyz(token)
		if p.Checks["kafka"].Status != "down" || !strings.Contains(p.Checks["kafka"].Error, closed) || p.Checks["postgres"].Status != "up" {
			t.Errorf("with %s, readyz lacks the details: %s", name, raw)
		}
	}
}

func TestNewRefusesAnInvalidConfigurationNamingEachVariable(t *testing.T) {
	t.Parallel()
	cfg := app.Config{DatabaseURL: "mysql://x", KafkaBrokers: []string{"nohost"}, HTTPAddr: "8080", LogLevel: "loud"}
	_, err := app.New(cfg, slog.Default())
	if err == nil {
		t.Fatal("accepted an invalid configuration")
	}
	for _, env := range []string{"DATABASE_URL", "KAFKA_BROKERS", "ELASTICSEARCH_URL", "STRIPE_API_BASE", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "HTTP_ADDR", "OPERATOR_TOKEN", "SIGNING_KEY", "LOG_LEVEL", "SHUTDOWN_TIMEOUT", "READINESS_TIMEOUT", "ROLES", "KAFKA_TOPIC_PREFIX", "KAFKA_PARTITIONS", "EXPIRY_INTERVAL"} {
		if !strings.Contains(err.Error(), env+":") {
			t.Errorf("the error does not name %s:\n%v", env, err)
		}
	}
}

func TestAProcessWithoutTheAPIRoleServesHealthAndMetricsOnly(t *testing.T) {
	t.Parallel()
	cfg := stackConfig(t)
	cfg.Roles = []string{app.RoleRelay}
	m := start(t, cfg)
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/v1/jobs": 404, "/v1/companies": 404} {
		if code, _, body := get(t, m.URL()+path); code != want {
			t.Errorf("GET %s = %d, want %d: %.200s", path, code, want, body)
		}
	}
}
