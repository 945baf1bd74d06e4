package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/jobboard/jobboard/api"
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

// parsed binds a setting that parse turns into a T; want names the form it takes.
func parsed[T any](want string, parse func(string) (T, error), dst func(*app.Config) *T) func(*app.Config, string) error {
	return func(c *app.Config, v string) error {
		x, err := parse(v)
		if err != nil {
			return fmt.Errorf("want %s, got %q", want, v)
		}
		*dst(c) = x
		return nil
	}
}

func dur(dst func(*app.Config) *time.Duration) func(*app.Config, string) error {
	return parsed("a duration such as 15s", time.ParseDuration, dst)
}

func i64(dst func(*app.Config) *int64) func(*app.Config, string) error {
	return parsed("an integer", func(v string) (int64, error) { return strconv.ParseInt(v, 10, 64) }, dst)
}

func atoi(dst func(*app.Config) *int) func(*app.Config, string) error {
	return parsed("an integer", strconv.Atoi, dst)
}

func f64(dst func(*app.Config) *float64) func(*app.Config, string) error {
	return parsed("a number", func(v string) (float64, error) { return strconv.ParseFloat(v, 64) }, dst)
}

func boolean(dst func(*app.Config) *bool) func(*app.Config, string) error {
	return parsed("true or false", strconv.ParseBool, dst)
}

// list binds a comma-separated list.
func list(dst func(*app.Config) *[]string) func(*app.Config, string) error {
	return func(c *app.Config, v string) error { *dst(c) = splitList(v); return nil }
}

