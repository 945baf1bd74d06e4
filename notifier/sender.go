package notifier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	gomail "github.com/wneessen/go-mail"
)

// SenderConfig configures a Sender.
type SenderConfig struct {
	// SMTP is the mail server. Required.
	SMTP SMTPConfig
	// From is the sender address (MAIL_FROM). Required.
	From string
	// BaseURL starts the links of the messages (PUBLIC_BASE_URL). Required.
	BaseURL string
	// Workers are the concurrent senders of this instance, each with its own SMTP
	// connection. Default 2.
	Workers int
	// BatchSize is the most messages a worker claims at once. Default 50.
	BatchSize int
	// Lease is how long claimed messages stay with a worker before another may take them:
	// longer than a batch takes, short enough that a dead instance's messages go out soon.
	// Default 2m.
	Lease time.Duration
	// PollInterval is how often an idle worker looks for due messages. Default 250ms.
	PollInterval time.Duration
	// MaxAttempts: a message whose sending failed this often is dead. Default 8.
	MaxAttempts int
	// RetryInitialInterval is the wait after the first failed attempt; it doubles with each
	// attempt up to RetryMaxInterval. Defaults 5s and 10m.
	RetryInitialInterval, RetryMaxInterval time.Duration
	// SendTimeout bounds connecting and sending one message. Default 30s.
	SendTimeout time.Duration
	// Suppressed, if set, is asked before a message is sent; true cancels it (a recipient
	// turned off the non-essential messages of a kind).
	Suppressed func(ctx context.Context, p SuppressParams) (bool, error)
	// Metrics receive the counts and latencies; nil records nothing.
	Metrics *Metrics
	// Logger receives the sender's logs. Default slog.Default().
	Logger *slog.Logger
}

// SuppressParams is what SenderConfig.Suppressed decides on.
type SuppressParams struct {
	Key, Template string
	// Recipient is the message's To: an address or a contact reference.
	Recipient string
	Essential bool
}

func (c *SenderConfig) setDefaults() {
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.BatchSize == 0 {
		c.BatchSize = 50
	}
	if c.Lease == 0 {
		c.Lease = 2 * time.Minute
	}
	if c.PollInterval == 0 {
		c.PollInterval = 250 * time.Millisecond
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 8
	}
	if c.RetryInitialInterval == 0 {
		c.RetryInitialInterval = 5 * time.Second
	}
	if c.RetryMaxInterval == 0 {
		c.RetryMaxInterval = 10 * time.Minute
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem of the configuration.
func (c SenderConfig) Validate() error {
	var errs []error
	if c.SMTP.Host == "" || c.SMTP.Port == 0 {
		errs = append(errs, errors.New("SMTP server is missing"))
	}
	if _, err := ParseFrom(c.From); err != nil {
		errs = append(errs, fmt.Errorf("from: %w", err))
	}
	if c.BaseURL == "" {
		errs = append(errs, errors.New("base URL is missing"))
	}
	if c.Workers < 0 || c.BatchSize < 0 || c.MaxAttempts < 0 || c.Lease < 0 || c.PollInterval < 0 ||
		c.RetryInitialInterval < 0 || c.RetryMaxInterval < 0 || c.SendTimeout < 0 {
		errs = append(errs, errors.New("counts and durations must not be negative"))
	}
	return errors.Join(errs...)
}

// Sender delivers the outbox: its workers claim due messages (FOR UPDATE SKIP LOCKED, so
// the workers of several instances share them), render and send them, and mark each sent,
// retried later with exponential backoff, or dead. A message is sent at least once; it is
// sent again only when an instance died between sending and marking it, and then carries
// the same Message-ID.
type Sender struct {
	pool      *pgxpool.Pool
	templates *Templates
	cfg       SenderConfig
	domain    string
	log       *slog.Logger
}

// NewSender builds a sender; Run runs it.
func NewSender(pool *pgxpool.Pool, cfg SenderConfig) (*Sender, error) {
	cfg.setDefaults()
	if pool == nil {
		return nil, errors.New("notifier: new sender: pool is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("notifier: invalid sender config: %w", err)
	}
	tpl, err := ParseTemplates()
	if err != nil {
		return nil, err
	}
	domain, _ := ParseFrom(cfg.From)
	return &Sender{pool: pool, templates: tpl, cfg: cfg, domain: domain, log: cfg.Logger.With("component", "notifier")}, nil
}

// Run sends until ctx ends.
func (s *Sender) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := range s.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.work(ctx, i)
		}()
	}
	wg.Wait()
	return nil
}

