package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jobboard/jobboard/api"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/readmodels"
)

// Config is everything `jobboard serve` needs. cmd/jobboard fills it from environment
// variables and flags; the error messages of Validate name the environment variables.
type Config struct {
	// DatabaseURL is the PostgreSQL URL of the event store and read tables (DATABASE_URL).
	DatabaseURL string
	// DatabaseReadURL, when set, is a read-only PostgreSQL URL (a streaming replica of
	// DatabaseURL) for the queries of the read tables (DATABASE_READ_URL); consistency
	// tokens are honoured there (readmodels.StoreConfig.ReadPool). Empty: the primary.
	DatabaseReadURL string
	// DatabaseMaxConns is the size of the PostgreSQL connection pool (DATABASE_MAX_CONNS);
	// 0 takes DefaultDatabaseMaxConns. It overrides a pool_max_conns in DATABASE_URL.
	// Consistency waits hold no connection, the notification listener has its own.
	DatabaseMaxConns int
	// KafkaBrokers are the bootstrap brokers, host:port (KAFKA_BROKERS, comma separated).
	KafkaBrokers []string
	// ElasticsearchURL is the search engine's HTTP address (ELASTICSEARCH_URL); several
	// nodes of one cluster, comma separated, share the requests and stand in for a node
	// that is down (the client retries on the next).
	ElasticsearchURL string
	// StripeAPIBase is Stripe's API address; stripe-mock's in development (STRIPE_API_BASE).
	StripeAPIBase string
	// StripeSecretKey authenticates to Stripe (STRIPE_SECRET_KEY).
	StripeSecretKey string
	// StripeWebhookSecret verifies webhook signatures (STRIPE_WEBHOOK_SECRET).
	StripeWebhookSecret string
	// HTTPAddr is where the API listens; port 0 picks a free port (HTTP_ADDR).
	HTTPAddr string
	// OperatorToken is the bearer token of the operator named "operator" (OPERATOR_TOKEN); it
	// may be empty when Operators are set.
	OperatorToken string
	// Operators have a token each, so events and logs name the operator who acted
	// (OPERATOR_TOKENS: name=token,…; names of 1 to 32 a-z 0-9 _ -, tokens ≥ 32 characters).
	Operators []api.Operator
	// SigningKey is the HMAC key that signs what the server hands out and must get back
	// unchanged: consistency tokens, search cursors (SIGNING_KEY, at least 32 bytes). Every
	// instance of a deployment needs the same key.
	SigningKey string
	// DevMode allows the built-in development secrets on a non-loopback address and enables
	// development-only conveniences (DEV_MODE). Never set it in production.
	DevMode bool
	// LogLevel is debug, info, warn or error (LOG_LEVEL).
	LogLevel string
	// ShutdownTimeout bounds the graceful shutdown on SIGTERM (SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// ReadinessTimeout bounds each dependency check of /readyz (READINESS_TIMEOUT).
	ReadinessTimeout time.Duration
	// Roles are the parts of the system this process runs (ROLES): api, relay, projectors,
	// scheduler, notifier.
	Roles []string
	// KafkaTopicPrefix starts the name of every topic the app uses (KAFKA_TOPIC_PREFIX), so
	// several deployments or test runs can share a cluster.
	KafkaTopicPrefix string
	// ElasticsearchIndexPrefix starts the name of every index and alias the app uses
	// (ELASTICSEARCH_INDEX_PREFIX), so several deployments or test runs share a cluster.
	ElasticsearchIndexPrefix string
	// ExpiryInterval is how often the scheduler looks for listings past their expiry
	// (EXPIRY_INTERVAL).
	ExpiryInterval time.Duration
	// KafkaPartitions is the partition count of the topics the app creates (KAFKA_PARTITIONS);
	// it bounds how many projector instances of one projection can share the work.
	KafkaPartitions int
	// KafkaReplicationFactor is the replication factor of the topics the app creates
	// (KAFKA_REPLICATION_FACTOR): 1 on one broker, 3 on a production cluster; 0 takes 1.
	KafkaReplicationFactor int
	// KafkaMinInsyncReplicas is the min.insync.replicas of the topics the app creates
	// (KAFKA_MIN_INSYNC_REPLICAS): how many replicas hold a message before the relay's
	// acks=all write succeeds. 2 of 3 survives one broker down without losing a write; 0
	// keeps the broker's default.
	KafkaMinInsyncReplicas int
	// ElasticsearchShards and ElasticsearchReplicas are the primary shards and the
	// replicas of each search index the app creates (ELASTICSEARCH_SHARDS,
	// ELASTICSEARCH_REPLICAS); replicas also apply to the live index at start. 0 shards
	// takes 1.
	ElasticsearchShards, ElasticsearchReplicas int

	// ListingPriceStandard is the price of a standard listing in minor units of
	// ListingCurrency (LISTING_PRICE_STANDARD); 0 takes the commands' default.
	ListingPriceStandard int64
	// ListingPriceFeatured is the price of a featured listing (LISTING_PRICE_FEATURED).
	ListingPriceFeatured int64
	// ListingCurrency is the ISO 4217 currency of listing prices (LISTING_CURRENCY).
	ListingCurrency string
	// ListingDuration is how long a paid listing stays published (LISTING_DURATION).
	ListingDuration time.Duration
	// RegistrationRateLimit limits sign-ups and one-click unsubscribes per client IP (RATE_LIMIT_REGISTRATION,
	// RATE_LIMIT_REGISTRATION_BURST); a zero rate disables it.
	RegistrationRateLimit api.RateLimit
	// ApplicationRateLimit limits applications per client IP (RATE_LIMIT_APPLICATION,
	// RATE_LIMIT_APPLICATION_BURST); a zero rate disables it.
	ApplicationRateLimit api.RateLimit
	// SearchRateLimit limits searches (GET /v1/jobs) per client IP (RATE_LIMIT_SEARCH,
	// RATE_LIMIT_SEARCH_BURST); a zero rate disables it.
	SearchRateLimit api.RateLimit
	// EmployerRateLimit limits an employer's job and payment commands per employer, and
	// every account's alert and e-mail preference commands per account (RATE_LIMIT_EMPLOYER,
	// RATE_LIMIT_EMPLOYER_BURST); a zero rate disables it.
	EmployerRateLimit api.RateLimit
	// SearchTimeout is the time budget of one search in Elasticsearch (SEARCH_TIMEOUT); past
	// it the search answers 503. 0 takes the read models' 2 s.
	SearchTimeout time.Duration
	// SearchFacetsMaxAge is how long a search's facets are reused for searches with the same
	// words and filters (SEARCH_FACETS_MAX_AGE; readmodels.StoreConfig.FacetsMaxAge); 0: never,
	// every search counts them.
	SearchFacetsMaxAge time.Duration
	// TrustForwardedFor keys rate limits by the last X-Forwarded-For address, behind one
	// trusted reverse proxy (TRUST_FORWARDED_FOR).
	TrustForwardedFor bool
	// ConsistencyTimeout bounds how long a query sent with X-Consistency-Token waits for its
	// projection before answering 504 (CONSISTENCY_TIMEOUT); 0 takes the API's 5 s.
	ConsistencyTimeout time.Duration
	// ConsistencyMaxWaiters caps the queries of this instance waiting at once for their
	// consistency tokens; past it a query answers 503 with Retry-After
	// (CONSISTENCY_MAX_WAITERS); 0 takes readmodels.DefaultMaxWaiters.
	ConsistencyMaxWaiters int
	// ConsistencyPollInterval is how often a waiting query looks again when no notification
	// of the projectors woke it, a guard against a lost one (CONSISTENCY_POLL_INTERVAL); 0
	// takes 1 s.
	ConsistencyPollInterval time.Duration

	// SMTPURL is the mail server the notifier sends through (SMTP_URL):
	// smtp://user:password@host:port with ?starttls=required|opportunistic|none, or smtps://.
	SMTPURL string
	// MailFrom is the sender of every message (MAIL_FROM); its domain ends the Message-IDs.
	MailFrom string
	// PublicBaseURL starts the links in messages (PUBLIC_BASE_URL): where users reach the
	// product.
	PublicBaseURL string
	// MailMaxAttempts: a message whose sending failed this often is dead (MAIL_MAX_ATTEMPTS).
	MailMaxAttempts int
	// ProjectorBatchSize is the most events one write of a projector applies
	// (PROJECTOR_BATCH_SIZE); 0 is the runner's default (5000).
	ProjectorBatchSize int
	// MailWorkers are the concurrent SMTP connections of one notifier (MAIL_WORKERS).
	MailWorkers int
	// MailClaimLease is how long a notifier holds the messages it claimed before another
	// instance may take them over (MAIL_CLAIM_LEASE): what a crashed instance delays.
	MailClaimLease time.Duration
}

