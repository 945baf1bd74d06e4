package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/jobboard/jobboard/internal/app"
)

// setting is one configuration entry: an environment variable, the flag that overrides it,
// its default (which works with the local stack) and where it lands in app.Config.
type setting struct {
	env, flag, def, help string
	bind                 func(c *app.Config, v string) error
}

func str(dst func(*app.Config) *string) func(*app.Config, string) error {
	return func(c *app.Config, v string) error { *dst(c) = v; return nil }
}

func dur(env string, dst func(*app.Config) *time.Duration) func(*app.Config, string) error {
	return func(c *app.Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%s: want a duration such as 15s, got %q", env, v)
		}
		*dst(c) = d
		return nil
	}
}

var settings = []setting{
	{"DATABASE_URL", "database-url", "postgres://jobboard:jobboard@127.0.0.1:5432/jobboard?sslmode=disable", "PostgreSQL: event store and read tables", str(func(c *app.Config) *string { return &c.DatabaseURL })},
	{"KAFKA_BROKERS", "kafka-brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma separated", func(c *app.Config, v string) error {
		c.KafkaBrokers = nil
		for _, b := range strings.Split(v, ",") {
			if b = strings.TrimSpace(b); b != "" {
				c.KafkaBrokers = append(c.KafkaBrokers, b)
			}
		}
		return nil
	}},
	{"ELASTICSEARCH_URL", "elasticsearch-url", "http://127.0.0.1:9200", "Elasticsearch HTTP address", str(func(c *app.Config) *string { return &c.ElasticsearchURL })},
	{"STRIPE_API_BASE", "stripe-api-base", "http://127.0.0.1:12111", "Stripe API address (stripe-mock locally)", str(func(c *app.Config) *string { return &c.StripeAPIBase })},
	{"STRIPE_SECRET_KEY", "stripe-secret-key", "sk_test_123", "Stripe secret key", str(func(c *app.Config) *string { return &c.StripeSecretKey })},
	{"STRIPE_WEBHOOK_SECRET", "stripe-webhook-secret", "whsec_local_development_only", "secret that signs Stripe webhooks", str(func(c *app.Config) *string { return &c.StripeWebhookSecret })},
	{"HTTP_ADDR", "http-addr", "127.0.0.1:8080", "address the API listens on (port 0: any free port)", str(func(c *app.Config) *string { return &c.HTTPAddr })},
	{"OPERATOR_TOKEN", "operator-token", "local-operator-token", "bearer token of operators and analysts (≥ 16 characters)", str(func(c *app.Config) *string { return &c.OperatorToken })},
	{"LOG_LEVEL", "log-level", "info", "debug, info, warn or error", str(func(c *app.Config) *string { return &c.LogLevel })},
	{"SHUTDOWN_TIMEOUT", "shutdown-timeout", "15s", "grace period for requests in flight on SIGTERM", dur("SHUTDOWN_TIMEOUT", func(c *app.Config) *time.Duration { return &c.ShutdownTimeout })},
	{"READINESS_TIMEOUT", "readiness-timeout", "2s", "bound of each dependency check of /readyz", dur("READINESS_TIMEOUT", func(c *app.Config) *time.Duration { return &c.ReadinessTimeout })},
}

// addConfigFlags declares one flag per setting on fs.
func addConfigFlags(fs *pflag.FlagSet) {
	for _, s := range settings {
		fs.String(s.flag, "", fmt.Sprintf("%s (env %s, default %q)", s.help, s.env, s.def))
	}
}

// loadConfig resolves every setting: flag if given, else environment, else default.
func loadConfig(fs *pflag.FlagSet, getenv func(string) string) (app.Config, error) {
	var c app.Config
	for _, s := range settings {
		v := s.def
		if e := getenv(s.env); e != "" {
			v = e
		}
		if f := fs.Lookup(s.flag); f != nil && f.Changed {
			v = f.Value.String()
		}
		if err := s.bind(&c, v); err != nil {
			return c, err
		}
	}
	return c, c.Validate()
}

// printConfigTable writes the settings as the Markdown table of the README.
func printConfigTable(w io.Writer) {
	fmt.Fprintln(w, "| Variable | Flag | Default | Meaning |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, s := range settings {
		fmt.Fprintf(w, "| `%s` | `--%s` | `%s` | %s |\n", s.env, s.flag, s.def, s.help)
	}
}