var settings = []setting{
	{"DATABASE_URL", "database-url", "postgres://jobboard:jobboard@127.0.0.1:5432/jobboard?sslmode=disable", "PostgreSQL: event store and read tables", str(func(c *app.Config) *string { return &c.DatabaseURL })},
	{"DATABASE_MAX_CONNS", "database-max-conns", "16", "size of the PostgreSQL connection pool (overrides pool_max_conns in DATABASE_URL)", atoi(func(c *app.Config) *int { return &c.DatabaseMaxConns })},
	{"DATABASE_READ_URL", "database-read-url", "", "read-only PostgreSQL (a streaming replica of DATABASE_URL) for the read-table queries; consistency tokens are honoured there; empty: DATABASE_URL", str(func(c *app.Config) *string { return &c.DatabaseReadURL })},
	{"KAFKA_BROKERS", "kafka-brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma separated", list(func(c *app.Config) *[]string { return &c.KafkaBrokers })},
	{"ELASTICSEARCH_URL", "elasticsearch-url", "http://127.0.0.1:9200", "Elasticsearch HTTP address; several nodes of one cluster comma separated", str(func(c *app.Config) *string { return &c.ElasticsearchURL })},
	{"STRIPE_API_BASE", "stripe-api-base", "http://127.0.0.1:12111", "Stripe API address (stripe-mock locally)", str(func(c *app.Config) *string { return &c.StripeAPIBase })},
	{"STRIPE_SECRET_KEY", "stripe-secret-key", app.DevStripeSecretKey, "Stripe secret key", str(func(c *app.Config) *string { return &c.StripeSecretKey })},
	{"STRIPE_WEBHOOK_SECRET", "stripe-webhook-secret", app.DevStripeWebhookSecret, "secret that signs Stripe webhooks", str(func(c *app.Config) *string { return &c.StripeWebhookSecret })},
	{"HTTP_ADDR", "http-addr", "127.0.0.1:8080", "address the API listens on (port 0: any free port)", str(func(c *app.Config) *string { return &c.HTTPAddr })},
	{"OPERATOR_TOKEN", "operator-token", app.DevOperatorToken, "bearer token of the operator named `operator` (≥ 16 characters); no default when OPERATOR_TOKENS is set", str(func(c *app.Config) *string { return &c.OperatorToken })},
	{"OPERATOR_TOKENS", "operator-tokens", "", "operators with a token each, `name=token,name=token` (names: 1 to 32 of a-z 0-9 _ -; tokens ≥ 32 characters, all distinct); events record the actor `operator:<name>`", operators},
	{"SIGNING_KEY", "signing-key", app.DevSigningKey, "HMAC key signing consistency tokens and cursors (≥ 32 bytes; the same on every instance)", str(func(c *app.Config) *string { return &c.SigningKey })},
	{"DEV_MODE", "dev-mode", "false", "development switch: allows the built-in development secrets off loopback; never in production", boolean(func(c *app.Config) *bool { return &c.DevMode })},
	{"ROLES", "roles", "api,relay,projectors,scheduler,notifier,web", "the roles this process runs, comma separated: api, relay, projectors, scheduler, notifier, web", list(func(c *app.Config) *[]string { return &c.Roles })},
	{"KAFKA_TOPIC_PREFIX", "kafka-topic-prefix", "jobboard.", "prefix of every Kafka topic the app uses", str(func(c *app.Config) *string { return &c.KafkaTopicPrefix })},
	{"ELASTICSEARCH_INDEX_PREFIX", "elasticsearch-index-prefix", "jobboard-", "prefix of every Elasticsearch index and alias the app uses", str(func(c *app.Config) *string { return &c.ElasticsearchIndexPrefix })},
	{"EXPIRY_INTERVAL", "expiry-interval", "30s", "how often the scheduler expires listings past their expiry", dur(func(c *app.Config) *time.Duration { return &c.ExpiryInterval })},
	{"KAFKA_PARTITIONS", "kafka-partitions", "8", "partitions of the topics the app creates (the most projector instances per projection)", parsed("a number", strconv.Atoi, func(c *app.Config) *int { return &c.KafkaPartitions })},
	{"KAFKA_REPLICATION_FACTOR", "kafka-replication-factor", "1", "replicas of each partition of the topics the app creates (3 on a cluster); existing topics keep theirs", atoi(func(c *app.Config) *int { return &c.KafkaReplicationFactor })},
	{"KAFKA_MIN_INSYNC_REPLICAS", "kafka-min-insync-replicas", "1", "min.insync.replicas of the topics the app creates: replicas holding an event before the relay's acks=all write succeeds (2 of 3 on a cluster)", atoi(func(c *app.Config) *int { return &c.KafkaMinInsyncReplicas })},
	{"PROJECTOR_BATCH_SIZE", "projector-batch-size", "5000", "most events one write of a projector applies: from Kafka while a backlog drains, and from the event store when a projector catches a backlog up (at its start, or 10 s behind while it runs) (1 to 10,000)", atoi(func(c *app.Config) *int { return &c.ProjectorBatchSize })},
	{"ELASTICSEARCH_SHARDS", "elasticsearch-shards", "1", "primary shards of each search index the app creates (fixed per index: a change takes effect with the next rebuild)", atoi(func(c *app.Config) *int { return &c.ElasticsearchShards })},
	{"ELASTICSEARCH_REPLICAS", "elasticsearch-replicas", "0", "replicas of each shard of the search indices (1 on two nodes); applied to the live index at start", atoi(func(c *app.Config) *int { return &c.ElasticsearchReplicas })},
	{"CONSISTENCY_TIMEOUT", "consistency-timeout", "5s", "how long a query with X-Consistency-Token waits for its projection before 504", dur(func(c *app.Config) *time.Duration { return &c.ConsistencyTimeout })},
	{"CONSISTENCY_MAX_WAITERS", "consistency-max-waiters", "256", "queries waiting at once for their X-Consistency-Token per instance; past it 503 with Retry-After", atoi(func(c *app.Config) *int { return &c.ConsistencyMaxWaiters })},
	{"CONSISTENCY_POLL_INTERVAL", "consistency-poll-interval", "1s", "how often a waiting query looks again when no projector notification woke it", dur(func(c *app.Config) *time.Duration { return &c.ConsistencyPollInterval })},
	{"LOG_LEVEL", "log-level", "info", "debug, info, warn or error", str(func(c *app.Config) *string { return &c.LogLevel })},
	{"SHUTDOWN_TIMEOUT", "shutdown-timeout", "15s", "grace period for requests in flight on SIGTERM", dur(func(c *app.Config) *time.Duration { return &c.ShutdownTimeout })},
	{"READINESS_TIMEOUT", "readiness-timeout", "2s", "bound of each dependency check of /readyz", dur(func(c *app.Config) *time.Duration { return &c.ReadinessTimeout })},
	{"LISTING_PRICE_STANDARD", "listing-price-standard", "4900", "price of a standard listing (30 days), minor units of LISTING_CURRENCY", i64(func(c *app.Config) *int64 { return &c.ListingPriceStandard })},
	{"LISTING_PRICE_FEATURED", "listing-price-featured", "9900", "price of a featured listing (pinned on top), minor units of LISTING_CURRENCY", i64(func(c *app.Config) *int64 { return &c.ListingPriceFeatured })},
	{"LISTING_CURRENCY", "listing-currency", "EUR", "ISO 4217 currency of listing prices", str(func(c *app.Config) *string { return &c.ListingCurrency })},
	{"LISTING_DURATION", "listing-duration", "720h", "how long a paid listing stays published", dur(func(c *app.Config) *time.Duration { return &c.ListingDuration })},
	{"RATE_LIMIT_REGISTRATION", "rate-limit-registration", "60", "sign-ups (POST /v1/companies, /v1/candidates) one-click unsubscribes (/v1/unsubscribe) and the web's sign-up and sign-in forms (each e-mails), per minute per client IP and instance; 0: no limit", f64(func(c *app.Config) *float64 { return &c.RegistrationRateLimit.PerMinute })},
	{"RATE_LIMIT_REGISTRATION_BURST", "rate-limit-registration-burst", "30", "sign-ups a client IP may send at once", atoi(func(c *app.Config) *int { return &c.RegistrationRateLimit.Burst })},
	{"RATE_LIMIT_APPLICATION", "rate-limit-application", "120", "applications (POST /v1/jobs/{id}/applications) per minute per client IP and instance; 0: no limit", f64(func(c *app.Config) *float64 { return &c.ApplicationRateLimit.PerMinute })},
	{"RATE_LIMIT_APPLICATION_BURST", "rate-limit-application-burst", "60", "applications a client IP may send at once", atoi(func(c *app.Config) *int { return &c.ApplicationRateLimit.Burst })},
	{"RATE_LIMIT_SEARCH", "rate-limit-search", "600", "searches (GET /v1/jobs) per minute per client IP (IPv6: per /64) and instance; 0: no limit", f64(func(c *app.Config) *float64 { return &c.SearchRateLimit.PerMinute })},
	{"RATE_LIMIT_SEARCH_BURST", "rate-limit-search-burst", "120", "searches a client IP may send at once", atoi(func(c *app.Config) *int { return &c.SearchRateLimit.Burst })},
	{"RATE_LIMIT_EMPLOYER", "rate-limit-employer", "120", "job and payment commands (POST /v1/jobs, PATCH /v1/jobs/{id}, POST /v1/jobs/{id}/payments, /close) per minute per employer and instance, and the alert and e-mail preference commands (…/me/alerts, …/me/email-preferences) per account; 0: no limit", f64(func(c *app.Config) *float64 { return &c.EmployerRateLimit.PerMinute })},
	{"RATE_LIMIT_EMPLOYER_BURST", "rate-limit-employer-burst", "60", "job and payment commands an employer may send at once", atoi(func(c *app.Config) *int { return &c.EmployerRateLimit.Burst })},
	{"SEARCH_TIMEOUT", "search-timeout", "2s", "time budget of one search in Elasticsearch; past it GET /v1/jobs answers 503 with Retry-After", dur(func(c *app.Config) *time.Duration { return &c.SearchTimeout })},
	{"SEARCH_FACETS_MAX_AGE", "search-facets-max-age", "5s", "how long a search's facets are reused for searches with the same words and filters (items and total are always fresh; a search with X-Consistency-Token counts them); 0s: never", dur(func(c *app.Config) *time.Duration { return &c.SearchFacetsMaxAge })},
	{"SMTP_URL", "smtp-url", app.DevSMTPURL, "mail server of the notifier: `smtp://user:password@host:port?starttls=required|opportunistic|none` or `smtps://…`; without `starttls`: required, opportunistic on loopback; a password only over an encrypted connection off loopback; the default (the stack's Mailpit) is refused when the API listens off loopback, unless DEV_MODE", str(func(c *app.Config) *string { return &c.SMTPURL })},
	{"MAIL_FROM", "mail-from", "jobboard <noreply@jobboard.localhost>", "sender address of every message; its domain ends the Message-IDs", str(func(c *app.Config) *string { return &c.MailFrom })},
	{"PUBLIC_BASE_URL", "public-base-url", app.DevPublicBaseURL, "where users reach the product: the start of every link in messages (the default is refused when the API listens off loopback, unless DEV_MODE)", str(func(c *app.Config) *string { return &c.PublicBaseURL })},
	{"MAIL_MAX_ATTEMPTS", "mail-max-attempts", "8", "failed sending attempts after which a message is dead (retried with exponential backoff from 5 s, at most 10 min apart)", atoi(func(c *app.Config) *int { return &c.MailMaxAttempts })},
	{"MAIL_WORKERS", "mail-workers", "2", "concurrent SMTP connections of one notifier", atoi(func(c *app.Config) *int { return &c.MailWorkers })},
	{"MAIL_CLAIM_LEASE", "mail-claim-lease", "2m", "how long a notifier holds the messages it claimed before another instance may send them (a crashed instance delays them this long)", dur(func(c *app.Config) *time.Duration { return &c.MailClaimLease })},
	{"TRUST_FORWARDED_FOR", "trust-forwarded-for", "false", "key rate limits by the last X-Forwarded-For address (only behind one trusted proxy)", boolean(func(c *app.Config) *bool { return &c.TrustForwardedFor })},
}

