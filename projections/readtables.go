package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/readmodels"
)

// ReadTablesConfig configures a ReadTablesProjector.
type ReadTablesConfig struct {
	// Schema is the PostgreSQL schema of the projection version written.
	// Default readmodels.DefaultReadTablesSchema ("rm_v1").
	Schema string
	// FollowLive makes every write resolve the live version from projection_versions
	// (ignoring Schema), ordered against promotions by an advisory lock, so the live
	// projector moves to a rebuilt version at the promotion without losing an event. The
	// live projector of `serve` sets it; rebuilds write a fixed version.
	FollowLive bool
}

// ReadTablesProjector builds the PostgreSQL read tables: companies, candidates, jobs in
// every status and applications. Each row belongs to one stream, so per-stream version
// checks make it idempotent; names and titles of other streams are joined at read time,
// so events of different streams may arrive in any order.
type ReadTablesProjector struct {
	pool   *pgxpool.Pool
	schema string
	follow bool
}

var _ Projector = (*ReadTablesProjector)(nil)

// NewReadTablesProjector returns the projector writing cfg.Schema through pool.
func NewReadTablesProjector(pool *pgxpool.Pool, cfg ReadTablesConfig) (*ReadTablesProjector, error) {
	if pool == nil {
		return nil, errors.New("projections: read tables projector: pool is nil")
	}
	if cfg.Schema == "" {
		cfg.Schema = readmodels.DefaultReadTablesSchema
	}
	if !readmodels.ValidSchemaName(cfg.Schema) {
		return nil, fmt.Errorf("projections: read tables projector: invalid schema %q", cfg.Schema)
	}
	return &ReadTablesProjector{pool: pool, schema: cfg.Schema, follow: cfg.FollowLive}, nil
}

// Name is readmodels.ReadTablesProjection.
func (p *ReadTablesProjector) Name() string { return readmodels.ReadTablesProjection }

// StreamTypes are every stream type.
func (p *ReadTablesProjector) StreamTypes() []string {
	return []string{domain.StreamTypeCompany, domain.StreamTypeCandidate, domain.StreamTypeJob, domain.StreamTypeApplication}
}

// Apply applies events in one transaction: one round trip locks the applied versions of
// their streams, a second one sends the statements of every fresh event (pipelined).
func (p *ReadTablesProjector) Apply(ctx context.Context, events []Event) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", p.Name(), classifyPG(err))
	}
	defer tx.Rollback(ctx)
	t, err := resolveTarget(ctx, tx, p.Name(), p.follow, target{schema: p.schema})
	if err != nil {
		return fmt.Errorf("%s: %w", p.Name(), err)
	}
	if err := applyFresh(ctx, tx, t.schema, events, func(b *pgx.Batch, ev Event) error {
		return p.apply(b, t.schema, ev)
	}); err != nil {
		return fmt.Errorf("%s: %w", p.Name(), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%s: commit: %w", p.Name(), classifyPG(err))
	}
	return nil
}

// sendBatch sends b and reads every result in order; what names statement i for errors.
// Statements queued with a callback (Query, QueryRow, Exec) run it.
func sendBatch(ctx context.Context, tx pgx.Tx, b *pgx.Batch, what func(i int) string) error {
	if b.Len() == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, b)
	for i, q := range b.QueuedQueries {
		var err error
		if q.Fn != nil {
			err = q.Fn(br)
		} else {
			_, err = br.Exec()
		}
		if err != nil {
			_ = br.Close()
			return fmt.Errorf("%s: %w", what(i), classifyPG(err))
		}
	}
	if err := br.Close(); err != nil {
		return classifyPG(err)
	}
	return nil
}