// work is one worker's loop; it owns one SMTP connection, opened when there is something to
// send and closed when there is not.
func (s *Sender) work(ctx context.Context, n int) {
	w := &worker{s: s, log: s.log.With("worker", n)}
	defer w.hangUp()
	outage := time.Duration(0)
	for ctx.Err() == nil {
		batch, err := claim(ctx, s.pool, s.cfg.BatchSize, s.cfg.Lease)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("claiming messages failed", "error", err)
			}
			sleep(ctx, s.cfg.PollInterval*4)
			continue
		}
		if len(batch) == 0 {
			w.hangUp()
			sleep(ctx, s.cfg.PollInterval)
			continue
		}
		if err := w.sendBatch(ctx, batch); err != nil {
			// The mail server could not be reached: wait longer each time, up to 5 s.
			outage = min(max(2*outage, s.cfg.PollInterval), 5*time.Second)
			if ctx.Err() == nil {
				w.log.Warn("mail server unreachable, messages released", "error", err, "retry_in", outage)
			}
			sleep(ctx, outage)
			continue
		}
		outage = 0
	}
}

// markEvery is how many sent messages a worker marks in one statement.
const markEvery = 10

type worker struct {
	s      *Sender
	log    *slog.Logger
	client *gomail.Client
}

func (w *worker) hangUp() {
	if w.client != nil {
		_ = w.client.Close()
		w.client = nil
	}
}

// dial connects the worker's client if it is not connected.
func (w *worker) dial(ctx context.Context) error {
	if w.client != nil {
		return nil
	}
	c, err := w.s.cfg.SMTP.newClient(w.s.domain)
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, w.s.cfg.SendTimeout)
	defer cancel()
	if err := c.DialWithContext(dctx); err != nil {
		return fmt.Errorf("connect to %s: %w", w.s.cfg.SMTP.Redacted(), err)
	}
	w.client = c
	return nil
}

// sendBatch sends the claimed messages one by one and records each outcome. It returns an
// error only when the mail server cannot be reached; the messages not yet sent are then
// released without counting an attempt.
func (w *worker) sendBatch(ctx context.Context, batch []claimed) error {
	s := w.s
	// The messages sent are marked markEvery at a time, and at the end: one statement per
	// markEvery messages instead of one per message. A worker killed before it marked them
	// leaves them to be sent again, with the same Message-IDs: at most markEvery per worker.
	var sentKeys, sentIDs []string
	mark := func() {
		if err := markSent(context.WithoutCancel(ctx), s.pool, sentKeys, sentIDs); err != nil {
			w.log.Warn("sent but not marked: they will be sent again", "messages", len(sentKeys), "error", err)
		}
		sentKeys, sentIDs = sentKeys[:0], sentIDs[:0]
	}
	defer mark()
	contacts, err := resolveContacts(ctx, s.pool, refsOf(batch))
	if err != nil {
		return s.releaseAll(batch, err)
	}
	for i, c := range batch {
		id := MessageID(c.Key, s.domain)
		if s.cfg.Suppressed != nil {
			off, err := s.cfg.Suppressed(ctx, SuppressParams{Key: c.Key, Template: c.Template, Recipient: c.Recipient, Essential: c.Essential})
			if err != nil {
				return s.releaseAll(batch[i:], err)
			}
			if off {
				if err := cancelMessage(ctx, s.pool, c.Key, "turned off by the recipient"); err != nil {
					return s.releaseAll(batch[i:], err)
				}
				continue
			}
		}
		msg, err := s.build(c, contacts, id)
		if err != nil {
			s.failed(ctx, c, id, err)
			continue
		}
		if err := w.dial(ctx); err != nil {
			return s.releaseAll(batch[i:], err)
		}
		start := time.Now()
		err = w.client.Send(msg)
		if err == nil {
			s.cfg.Metrics.sent(c.Template, time.Since(start))
			sentKeys, sentIDs = append(sentKeys, c.Key), append(sentIDs, id)
			if len(sentKeys) >= markEvery {
				mark()
			}
			continue
		}
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 400 {
			s.failed(ctx, c, id, &smtpRefusal{err: err, temporary: se.ErrorCode() < 500})
			continue
		}
		if errors.As(err, &se) && (se.Reason == gomail.ErrGetSender || se.Reason == gomail.ErrGetRcpts || se.Reason == gomail.ErrNoUnencoded) {
			s.failed(ctx, c, id, permanent(err))
			continue
		}
		w.hangUp() // no SMTP answer: the connection is gone
		return s.releaseAll(batch[i:], err)
	}
	return nil
}