// operators binds OPERATOR_TOKENS. Its errors never quote the value: it holds tokens.
func operators(c *app.Config, v string) error {
	c.Operators = nil
	for i, entry := range splitList(v) {
		name, token, ok := strings.Cut(entry, "=")
		name, token = strings.TrimSpace(name), strings.TrimSpace(token)
		if !ok || name == "" || token == "" {
			return fmt.Errorf("want name=token,name=token; entry %d is not name=token", i+1)
		}
		c.Operators = append(c.Operators, api.Operator{Name: name, Token: token})
	}
	return nil
}

// defaultOnlyWithout: the default of a setting (key) that holds only when another (value)
// is not given. A deployment with named operators has no shared operator token unless it
// sets one: the development default is a token everybody knows.
var defaultOnlyWithout = map[string]string{"OPERATOR_TOKEN": "OPERATOR_TOKENS"}

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
	given := func(s setting) bool {
		f := fs.Lookup(s.flag)
		return getenv(s.env) != "" || (f != nil && f.Changed)
	}
	var c app.Config
	for _, s := range settings {
		v := s.def
		if other, ok := defaultOnlyWithout[s.env]; ok && given(settingOf(other)) {
			v = ""
		}
		if e := getenv(s.env); e != "" {
			v = e
		}
		if f := fs.Lookup(s.flag); f != nil && f.Changed {
			v = f.Value.String()
		}
		if err := s.bind(&c, v); err != nil {
			return c, fmt.Errorf("%s: %w", s.env, err)
		}
	}
	return c, c.Validate()
}

// settingOf is the setting of the variable env.
func settingOf(env string) setting {
	for _, s := range settings {
		if s.env == env {
			return s
		}
	}
	panic("no setting " + env)
}

// printConfigTable writes the settings as the Markdown table of the README.
func printConfigTable(w io.Writer) {
	fmt.Fprintln(w, "| Variable | Flag | Default | Meaning |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, s := range settings {
		def := "`" + s.def + "`"
		if s.def == "" {
			def = "(none)"
		}
		fmt.Fprintf(w, "| `%s` | `--%s` | %s | %s |\n", s.env, s.flag, def, s.help)
	}
}
