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
			Checks map[string]api.CheckResult `json:"checks"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		for _, engine := range []string{"postgres", "kafka", "elasticsearch"} {
			if got.Checks[engine].Status != "up" {
				t.Errorf("%s: %+v", engine, got.Checks[engine])
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
	m := start(t, cfg)

	code, ctype, body := get(t, m.URL()+"/readyz")
	if code != http.StatusServiceUnavailable || ctype != "application/problem+json" {
		t.Fatalf("readyz = %d %s %s", code, ctype, body)
	}
	var p struct {
		Detail string                     `json:"detail"`
		Checks map[string]api.CheckResult `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	if p.Detail != "unavailable: kafka" || p.Checks["kafka"].Status != "down" || p.Checks["postgres"].Status != "up" || p.Checks["elasticsearch"].Status != "up" {
		t.Fatalf("readyz problem = %s", body)
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
