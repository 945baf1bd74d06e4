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
}

// ReadTablesProjector builds the PostgreSQL read tables: companies, candidates, jobs in
// every status and applications. Each row belongs to one stream, so per-stream version
// checks make it idempotent; names and titles of other streams are joined at read time,
// so events of different streams may arrive in any order.
type ReadTablesProjector struct {
	pool   *pgxpool.Pool
	schema string
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
	return &ReadTablesProjector{pool: pool, schema: cfg.Schema}, nil
}

// Name is readmodels.ReadTablesProjection.
func (p *ReadTablesProjector) Name() string { return readmodels.ReadTablesProjection }

// StreamTypes are every stream type.
func (p *ReadTablesProjector) StreamTypes() []string {
	return []string{domain.StreamTypeCompany, domain.StreamTypeCandidate, domain.StreamTypeJob, domain.StreamTypeApplication}
}

// Apply applies events in one transaction.
func (p *ReadTablesProjector) Apply(ctx context.Context, events []Event) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", p.Name(), classifyPG(err))
	}
	defer tx.Rollback(ctx)
	for _, ev := range events {
		fresh, err := advance(ctx, tx, p.schema, ev)
		if err != nil {
			return fmt.Errorf("%s: %w", p.Name(), err)
		}
		if !fresh || ev.Payload == nil {
			continue
		}
		if err := p.apply(ctx, tx, ev); err != nil {
			return fmt.Errorf("%s: apply %s %s v%d: %w", p.Name(), ev.Type, ev.StreamID, ev.StreamVersion, classifyPG(err))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%s: commit: %w", p.Name(), classifyPG(err))
	}
	return nil
}

// advance records ev's version as applied for its stream if it is newer than the one
// recorded, locking the stream's row until the transaction ends. It reports whether ev is
// new (to be applied) or a redelivery (to be skipped).
func advance(ctx context.Context, tx pgx.Tx, schema string, ev Event) (bool, error) {
	var one int
	err := tx.QueryRow(ctx, fmt.Sprintf(`INSERT INTO %s.applied_streams AS a (stream_id, version, global_position, applied_at)
		VALUES ($1, $2, $3, now())
		ON CONFLICT (stream_id) DO UPDATE
			SET version = EXCLUDED.version, global_position = EXCLUDED.global_position, applied_at = now()
			WHERE a.version < EXCLUDED.version
		RETURNING 1`, schema), ev.StreamID, ev.StreamVersion, ev.GlobalPosition).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record version %d of %s: %w", ev.StreamVersion, ev.StreamID, classifyPG(err))
	}
	return true, nil
}

func (p *ReadTablesProjector) apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	s, v, at := p.schema, ev.StreamVersion, ev.RecordedAt
	exec := func(sql string, args ...any) error {
		_, err := tx.Exec(ctx, fmt.Sprintf(sql, s), args...)
		return err
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
		return exec(`UPDATE %s.jobs SET payment_id = $2, payment_status = 'requested', updated_at = $3, version = $4
			WHERE id = $1`, e.JobID, e.PaymentID, at, v)
	case *domain.ListingPaid:
		return exec(`UPDATE %s.jobs SET payment_id = $2, payment_status = 'paid', updated_at = $3, version = $4
			WHERE id = $1`, e.JobID, e.PaymentID, at, v)
	case *domain.ListingPaymentFailed:
		return exec(`UPDATE %s.jobs SET payment_status = 'failed', updated_at = $3, version = $4
			WHERE id = $1 AND payment_id IN ($2, '')`, e.JobID, e.PaymentID, at, v)
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
