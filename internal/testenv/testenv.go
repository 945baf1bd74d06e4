// Package testenv gives tests the addresses of the real engines the local stack starts
// (make stack) and fresh, isolated resources on them. A test that needs an engine which does
// not answer fails; it skips only when JOBBOARD_ALLOW_SKIP=1 is set and CI is not, so CI
// never passes by skipping.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jobboard/jobboard/migrations"
)

// Defaults match the local stack (stack/stack.sh) and docker-compose.yml.
const (
	DefaultDatabaseURL      = "postgres://jobboard:jobboard@127.0.0.1:5432/jobboard_test?sslmode=disable"
	DefaultKafkaBrokers     = "127.0.0.1:9092"
	DefaultElasticsearchURL = "http://127.0.0.1:9200"
	DefaultStripeAPIBase    = "http://127.0.0.1:12111"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// missing fails (or, when explicitly allowed outside CI, skips) a test whose engine is down.
func missing(tb testing.TB, engine, addr string, err error) {
	tb.Helper()
	msg := fmt.Sprintf("%s is not reachable at %s (%v): start the stack with `make stack`", engine, addr, err)
	if os.Getenv("CI") != "true" && os.Getenv("JOBBOARD_ALLOW_SKIP") == "1" {
		tb.Skip(msg)
	}
	tb.Fatal(msg)
}

func dial(tb testing.TB, engine, hostport string) {
	tb.Helper()
	c, err := net.DialTimeout("tcp", hostport, 2*time.Second)
	if err != nil {
		missing(tb, engine, hostport, err)
		return
	}
	c.Close()
}

// PostgresURL is the URL of the shared test database (TEST_DATABASE_URL).
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	u := env("TEST_DATABASE_URL", DefaultDatabaseURL)
	pu, err := url.Parse(u)
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	dial(tb, "PostgreSQL", pu.Host)
	return u
}

// NewDatabase creates a fresh database with every migration applied and drops it when the
// test ends. It returns its URL. Tests that share nothing need no cleanup of their own.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	base := PostgresURL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		missing(tb, "PostgreSQL", base, err)
		return ""
	}
	defer admin.Close(ctx)
	name := "jbt_" + RandomSuffix()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Logf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("drop database %s: %v", name, err)
		}
	})
	pu, _ := url.Parse(base)
	pu.Path = "/" + name
	dsn := pu.String()
	if err := migrations.Up(ctx, dsn); err != nil {
		tb.Fatalf("migrate %s: %v", name, err)
	}
	return dsn
}

// KafkaBrokers is the broker list of the stack's Kafka (KAFKA_BROKERS).
func KafkaBrokers(tb testing.TB) []string {
	tb.Helper()
	brokers := strings.Split(env("KAFKA_BROKERS", DefaultKafkaBrokers), ",")
	dial(tb, "Kafka", brokers[0])
	return brokers
}

// ElasticsearchURL is the stack's Elasticsearch (ELASTICSEARCH_URL).
func ElasticsearchURL(tb testing.TB) string {
	tb.Helper()
	u := env("ELASTICSEARCH_URL", DefaultElasticsearchURL)
	pu, err := url.Parse(u)
	if err != nil {
		tb.Fatalf("ELASTICSEARCH_URL: %v", err)
	}
	dial(tb, "Elasticsearch", pu.Host)
	return u
}

// StripeAPIBase is the stack's stripe-mock (STRIPE_API_BASE).
func StripeAPIBase(tb testing.TB) string {
	tb.Helper()
	u := env("STRIPE_API_BASE", DefaultStripeAPIBase)
	pu, err := url.Parse(u)
	if err != nil {
		tb.Fatalf("STRIPE_API_BASE: %v", err)
	}
	dial(tb, "stripe-mock", pu.Host)
	return u
}

// RandomSuffix returns 12 random hex characters, for names of databases, topics and indices
// that must not collide between tests and runs.
func RandomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ElasticsearchCPU is the CPU time the Elasticsearch node(s) at url have used so far, in
// milliseconds (_nodes/stats/process): benchmarks report the engine's CPU per request, a
// cost a busy machine moves far less than a latency percentile.
func ElasticsearchCPU(tb testing.TB, url string) float64 {
	tb.Helper()
	res, err := http.Get(url + "/_nodes/stats/process")
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	var stats struct {
		Nodes map[string]struct {
			Process struct {
				CPU struct {
					TotalInMillis float64 `json:"total_in_millis"`
				} `json:"cpu"`
			} `json:"process"`
		} `json:"nodes"`
	}
	if err := json.NewDecoder(res.Body).Decode(&stats); err != nil || res.StatusCode != http.StatusOK {
		tb.Fatalf("node stats of %s: %s: %v", url, res.Status, err)
	}
	var total float64
	for _, n := range stats.Nodes {
		total += n.Process.CPU.TotalInMillis
	}
	return total
}
