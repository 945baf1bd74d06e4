package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// Config is everything `jobboard serve` needs. cmd/jobboard fills it from environment
// variables and flags; the error messages of Validate name the environment variables.
type Config struct {
	// DatabaseURL is the PostgreSQL URL of the event store and read tables (DATABASE_URL).
	DatabaseURL string
	// KafkaBrokers are the bootstrap brokers, host:port (KAFKA_BROKERS, comma separated).
	KafkaBrokers []string
	// ElasticsearchURL is the search engine's HTTP address (ELASTICSEARCH_URL).
	ElasticsearchURL string
	// StripeAPIBase is Stripe's API address; stripe-mock's in development (STRIPE_API_BASE).
	StripeAPIBase string
	// StripeSecretKey authenticates to Stripe (STRIPE_SECRET_KEY).
	StripeSecretKey string
	// StripeWebhookSecret verifies webhook signatures (STRIPE_WEBHOOK_SECRET).
	StripeWebhookSecret string
	// HTTPAddr is where the API listens; port 0 picks a free port (HTTP_ADDR).
	HTTPAddr string
	// OperatorToken is the bearer token of operators and analysts (OPERATOR_TOKEN).
	OperatorToken string
	// LogLevel is debug, info, warn or error (LOG_LEVEL).
	LogLevel string
	// ShutdownTimeout bounds the graceful shutdown on SIGTERM (SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// ReadinessTimeout bounds each dependency check of /readyz (READINESS_TIMEOUT).
	ReadinessTimeout time.Duration
}

// Validate reports every problem at once, each naming its environment variable.
func (c Config) Validate() error {
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", env, fmt.Sprintf(format, args...)))
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		bad("DATABASE_URL", "want a postgres://user:password@host:port/database URL, got %q", c.DatabaseURL)
	}
	if len(c.KafkaBrokers) == 0 {
		bad("KAFKA_BROKERS", "want at least one host:port")
	}
	for _, b := range c.KafkaBrokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			bad("KAFKA_BROKERS", "want host:port, got %q", b)
		}
	}
	checkHTTPURL := func(env, v string) {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(env, "want an http(s):// URL, got %q", v)
		}
	}
	checkHTTPURL("ELASTICSEARCH_URL", c.ElasticsearchURL)
	checkHTTPURL("STRIPE_API_BASE", c.StripeAPIBase)
	if !strings.HasPrefix(c.StripeSecretKey, "sk_") && !strings.HasPrefix(c.StripeSecretKey, "rk_") {
		bad("STRIPE_SECRET_KEY", "want a Stripe secret key (sk_… or rk_…)")
	}
	if c.StripeWebhookSecret == "" {
		bad("STRIPE_WEBHOOK_SECRET", "must be set (whsec_…)")
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("HTTP_ADDR", "want host:port, got %q", c.HTTPAddr)
	}
	if len(c.OperatorToken) < 16 {
		bad("OPERATOR_TOKEN", "must be at least 16 characters")
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		bad("LOG_LEVEL", "want debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.ShutdownTimeout <= 0 {
		bad("SHUTDOWN_TIMEOUT", "must be positive")
	}
	if c.ReadinessTimeout <= 0 {
		bad("READINESS_TIMEOUT", "must be positive")
	}
	return errors.Join(errs...)
}

// SlogLevel is LogLevel parsed; Validate has checked it.
func (c Config) SlogLevel() slog.Level {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	return lvl
}
