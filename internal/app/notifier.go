package app

import (
	"context"
	"fmt"
	"net/url"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/jobboard/jobboard/alerting"
	"github.com/jobboard/jobboard/bus"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/notifier"
	"github.com/jobboard/jobboard/projections"
)

// DevPublicBaseURL is PUBLIC_BASE_URL's default: the local API.
const DevPublicBaseURL = "http://127.0.0.1:8080"

// DevSMTPURL is SMTP_URL's default: the stack's Mailpit.
const DevSMTPURL = "smtp://127.0.0.1:1025"

// validateMail checks the notifier's settings when this process runs it. The rules for
// SMTP (docs/adr/0007-mail-through-an-outbox.md): without ?starttls, smtp:// off loopback
// requires STARTTLS; a password is never sent over a connection that may be plain text to
// a host off loopback; the development defaults (the stack's Mailpit, links to 127.0.0.1)
// are refused when the API listens off loopback. DEV_MODE lifts the last two.
func (c Config) validateMail() []error {
	if !c.HasRole(RoleNotifier) {
		return nil
	}
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", env, fmt.Sprintf(format, args...)))
	}
	exposed := !c.DevMode && !listensOnLoopback(c.HTTPAddr)
	smtp, err := notifier.ParseSMTPURL(c.SMTPURL)
	switch {
	case err != nil:
		bad("SMTP_URL", "%v", err)
	case smtp.Password != "" && !smtp.Loopback() && !smtp.Encrypted() && !c.DevMode:
		bad("SMTP_URL", "%s would send its password in plain text: use smtps:// or ?starttls=required (DEV_MODE=true allows it for development)", smtp.Redacted())
	case c.SMTPURL == DevSMTPURL && exposed:
		bad("SMTP_URL", "the development value %s (the stack's Mailpit) must not be used off loopback: name your mail relay", DevSMTPURL)
	}
	if _, err := notifier.ParseFrom(c.MailFrom); err != nil {
		bad("MAIL_FROM", "%v", err)
	}
	if u, err := url.Parse(c.PublicBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		bad("PUBLIC_BASE_URL", "want an http(s):// URL without query, got %q", c.PublicBaseURL)
	} else if c.PublicBaseURL == DevPublicBaseURL && exposed {
		bad("PUBLIC_BASE_URL", "the development value %s must not be used off loopback: set where users reach the product", DevPublicBaseURL)
	}
	if c.MailMaxAttempts < 1 || c.MailMaxAttempts > 100 {
		bad("MAIL_MAX_ATTEMPTS", "want 1 to 100, got %d", c.MailMaxAttempts)
	}
	if c.MailWorkers < 1 || c.MailWorkers > 64 {
		bad("MAIL_WORKERS", "want 1 to 64, got %d", c.MailWorkers)
	}
	if c.MailClaimLease <= 0 {
		bad("MAIL_CLAIM_LEASE", "must be positive")
	}
	return errs
}

// NotifierRules are the rules of the messages the notifier sends: one place to add a
// message's rule. signingKey signs the e-mailed sign-in links (SIGNING_KEY).
func NotifierRules(signingKey []byte) *notifier.Rules {
	r := &notifier.Rules{}
	notifier.BuiltinRules(r)
	r.On(domain.EventSignInLinkRequested, signInLinkRule(signingKey))
	return r
}

// startNotifier runs the notifier: its consumer group decides the messages of events into
// the outbox (through the projections' runner: retries, poison queue), its sender delivers
// the outbox.
func (m *Main) startNotifier(ctx context.Context) error {
	wlog := watermill.NewSlogLogger(m.log.With("component", "notifier"))
	dlq, err := bus.NewPublisher(bus.PublisherConfig{Brokers: m.cfg.KafkaBrokers, TopicPartitions: 1,
		TopicReplicationFactor: m.cfg.KafkaReplicationFactor, TopicMinInsyncReplicas: m.cfg.KafkaMinInsyncReplicas}, wlog)
	if err != nil {
		return fmt.Errorf("dead-letter publisher: %w", err)
	}
	m.closers = append(m.closers, dlq.Close)
	consumer, err := notifier.NewConsumer(m.pool, notifier.ConsumerConfig{Rules: NotifierRules([]byte(m.cfg.SigningKey))})
	if err != nil {
		return err
	}
	prefix := m.cfg.KafkaTopicPrefix
	runner, err := projections.NewRunner(projections.RunnerConfig{
		Brokers: m.cfg.KafkaBrokers,
		Subscriber: bus.SubscriberConfig{TopicPartitions: m.cfg.KafkaPartitions,
			TopicReplicationFactor: m.cfg.KafkaReplicationFactor, TopicMinInsyncReplicas: m.cfg.KafkaMinInsyncReplicas},
		DeadLetterPublisher: dlq,
		Topic:               m.cfg.topic,
		DeadLetterTopic:     func(name string) string { return prefix + "dlq." + name },
		ConsumerGroup:       func(name string) string { return prefix + name },
		Logger:              m.log.With("component", "notifier"),
	}, consumer)
	if err != nil {
		return err
	}
	m.closers = append(m.closers, runner.Close)
	smtp, err := notifier.ParseSMTPURL(m.cfg.SMTPURL)
	if err != nil {
		return err
	}
	metrics, err := notifier.NewMetrics(m.metrics, m.pool)
	if err != nil {
		return err
	}
	prefs, err := m.alertsStore() // the recipients' e-mail preferences
	if err != nil {
		return err
	}
	sender, err := notifier.NewSender(m.pool, notifier.SenderConfig{
		SMTP: smtp, From: m.cfg.MailFrom, BaseURL: m.cfg.PublicBaseURL,
		Workers: m.cfg.MailWorkers, MaxAttempts: m.cfg.MailMaxAttempts, Lease: m.cfg.MailClaimLease,
		Metrics: metrics, Logger: m.log,
		Suppressed: alerting.Suppressed(prefs),
	})
	if err != nil {
		return err
	}
	m.workers.start(ctx, "notifier consumer", runner.Run)
	m.workers.start(ctx, "notifier sender", sender.Run)
	return nil
}
