package app_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jobboard/jobboard/internal/app"
)

func testLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// buildJobboard compiles the real binary once per test run.
func buildJobboard(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "jobboard")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/jobboard").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startProcess runs `jobboard serve` with cfg as its environment, its stderr on the test's.
func startProcess(t testing.TB, bin string, cfg app.Config) *exec.Cmd {
	t.Helper()
	return startProcessTo(t, bin, cfg, os.Stderr)
}

// startProcessTo is startProcess with the process's stderr written to stderr.
func startProcessTo(t testing.TB, bin string, cfg app.Config, stderr io.Writer) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+cfg.DatabaseURL,
		"KAFKA_BROKERS="+strings.Join(cfg.KafkaBrokers, ","),
		"ELASTICSEARCH_URL="+cfg.ElasticsearchURL,
		"STRIPE_API_BASE="+cfg.StripeAPIBase,
		"HTTP_ADDR=127.0.0.1:0",
		"OPERATOR_TOKEN="+cfg.OperatorToken,
		"SIGNING_KEY="+cfg.SigningKey,
		"ROLES="+strings.Join(cfg.Roles, ","),
		"KAFKA_TOPIC_PREFIX="+cfg.KafkaTopicPrefix,
		"KAFKA_PARTITIONS="+strconv.Itoa(cfg.KafkaPartitions),
		"ELASTICSEARCH_INDEX_PREFIX="+cfg.ElasticsearchIndexPrefix,
		"LOG_LEVEL=warn",
		"EXPIRY_INTERVAL=1h",
	)
	if cfg.ProjectorBatchSize != 0 {
		cmd.Env = append(cmd.Env, "PROJECTOR_BATCH_SIZE="+strconv.Itoa(cfg.ProjectorBatchSize))
	}
	if cfg.SMTPURL != "" { // the notifier's settings, when the test gives them
		cmd.Env = append(cmd.Env, "SMTP_URL="+cfg.SMTPURL, "MAIL_CLAIM_LEASE="+cfg.MailClaimLease.String())
	}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func TestRelayProcessKilledMidBatchLosesNothing(t *testing.T) {
	t.Parallel()
	bin := buildJobboard(t)
	cfg := relayConfig(t)
	a := newAppender(t, cfg.DatabaseURL)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a.appendStreams(ctx, t, "backlog", 3000)
	got, stop := consume(t, cfg.KafkaTopicPrefix, "job", "company")
	defer stop()

	first := startProcess(t, bin, cfg)
	got.progress(t, 200, time.Minute)
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	got.mu.Lock()
	at := len(got.count)
	got.mu.Unlock()
	if at >= 3000 {
		t.Fatalf("the relay finished the backlog (%d) before it was killed: the test proves nothing", at)
	}
	t.Logf("killed after %d of 3000 events", at)

	startProcess(t, bin, cfg)
	a.appendStreams(ctx, t, "after", 200)
	got.waitAll(t, a.committed(), time.Minute)
}