// apply queues the statements of one event.
func (p *ReadTablesProjector) apply(b *pgx.Batch, s string, ev Event) error {
	v, at := ev.StreamVersion, ev.RecordedAt
	queue := func(sql string, args ...any) { b.Queue(fmt.Sprintf(sql, s), args...) }
	exec := func(sql string, args ...any) error {
		queue(sql, args...)
		return nil
	}
	switch e := ev.Payload.(type) {
	case *domain.CompanyRegistered:
		return exec(`INSERT INTO %s.companies (id, name, email, website, description, registered_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (id) DO UPDATE SET name = $2, email = $3, website = $4, description = $5,
				registered_at = $6, version = $7`,
			e.CompanyID, e.Name, e.Email, e.Website, e.Description, e.RegisteredAt, v)
	case *domain.CandidateRegistered:
		return exec(`INSERT INTO %s.candidates (id, name, email, registered_at, version) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO UPDATE SET name = $2, email = $3, registered_at = $4, version = $5`,
			e.CandidateID, e.Name, e.Email, e.RegisteredAt, v)
	case *domain.JobPosted:
		f, loc, sal, err := detailColumns(e.Details)
		if err != nil {
			return err
		}
		return exec(`INSERT INTO %s.jobs (id, company_id, status, title, description, employment_type, seniority,
				location, salary, tags, apply_url, posted_at, updated_at, version)
			VALUES ($1, $2, 'awaiting_payment', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (id) DO UPDATE SET company_id = $2, title = $3, description = $4, employment_type = $5,
				seniority = $6, location = $7, salary = $8, tags = $9, apply_url = $10, posted_at = $11,
				updated_at = $12, version = $13`,
			e.JobID, e.CompanyID, f.Title, f.Description, f.EmploymentType, f.Seniority, loc, sal, f.Tags,
			f.ApplyURL, e.PostedAt, at, v)
	case *domain.JobDetailsChanged:
		f, loc, sal, err := detailColumns(e.Details)
		if err != nil {
			return err
		}
		return exec(`UPDATE %s.jobs SET title = $2, description = $3, employment_type = $4, seniority = $5,
				location = $6, salary = $7, tags = $8, apply_url = $9, updated_at = $10, version = $11
			WHERE id = $1`,
			e.JobID, f.Title, f.Description, f.EmploymentType, f.Seniority, loc, sal, f.Tags, f.ApplyURL, at, v)
	case *domain.ListingPaymentRequested:
		queue(`INSERT INTO %s.job_payments (job_id, payment_id, plan, amount, currency, status, requested_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, 'requested', $6, $7)
			ON CONFLICT (job_id, payment_id) DO UPDATE SET plan = $3, amount = $4, currency = $5, status = 'requested',
				requested_at = $6, updated_at = $7`,
			e.JobID, e.PaymentID, e.Plan.String(), e.Amount, e.Currency.String(), e.RequestedAt, at)
		return exec(`UPDATE %s.jobs SET payment_id = $2, payment_status = 'requested', updated_at = $3, version = $4
			WHERE id = $1`, e.JobID, e.PaymentID, at, v)
	case *domain.ListingPaid:
		queue(paymentStatusSQL, e.JobID, e.PaymentID, domain.PaymentStatusPaid.String(), at)
		return exec(`UPDATE %s.jobs SET payment_id = $2, payment_status = 'paid', updated_at = $3, version = $4
			WHERE id = $1`, e.JobID, e.PaymentID, at, v)
	case *domain.ListingPaymentFailed:
		queue(paymentStatusSQL, e.JobID, e.PaymentID, domain.PaymentStatusFailed.String(), at)
		return exec(`UPDATE %s.jobs SET payment_status = 'failed', updated_at = $3, version = $4
			WHERE id = $1 AND payment_id IN ($2, '')`, e.JobID, e.PaymentID, at, v)
	case *domain.ListingPaymentCanceled:
		queue(paymentStatusSQL, e.JobID, e.PaymentID, domain.PaymentStatusCanceled.String(), at)
		return exec(`UPDATE %s.jobs SET updated_at = $2, version = $3 WHERE id = $1`, e.JobID, at, v)
	case *domain.ListingPaymentRefunded:
		queue(paymentStatusSQL, e.JobID, e.PaymentID, domain.PaymentStatusRefunded.String(), at)
		return exec(`UPDATE %s.jobs SET updated_at = $2, version = $3 WHERE id = $1`, e.JobID, at, v)
	case *domain.JobPublished:
		return exec(`UPDATE %s.jobs SET status = 'published', plan = $2, featured = $3, payment_id = $4,
				published_at = $5, expires_at = $6, closed_at = NULL, expired_at = NULL, updated_at = $7, version = $8
			WHERE id = $1`, e.JobID, e.Plan.String(), e.Featured, e.PaymentID, e.PublishedAt, e.ExpiresAt, at, v)
	case *domain.JobClosed:
		return exec(`UPDATE %s.jobs SET status = 'closed', closed_at = $2, updated_at = $3, version = $4 WHERE id = $1`,
			e.JobID, e.ClosedAt, at, v)
	case *domain.JobExpired:
		return exec(`UPDATE %s.jobs SET status = 'expired', expired_at = $2, updated_at = $3, version = $4 WHERE id = $1`,
			e.JobID, e.ExpiredAt, at, v)
	case *domain.ApplicationSubmitted:
		return exec(`INSERT INTO %s.applications (id, job_id, company_id, candidate_id, status, resume_url,
				cover_letter, submitted_at, updated_at, version)
			VALUES ($1, $2, $3, $4, 'submitted', $5, $6, $7, $8, $9)
			ON CONFLICT (id) DO UPDATE SET job_id = $2, company_id = $3, candidate_id = $4, status = 'submitted',
				resume_url = $5, cover_letter = $6, submitted_at = $7, updated_at = $8, version = $9`,
			e.ApplicationID, e.JobID, e.CompanyID, e.CandidateID, e.ResumeURL, e.CoverLetter, e.SubmittedAt, at, v)
	case *domain.ApplicationStatusChanged:
		return exec(`UPDATE %s.applications SET status = $2, updated_at = $3, version = $4 WHERE id = $1`,
			e.ApplicationID, e.To.String(), at, v)
	case *domain.ApplicationWithdrawn:
		return exec(`UPDATE %s.applications SET status = 'withdrawn', updated_at = $2, version = $3 WHERE id = $1`,
			e.ApplicationID, at, v)
	}
	return nil
}

// paymentStatusSQL sets the status of one row of job_payments ($1 job, $2 payment, $3
// status, $4 time). Like every statement here it runs only for an event the projection has
// not applied yet (applyFresh), so redeliveries never move a status back.
const paymentStatusSQL = `UPDATE %s.job_payments SET status = $3, updated_at = $4 WHERE job_id = $1 AND payment_id = $2`

// detailColumns returns a job's details with location and salary encoded for jsonb.
func detailColumns(d domain.JobDetails) (jobFields, []byte, []byte, error) {
	f := fieldsOf(d.Input())
	loc, err := json.Marshal(f.Location)
	if err != nil {
		return f, nil, nil, Permanent(fmt.Errorf("encode location: %w", err))
	}
	var sal []byte
	if f.Salary != nil {
		if sal, err = json.Marshal(f.Salary); err != nil {
			return f, nil, nil, Permanent(fmt.Errorf("encode salary: %w", err))
		}
	}
	return f, loc, sal, nil
}
