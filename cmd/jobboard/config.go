package main

import (
	"fmt"
	"io"
	"strconv"
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
		c.KafkaBrokers = splitList(v)
		return nil
	}},
	{"ELASTICSEARCH_URL", "elasticsearch-url", "http://127.0.0.1:9200", "Elasticsearch HTTP address", str(func(c *app.Config) *string { return &c.ElasticsearchURL })},
	{"STRIPE_API_BASE", "stripe-api-base", "http://127.0.0.1:12111", "Stripe API address (stripe-mock locally)", str(func(c *app.Config) *string { return &c.StripeAPIBase })},
	{"STRIPE_SECRET_KEY", "stripe-secret-key", "sk_test_123", "Stripe secret key", str(func(c *app.Config) *string { return &c.StripeSecretKey })},
	{"STRIPE_WEBHOOK_SECRET", "stripe-webhook-secret", "whsec_local_development_only", "secret that signs Stripe webhooks", str(func(c *app.Config) *string { return &c.StripeWebhookSecret })},
	{"HTTP_ADDR", "http-addr", "127.0.0.1:8080", "address the API listens on (port 0: any free port)", str(func(c *app.Config) *string { return &c.HTTPAddr })},
	{"OPERATOR_TOKEN", "operator-token", "local-operator-token", "bearer token of operators and analysts (≥ 16 characters)", str(func(c *app.Config) *string { return &c.OperatorToken })},
	{"ROLES", "roles", "api,relay,projectors,scheduler", "the roles this process runs, comma separated: api, relay, projectors, scheduler", func(c *app.Config, v string) error {
		c.Roles = splitList(v)
		return nil
	}},
	{"KAFKA_TOPIC_PREFIX", "kafka-topic-prefix", "jobboard.", "prefix of every Kafka topic the app uses", str(func(c *app.Config) *string { return &c.KafkaTopicPrefix })},
	{"ELASTICSEARCH_INDEX_PREFIX", "elasticsearch-index-prefix", "jobboard-", "prefix of every Elasticsearch index and alias the app uses", str(func(c *app.Config) *string { return &c.ElasticsearchIndexPrefix })},
	{"EXPIRY_INTERVAL", "expiry-interval", "30s", "how often the scheduler expires listings past their expiry", dur("EXPIRY_INTERVAL", func(c *app.Config) *time.Duration { return &c.ExpiryInterval })},
	{"KAFKA_PARTITIONS", "kafka-partitions", "8", "partitions of the topics the app creates (the most projector instances per projection)", func(c *app.Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("KAFKA_PARTITIONS: want a number, got %q", v)
		}
		c.KafkaPartitions = n
		return nil
	}},
	{"CONSISTENCY_TIMEOUT", "consistency-timeout", "5s", "how long a query with X-Consistency-Token waits for its projection before 504", dur("CONSISTENCY_TIMEOUT", func(c *app.Config) *time.Duration { return &c.ConsistencyTimeout })},
	{"LOG_LEVEL", "log-level", "info", "debug, info, warn or error", str(func(c *app.Config) *string { return &c.LogLevel })},
	{"SHUTDOWN_TIMEOUT", "shutdown-timeout", "15s", "grace period for requests in flight on SIGTERM", dur("SHUTDOWN_TIMEOUT", func(c *app.Config) *time.Duration { return &c.ShutdownTimeout })},
	{"READINESS_TIMEOUT", "readiness-timeout", "2s", "bound of each dependency check of /readyz", dur("READINESS_TIMEOUT", func(c *app.Config) *time.Duration { return &c.ReadinessTimeout })},
	{"LISTING_PRICE_STANDARD", "listing-price-standard", "4900", "price of a standard listing (30 days), minor units of LISTING_CURRENCY", i64("LISTING_PRICE_STANDARD", func(c *app.Config) *int64 { return &c.ListingPriceStandard })},
	{"LISTING_PRICE_FEATURED", "listing-price-featured", "9900", "price of a featured listing (pinned on top), minor units of LISTING_CURRENCY", i64("LISTING_PRICE_FEATURED", func(c *app.Config) *int64 { return &c.ListingPriceFeatured })},
	{"LISTING_CURRENCY", "listing-currency", "EUR", "ISO 4217 currency of listing prices", str(func(c *app.Config) *string { return &c.ListingCurrency })},
	{"LISTING_DURATION", "listing-duration", "720h", "how long a paid listing stays published", dur("LISTING_DURATION", func(c *app.Config) *time.Duration { return &c.ListingDuration })},
	{"RATE_LIMIT_REGISTRATION", "rate-limit-registration", "60", "sign-ups (POST /v1/companies, /v1/candidates) per minute per client IP and instance; 0: no limit", f64("RATE_LIMIT_REGISTRATION", func(c *app.Config) *float64 { return &c.RegistrationRateLimit.PerMinute })},
	{"RATE_LIMIT_REGISTRATION_BURST", "rate-limit-registration-burst", "30", "sign-ups a client IP may send at once", atoi("RATE_LIMIT_REGISTRATION_BURST", func(c *app.Config) *int { return &c.RegistrationRateLimit.Burst })},
	{"RATE_LIMIT_APPLICATION", "rate-limit-application", "120", "applications (POST /v1/jobs/{id}/applications) per minute per client IP and instance; 0: no limit", f64("RATE_LIMIT_APPLICATION", func(c *app.Config) *float64 { return &c.ApplicationRateLimit.PerMinute })},
	{"RATE_LIMIT_APPLICATION_BURST", "rate-limit-application-burst", "60", "applications a client IP may send at once", atoi("RATE_LIMIT_APPLICATION_BURST", func(c *app.Config) *int { return &c.ApplicationRateLimit.Burst })},
	{"TRUST_FORWARDED_FOR", "trust-forwarded-for", "false", "key rate limits by the last X-Forwarded-For address (only behind one trusted proxy)", boolean("TRUST_FORWARDED_FOR", func(c *app.Config) *bool { return &c.TrustForwardedFor })},
}

// splitList splits a comma separated list, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
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

func i64(env string, dst func(*app.Config) *int64) func(*app.Config, string) error {
	return func(c *app.Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%s: want an integer, got %q", env, v)
		}
		*dst(c) = n
		return nil
	}
}

func atoi(env string, dst func(*app.Config) *int) func(*app.Config, string) error {
	return func(c *app.Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%s: want an integer, got %q", env, v)
		}
		*dst(c) = n
		return nil
	}
}

func f64(env string, dst func(*app.Config) *float64) func(*app.Config, string) error {
	return func(c *app.Config, v string) error {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("%s: want a number, got %q", env, v)
		}
		*dst(c) = n
		return nil
	}
}

func boolean(env string, dst func(*app.Config) *bool) func(*app.Config, string) error {
	return func(c *app.Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%s: want true or false, got %q", env, v)
		}
		*dst(c) = b
		return nil
	}
}
