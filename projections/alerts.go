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

// AlertsConfig configures an AlertsProjector.
type AlertsConfig struct {
	// Schema is the PostgreSQL schema of the version written. Default
	// readmodels.DefaultAlertsSchema.
	Schema string
	// FollowLive: see ReadTablesConfig.FollowLive.
	FollowLive bool
}

// AlertsProjector builds the alerts projection: the alerts and e-mail preferences tables.
// Each row belongs to one stream, so per-stream version checks make it idempotent. The
// alerts' searches are not stored as queries: the matcher builds each from the criteria
// with the search's own query builder when it runs (docs/adr/0007-job-alerts.md).
type AlertsProjector struct {
	pool *pgxpool.Pool
	cfg  AlertsConfig
}

var _ Projector = (*AlertsProjector)(nil)

// NewAlertsProjector returns the projector writing cfg.Schema.
func NewAlertsProjector(pool *pgxpool.Pool, cfg AlertsConfig) (*AlertsProjector, error) {
	if pool == nil {
		return nil, errors.New("projections: alerts projector: pool is nil")
	}
	if cfg.Schema == "" {
		cfg.Schema = readmodels.DefaultAlertsSchema
	}
	if !readmodels.ValidSchemaName(cfg.Schema) {
		return nil, fmt.Errorf("projections: alerts projector: invalid schema %q", cfg.Schema)
	}
	return &AlertsProjector{pool: pool, cfg: cfg}, nil
}

// Name is readmodels.AlertsProjection.
func (p *AlertsProjector) Name() string { return readmodels.AlertsProjection }

// StreamTypes: alerts, and the accounts whose e-mail preferences it keeps.
func (p *AlertsProjector) StreamTypes() []string {
	return []string{domain.StreamTypeAlert, domain.StreamTypeCandidate, domain.StreamTypeCompany}
}

// Apply applies events in one transaction, as ReadTablesProjector.Apply.
func (p *AlertsProjector) Apply(ctx context.Context, events []Event) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", p.Name(), classifyPG(err))
	}
	defer tx.Rollback(ctx)
	t, err := resolveTarget(ctx, tx, p.Name(), p.cfg.FollowLive, target{schema: p.cfg.Schema})
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

// criteriaOf is the read model's view of a domain alert's criteria.
func criteriaOf(c domain.AlertCriteria) readmodels.AlertCriteria {
	return readmodels.AlertCriteria{Q: c.Q, Tags: c.Tags, Remote: c.Remote, Region: c.Region, Country: c.Country,
		EmploymentType: c.EmploymentType, Seniority: c.Seniority, SalaryMin: c.SalaryMin, Currency: c.Currency,
		CompanyID: c.CompanyID, Sort: c.Sort}
}

func (p *AlertsProjector) apply(b *pgx.Batch, s string, ev Event) error {
	queue := func(sql string, args ...any) { b.Queue(fmt.Sprintf(sql, s), args...) }
	switch e := ev.Payload.(type) {
	case *domain.AlertCreated:
		criteria, err := json.Marshal(criteriaOf(e.Criteria))
		if err != nil {
			return Permanent(err)
		}
		queue(`INSERT INTO %s.alerts (id, candidate_id, criteria, frequency, active, created_at, version)
			VALUES ($1, $2, $3, $4, true, $5, $6) ON CONFLICT (id) DO NOTHING`,
			e.AlertID, e.CandidateID, criteria, e.Frequency.String(), e.CreatedAt, ev.StreamVersion)
	case *domain.AlertDeleted:
		queue(`UPDATE %s.alerts SET active = false, deleted_at = $2, version = $3 WHERE id = $1`, e.AlertID, e.DeletedAt, ev.StreamVersion)
	case *domain.CandidateEmailPreferencesSet:
		queue(`INSERT INTO %s.email_preferences (subject_id, role, off, updated_at) VALUES ($1, 'candidate', $2, $3)
			ON CONFLICT (subject_id) DO UPDATE SET off = EXCLUDED.off, updated_at = EXCLUDED.updated_at`,
			e.CandidateID, categoryStrings(e.Off), e.SetAt)
	case *domain.CompanyEmailPreferencesSet:
		queue(`INSERT INTO %s.email_preferences (subject_id, role, off, updated_at) VALUES ($1, 'employer', $2, $3)
			ON CONFLICT (subject_id) DO UPDATE SET off = EXCLUDED.off, updated_at = EXCLUDED.updated_at`,
			e.CompanyID, categoryStrings(e.Off), e.SetAt)
	}
	return nil
}

func categoryStrings(cs []domain.EmailCategory) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}
