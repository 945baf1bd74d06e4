package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/unsubscribe"
	"github.com/jobboard/jobboard/notifier"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/readmodels"
)

// MatcherName is the permanent name of the instant matcher's consumer group.
const MatcherName = "AlertMatcher"

// Config is what the matcher and the digests share.
type Config struct {
	// BaseURL starts the links of the e-mails (PUBLIC_BASE_URL). Required.
	BaseURL string
	// SigningKey signs the unsubscribe links (SIGNING_KEY). Required.
	SigningKey []byte
	// SearchWait bounds the wait for the search projection to index a published job before
	// it is matched; past it the batch fails and is retried. Default 20s.
	SearchWait time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.BaseURL == "" {
		return errors.New("alerting: BaseURL is required")
	}
	if c.SearchWait == 0 {
		c.SearchWait = 20 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Matcher is the instant alerts' side of the event stream: a projections.Projector over the
// job streams (so the runner gives it a consumer group, retries and a poison queue) that
// keeps no state of its own. For the publications of a batch it waits until the job search
// has indexed them, matches them against every instant alert in one pass, and enqueues one
// e-mail per alert and job, keyed by the publication's event id and the alert id: a batch
// retried or redelivered enqueues nothing new.
type Matcher struct {
	pool   *pgxpool.Pool
	store  *readmodels.Store
	cfg    Config
	mailer mailer
}

var _ projections.Projector = (*Matcher)(nil)

// NewMatcher builds the matcher over the notifier's outbox (pool) and the read models.
func NewMatcher(pool *pgxpool.Pool, store *readmodels.Store, cfg Config) (*Matcher, error) {
	if pool == nil || store == nil {
		return nil, errors.New("alerting: matcher: pool and store are required")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	signer, err := unsubscribe.NewSigner(cfg.SigningKey)
	if err != nil {
		return nil, err
	}
	return &Matcher{pool: pool, store: store, cfg: cfg, mailer: mailer{baseURL: cfg.BaseURL, signer: signer}}, nil
}

// Name is MatcherName.
func (m *Matcher) Name() string { return MatcherName }

// StreamTypes: publications are job events.
func (m *Matcher) StreamTypes() []string { return []string{domain.StreamTypeJob} }

type publication struct {
	eventID     string
	publishedAt time.Time
}

// Apply matches the batch's publications and enqueues their e-mails.
func (m *Matcher) Apply(ctx context.Context, events []projections.Event) error {
	_, err := m.Match(ctx, events)
	return err
}

// Match is Apply that also says how many e-mails it enqueued (new or not).
func (m *Matcher) Match(ctx context.Context, events []projections.Event) (int, error) {
	pubs := map[string]publication{}
	var ids []string
	var positions []readmodels.StreamVersion
	for _, ev := range events {
		p, ok := ev.Payload.(*domain.JobPublished)
		if !ok {
			continue
		}
		if _, seen := pubs[p.JobID]; !seen {
			ids = append(ids, p.JobID)
		}
		pubs[p.JobID] = publication{eventID: ev.EventID.String(), publishedAt: p.PublishedAt}
		positions = append(positions, readmodels.StreamVersion{StreamID: ev.StreamID, Version: ev.StreamVersion})
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if err := m.store.WaitForStreams(ctx, readmodels.JobSearchProjection, m.cfg.SearchWait, positions...); err != nil {
		return 0, projections.Transient(fmt.Errorf("%s: wait for the job search: %w", m.Name(), err))
	}
	alerts, err := m.store.ActiveAlerts(ctx, domain.AlertFrequencyInstant.String(), m.cfg.Now())
	if err != nil {
		return 0, projections.Transient(fmt.Errorf("%s: %w", m.Name(), err))
	}
	matches, err := m.store.MatchAlerts(ctx, alerts, readmodels.JobScope{IDs: ids})
	if err != nil {
		return 0, projections.Transient(fmt.Errorf("%s: %w", m.Name(), err))
	}
	var msgs []notifier.Message
	for _, a := range alerts {
		for _, j := range matches[a.ID].Jobs {
			pub, ok := pubs[j.ID]
			if !ok || a.CreatedAt.After(pub.publishedAt) {
				continue // an alert saved after the publication announces older jobs in no e-mail
			}
			msgs = append(msgs, m.mailer.message(notifier.Key(pub.eventID, TemplateJobAlert, a.ID), a,
				[]readmodels.SearchItem{j}, 1, ""))
		}
	}
	if err := enqueue(ctx, m.pool, msgs); err != nil {
		return 0, projections.Transient(fmt.Errorf("%s: %w", m.Name(), err))
	}
	return len(msgs), nil
}

// enqueueBatch is the number of messages recorded per transaction.
const enqueueBatch = 1000

// enqueue records msgs in the outbox, a transaction per enqueueBatch.
func enqueue(ctx context.Context, pool *pgxpool.Pool, msgs []notifier.Message) error {
	for start := 0; start < len(msgs); start += enqueueBatch {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return err
		}
		if err := notifier.Enqueue(ctx, tx, msgs[start:min(start+enqueueBatch, len(msgs))]...); err != nil {
			_ = tx.Rollback(ctx)
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
	}
	return nil
}