// DefaultDatabaseMaxConns is the pool size when DATABASE_MAX_CONNS is 0.
const DefaultDatabaseMaxConns = 16

// Validate reports every problem at once, each naming its environment variable.
func (c Config) Validate() error {
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", env, fmt.Sprintf(format, args...)))
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		bad("DATABASE_URL", "want a postgres://user:password@host:port/database URL, got %s", redactedURL(c.DatabaseURL))
	}
	if c.DatabaseReadURL != "" {
		if u, err := url.Parse(c.DatabaseReadURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			bad("DATABASE_READ_URL", "want empty or a postgres://user:password@host:port/database URL, got %s", redactedURL(c.DatabaseReadURL))
		}
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
			bad(env, "want an http(s):// URL, got %s", redactedURL(v))
		}
	}
	for _, u := range c.ElasticsearchAddresses() {
		checkHTTPURL("ELASTICSEARCH_URL", u)
	}
	if len(c.ElasticsearchAddresses()) == 0 {
		bad("ELASTICSEARCH_URL", "want at least one http(s):// URL")
	}
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
	if len(c.OperatorToken) < 16 && (c.OperatorToken != "" || len(c.Operators) == 0) {
		bad("OPERATOR_TOKEN", "must be at least 16 characters (or empty, with OPERATOR_TOKENS)")
	}
	errs = append(errs, c.validateOperators()...)
	if len(c.SigningKey) < 32 {
		bad("SIGNING_KEY", "must be at least 32 bytes")
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
	if err := validateRoles(c.Roles); err != nil {
		errs = append(errs, err)
	}
	if c.KafkaTopicPrefix == "" || strings.ContainsAny(c.KafkaTopicPrefix, " /\\") {
		bad("KAFKA_TOPIC_PREFIX", "want a non-empty prefix of letters, digits, '.', '_' or '-', got %q", c.KafkaTopicPrefix)
	}
	if strings.ContainsAny(c.ElasticsearchIndexPrefix, " /\\*?\"<>|,#:") || c.ElasticsearchIndexPrefix != strings.ToLower(c.ElasticsearchIndexPrefix) {
		bad("ELASTICSEARCH_INDEX_PREFIX", "want lower-case letters, digits, '.', '_' or '-', got %q", c.ElasticsearchIndexPrefix)
	}
	if c.DatabaseMaxConns < 0 || c.DatabaseMaxConns > 1000 {
		bad("DATABASE_MAX_CONNS", "want 0 (the default, %d) to 1000, got %d", DefaultDatabaseMaxConns, c.DatabaseMaxConns)
	}
	if c.ExpiryInterval <= 0 {
		bad("EXPIRY_INTERVAL", "must be positive")
	}
	if c.KafkaPartitions < 1 || c.KafkaPartitions > 1000 {
		bad("KAFKA_PARTITIONS", "want 1 to 1000, got %d", c.KafkaPartitions)
	}
	if c.ProjectorBatchSize < 0 || c.ProjectorBatchSize > eventstore.MaxReadLimit {
		bad("PROJECTOR_BATCH_SIZE", "want 1 to %d, got %d", eventstore.MaxReadLimit, c.ProjectorBatchSize)
	}
	if c.KafkaReplicationFactor < 0 || c.KafkaReplicationFactor > 16 {
		bad("KAFKA_REPLICATION_FACTOR", "want 1 to 16, got %d", c.KafkaReplicationFactor)
	}
	rf := max(c.KafkaReplicationFactor, 1)
	if c.KafkaMinInsyncReplicas < 0 || c.KafkaMinInsyncReplicas > rf {
		bad("KAFKA_MIN_INSYNC_REPLICAS", "want 1 to KAFKA_REPLICATION_FACTOR (%d), got %d", rf, c.KafkaMinInsyncReplicas)
	} else if rf > 1 && c.KafkaMinInsyncReplicas == rf {
		bad("KAFKA_MIN_INSYNC_REPLICAS", "equal to KAFKA_REPLICATION_FACTOR (%d), one broker down would stop every write; want at most %d", rf, rf-1)
	}
	if c.ElasticsearchShards < 0 || c.ElasticsearchShards > 64 {
		bad("ELASTICSEARCH_SHARDS", "want 1 to 64, got %d", c.ElasticsearchShards)
	}
	if c.ElasticsearchReplicas < 0 || c.ElasticsearchReplicas > 8 {
		bad("ELASTICSEARCH_REPLICAS", "want 0 to 8, got %d", c.ElasticsearchReplicas)
	}
	errs = append(errs, c.validateAPI()...)
	errs = append(errs, c.validateExposure()...)
	errs = append(errs, c.validateMail()...)
	return errors.Join(errs...)
}

// ElasticsearchAddresses are the node URLs of ElasticsearchURL.
func (c Config) ElasticsearchAddresses() []string {
	var out []string
	for _, u := range strings.Split(c.ElasticsearchURL, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// SearchIndexSettings are the shards and replicas of the search indices the app creates.
func (c Config) SearchIndexSettings() readmodels.IndexSettings {
	return readmodels.IndexSettings{Shards: c.ElasticsearchShards, Replicas: c.ElasticsearchReplicas}
}

// SlogLevel is LogLevel parsed; Validate has checked it.
func (c Config) SlogLevel() slog.Level {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	return lvl
}

// databaseMaxConns is the pool size DatabaseMaxConns asks for.
func (c Config) databaseMaxConns() int {
	if c.DatabaseMaxConns == 0 {
		return DefaultDatabaseMaxConns
	}
	return c.DatabaseMaxConns
}
