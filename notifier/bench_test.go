package notifier_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/notifier"
)

// BenchmarkSendThroughput sends b.N messages to a Mailpit of its own, first with a plain
// go-mail loop over one connection (the ceiling: no outbox, no rendering), then through the
// outbox (claim, render the templates, send, mark sent) with one and with two SMTP
// connections. It reports messages per second of each and their ratios to the raw loop.
func BenchmarkSendThroughput(b *testing.B) {
	mp := testenv.StartOwnMailpit(b)
	smtp, err := notifier.ParseSMTPURL(mp.SMTPURL())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	n := b.N
	b.ResetTimer()

	// The raw loop.
	client, err := gomail.NewClient("127.0.0.1", gomail.WithPort(portOf(b, mp.SMTP)), gomail.WithTLSPolicy(gomail.NoTLS))
	if err != nil {
		b.Fatal(err)
	}
	started := time.Now()
	if err := client.DialWithContext(ctx); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		m := gomail.NewMsg()
		if err := m.From(testFrom); err != nil {
			b.Fatal(err)
		}
		if err := m.To(fmt.Sprintf("raw-%d@example.org", i)); err != nil {
			b.Fatal(err)
		}
		m.Subject("Welcome to jobboard")
		m.SetMessageID()
		m.SetDate()
		m.SetBodyString(gomail.TypeTextPlain, "Hello,\n\nyour company account is ready.\n")
		m.AddAlternativeString(gomail.TypeTextHTML, "<p>Hello,</p><p>your company account is ready.</p>")
		if err := client.Send(m); err != nil {
			b.Fatal(err)
		}
	}
	_ = client.Close()
	raw := float64(n) / time.Since(started).Seconds()
	b.ReportMetric(raw, "raw-msgs/s")

	for _, workers := range []int{1, 2} {
		pool := newPool(b)
		var msgs []notifier.Message
		for i := range n {
			msgs = append(msgs, welcome(fmt.Sprintf("e%d", i), fmt.Sprintf("outbox%d-%d@example.org", workers, i)))
		}
		for i := 0; i < len(msgs); i += 1000 {
			if err := notifier.Enqueue(ctx, pool, msgs[i:min(i+1000, len(msgs))]...); err != nil {
				b.Fatal(err)
			}
		}
		s, err := notifier.NewSender(pool, notifier.SenderConfig{SMTP: smtp, From: testFrom, BaseURL: "http://127.0.0.1:8080",
			Workers: workers, PollInterval: 20 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		started := time.Now()
		go func() { defer close(done); _ = s.Run(sctx) }()
		for {
			var sent int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM notifier_outbox WHERE state = 'sent'`).Scan(&sent); err != nil {
				b.Fatal(err)
			}
			if sent == n {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		rate := float64(n) / time.Since(started).Seconds()
		cancel()
		<-done
		b.ReportMetric(rate, fmt.Sprintf("outbox-%dconn-msgs/s", workers))
		b.ReportMetric(rate/raw, fmt.Sprintf("outbox-%dconn/raw", workers))
	}
}

func portOf(tb testing.TB, hostport string) int {
	tb.Helper()
	var port int
	if _, err := fmt.Sscanf(hostport[len("127.0.0.1:"):], "%d", &port); err != nil {
		tb.Fatal(err)
	}
	return port
}