// build resolves the contacts of c and renders it into a go-mail message.
func (s *Sender) build(c claimed, contacts map[string]Contact, id string) (*gomail.Msg, error) {
	to := Contact{Email: c.Recipient}
	if isRef(c.Recipient) {
		var ok bool
		if to, ok = contacts[c.Recipient]; !ok || to.Email == "" {
			return nil, fmt.Errorf("recipient %s is not known yet", c.Recipient)
		}
	}
	refs := make(map[string]Contact, len(c.Refs))
	for name, ref := range c.Refs {
		ct, ok := contacts[ref]
		if !ok {
			return nil, fmt.Errorf("%s (%s) is not known yet", name, ref)
		}
		refs[name] = ct
	}
	r, err := s.templates.Render(RenderParams{Template: c.Template, Data: c.Data, Recipient: to, Refs: refs, BaseURL: s.cfg.BaseURL})
	if err != nil {
		return nil, permanent(err)
	}
	m := gomail.NewMsg()
	if err := m.From(s.cfg.From); err != nil {
		return nil, permanent(fmt.Errorf("from: %w", err))
	}
	if to.Name != "" {
		err = m.AddToFormat(to.Name, to.Email)
	} else {
		err = m.To(to.Email)
	}
	if err != nil {
		return nil, permanent(fmt.Errorf("malformed recipient %q: %w", to.Email, err))
	}
	m.Subject(r.Subject)
	m.SetMessageIDWithValue(strings.TrimSpace(id))
	m.SetDate()
	keys := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.SetGenHeader(gomail.Header(k), c.Headers[k])
	}
	m.SetBodyString(gomail.TypeTextPlain, r.Text)
	m.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	return m, nil
}

// failed records a failed attempt at c: dead when it cannot succeed or ran out of
// attempts, else retried after a backoff that doubles with each attempt.
func (s *Sender) failed(ctx context.Context, c claimed, id string, cause error) {
	attempts := c.Attempts + 1
	dead := isPermanent(cause) || attempts >= s.cfg.MaxAttempts
	retryIn := s.backoff(attempts)
	if err := markFailed(context.WithoutCancel(ctx), s.pool, c.Key, id, cause, retryIn, dead); err != nil {
		s.log.Warn("recording a failed attempt failed", "key", c.Key, "error", err)
		return
	}
	s.cfg.Metrics.failed(c.Template)
	if dead {
		s.cfg.Metrics.dead(c.Template)
		s.log.Error("message dead-lettered", "key", c.Key, "template", c.Template, "recipient", c.Recipient,
			"attempts", attempts, "error", cause)
		return
	}
	s.log.Warn("sending failed, will retry", "key", c.Key, "template", c.Template, "attempts", attempts,
		"retry_in", retryIn, "error", cause)
}

// backoff is the wait after the attempts-th failure: exponential with ±20% jitter.
func (s *Sender) backoff(attempts int) time.Duration {
	d := float64(s.cfg.RetryInitialInterval) * math.Pow(2, float64(attempts-1))
	d = min(d, float64(s.cfg.RetryMaxInterval))
	return time.Duration(d * (0.8 + 0.4*rand.Float64()))
}

// releaseAll gives the claims back for the next attempt after a short wait, without
// counting it; it returns cause.
func (s *Sender) releaseAll(batch []claimed, cause error) error {
	keys := make([]string, len(batch))
	for i, c := range batch {
		keys[i] = c.Key
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := release(ctx, s.pool, keys, cause, s.cfg.PollInterval); err != nil {
		s.log.Warn("releasing claims failed; they return when their lease ends", "error", err)
	}
	return cause
}

func refsOf(batch []claimed) []string {
	seen := map[string]bool{}
	var out []string
	add := func(r string) {
		if isRef(r) && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	for _, c := range batch {
		add(c.Recipient)
		for _, r := range c.Refs {
			add(r)
		}
	}
	return out
}

// isRef tells a contact reference ("candidate:<id>") from an address (which has an @).
func isRef(to string) bool { return !strings.Contains(to, "@") }

// smtpRefusal is the mail server's refusal of a message: 4xx is worth another attempt, 5xx
// is not.
type smtpRefusal struct {
	err       error
	temporary bool
}

func (e *smtpRefusal) Error() string { return "refused by the mail server: " + e.err.Error() }
func (e *smtpRefusal) Unwrap() error { return e.err }

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return permanentError{err} }

func isPermanent(err error) bool {
	var p permanentError
	var r *smtpRefusal
	return errors.As(err, &p) || (errors.As(err, &r) && !r.temporary)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
