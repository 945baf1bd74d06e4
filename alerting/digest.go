package alerting

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/unsubscribe"
	"github.com/jobboard/jobboard/notifier"
	"github.com/jobboard/jobboard/readmodels"
)

// Digests sends the daily and weekly alert digests. A period ends at 00:00 UTC (weekly:
// on Mondays); once it has ended, one run collects, for every alert of the frequency, the
// jobs published since the end of the last finished run (or one period back) that the
// alert's search lists, and enqueues one e-mail per alert with at least one job. The run is
// recorded in alert_digest_runs: a finished period is never run again, and a run cut short
// is run again with the same message keys, which the outbox refuses twice.
type Digests struct {
	pool   *pgxpool.Pool
	store  *readmodels.Store
	cfg    Config
	mailer mailer
}

// NewDigests builds the digest scheduler.
func NewDigests(pool *pgxpool.Pool, store *readmodels.Store, cfg Config) (*Digests, error) {
	if pool == nil || store == nil {
		return nil, errors.New("alerting: digests: pool and store are required")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	signer, err := unsubscribe.NewSigner(cfg.SigningKey)
	if err != nil {
		return nil, err
	}
	return &Digests{pool: pool, store: store, cfg: cfg, mailer: mailer{baseURL: cfg.BaseURL, signer: signer}}, nil
}

// PeriodEnd is the end of the last period of frequency that ended at or before now.
func PeriodEnd(f domain.AlertFrequency, now time.Time) time.Time {
	day := now.UTC().Truncate(24 * time.Hour)
	if f == domain.AlertFrequencyWeekly {
		back := (int(day.Weekday()) + 6) % 7 // days since Monday
		return day.AddDate(0, 0, -back)
	}
	return day
}

// Run runs the due digests every interval until ctx ends.
func (d *Digests) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, f := range []domain.AlertFrequency{domain.AlertFrequencyDaily, domain.AlertFrequencyWeekly} {
			if _, err := d.RunDue(ctx, f); err != nil && ctx.Err() == nil {
				d.cfg.Logger.Warn("alert digest", "frequency", f.String(), "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunResult says what one digest run did.
type RunResult struct {
	Ran                    bool
	PeriodStart, PeriodEnd time.Time
	Alerts, Emails         int
}

// digestLockKey is the advisory lock that lets one scheduler run the digests of a frequency
// at a time, whatever the number of instances.
func digestLockKey(f domain.AlertFrequency) int64 {
	h := int64(0x6a6f62616c657274) // "jobalert"
	for _, c := range f.String() {
		h = h*31 + int64(c)
	}
	return h
}

// RunDue runs the digest of the last ended period of f unless it has finished already, or
// another scheduler runs it now.
func (d *Digests) RunDue(ctx context.Context, f domain.AlertFrequency) (RunResult, error) {
	end := PeriodEnd(f, d.cfg.Now())
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return RunResult{}, err
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, digestLockKey(f)).Scan(&locked); err != nil || !locked {
		return RunResult{}, err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, digestLockKey(f)) //nolint:errcheck // the session ends with the connection anyway

	var finished *time.Time
	var start time.Time
	err = d.pool.QueryRow(ctx, `SELECT period_start, finished_at FROM alert_digest_runs WHERE frequency = $1 AND period_end = $2`,
		f.String(), end).Scan(&start, &finished)
	switch {
	case err == nil && finished != nil:
		return RunResult{PeriodStart: start, PeriodEnd: end}, nil
	case err == nil: // a run cut short: again, over the same period
	case errors.Is(err, pgx.ErrNoRows):
		start = end.Add(-f.Period())
		var last *time.Time
		if err := d.pool.QueryRow(ctx, `SELECT max(period_end) FROM alert_digest_runs WHERE frequency = $1 AND finished_at IS NOT NULL AND period_end < $2`,
			f.String(), end).Scan(&last); err != nil {
			return RunResult{}, err
		}
		if last != nil {
			start = *last
		}
		if _, err := d.pool.Exec(ctx, `INSERT INTO alert_digest_runs (frequency, period_end, period_start) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, f.String(), end, start); err != nil {
			return RunResult{}, err
		}
	default:
		return RunResult{}, err
	}
	res, err := d.run(ctx, f, start, end)
	if err != nil {
		return res, err
	}
	_, err = d.pool.Exec(ctx, `UPDATE alert_digest_runs SET finished_at = now(), alerts = $3, emails = $4
		WHERE frequency = $1 AND period_end = $2`, f.String(), end, res.Alerts, res.Emails)
	return res, err
}

// run matches every alert of f created before end against the jobs published in
// [start, end) and enqueues their e-mails.
func (d *Digests) run(ctx context.Context, f domain.AlertFrequency, start, end time.Time) (RunResult, error) {
	res := RunResult{Ran: true, PeriodStart: start, PeriodEnd: end}
	alerts, err := d.store.ActiveAlerts(ctx, f.String(), end)
	if err != nil {
		return res, err
	}
	res.Alerts = len(alerts)
	matches, err := d.store.MatchAlerts(ctx, alerts, readmodels.JobScope{PublishedFrom: start, PublishedUntil: end})
	if err != nil {
		return res, err
	}
	period := end.UTC().Format(time.RFC3339)
	var msgs []notifier.Message
	for _, a := range alerts {
		m, ok := matches[a.ID]
		if !ok {
			continue // nothing matched: no e-mail
		}
		jobs, total := m.Jobs, m.Total
		if a.CreatedAt.After(start) {
			// A new alert's first digest holds the jobs published since it was saved.
			kept := jobs[:0:0]
			for _, j := range jobs {
				if j.PublishedAt != nil && !j.PublishedAt.Before(a.CreatedAt) {
					kept = append(kept, j)
				}
			}
			total -= int64(len(jobs) - len(kept))
			jobs = kept
		}
		if len(jobs) == 0 {
			continue
		}
		since := start
		if a.CreatedAt.After(start) {
			since = a.CreatedAt
		}
		key := notifier.Key("digest:"+f.String()+":"+period, TemplateJobAlert, a.ID)
		msgs = append(msgs, d.mailer.message(key, a, jobs, total, since.UTC().Format(time.RFC3339)))
	}
	if err := enqueue(ctx, d.pool, msgs); err != nil {
		return res, fmt.Errorf("alerting: digest %s %s: %w", f, period, err)
	}
	res.Emails = len(msgs)
	return res, nil
}
