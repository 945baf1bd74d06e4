//go:build faults

// Fault tests stop and restart the shared engines of the local stack, so they run on their
// own, one package at a time, after every other test: `make test` runs them as its last step
// (go test -tags faults -p 1 -run '^TestFault').
package app_test

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// stackCtl runs stack/stack.sh (up|down ENGINE).
func stackCtl(t *testing.T, action, engine string) {
	t.Helper()
	out, err := exec.Command("../../stack/stack.sh", action, engine).CombinedOutput()
	if err != nil {
		t.Fatalf("stack.sh %s %s: %v\n%s", action, engine, err, out)
	}
	t.Logf("stack.sh %s %s: %s", action, engine, strings.TrimSpace(string(out)))
}

// assertDown proves the engine really stopped: nothing accepts connections at addr.
func assertDown(t *testing.T, addr string) {
	t.Helper()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections: the engine did not stop", addr)
	}
}

func TestFaultKafkaStoppedForTenSecondsRelayCatchesUp(t *testing.T) {
	cfg := relayConfig(t)
	a := newAppender(t, cfg.DatabaseURL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Cleanup(func() { stackCtl(t, "up", "kafka") })

	start(t, cfg)
	got, stop := consume(t, cfg.KafkaTopicPrefix, "job", "company")
	defer stop()
	a.appendStreams(ctx, t, "before", 300)
	got.progress(t, 300, time.Minute)

	stackCtl(t, "down", "kafka")
	assertDown(t, cfg.KafkaBrokers[0])
	downAt := time.Now()
	a.appendStreams(ctx, t, "while-down", 500) // the relay cannot publish these yet
	time.Sleep(10*time.Second - time.Since(downAt))
	stackCtl(t, "up", "kafka")
	a.appendStreams(ctx, t, "after", 300)
	got.waitAll(t, a.committed(), 2*time.Minute)
}

func TestFaultPostgresRestartedRelayReconnects(t *testing.T) {
	cfg := relayConfig(t)
	a := newAppender(t, cfg.DatabaseURL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Cleanup(func() { stackCtl(t, "up", "postgres") })

	start(t, cfg)
	got, stop := consume(t, cfg.KafkaTopicPrefix, "job", "company")
	defer stop()
	a.appendStreams(ctx, t, "before", 300)
	got.progress(t, 300, time.Minute)

	stackCtl(t, "down", "postgres")
	assertDown(t, "127.0.0.1:5432")
	time.Sleep(2 * time.Second)
	stackCtl(t, "up", "postgres")
	// The relay lost its connection, its advisory lock and its LISTEN; it must take them
	// again by itself and publish what is appended after the restart.
	a.appendStreams(ctx, t, "after", 500)
	got.waitAll(t, a.committed(), 2*time.Minute)
}
