package readmodels

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jobboard/jobboard/internal/apperr"
)

// List limits of the PostgreSQL-backed lists.
const (
	DefaultListLimit = 20
	MaxListLimit     = 100
)

// Job is a job in any status, as GET /v1/jobs/{id} answers it. Callers decide who may see
// which status (owners see every one).
type Job struct {
	ID             string     `json:"id"`
	Company        CompanyRef `json:"company"`
	Status         string     `json:"status"`
	Title          string     `json:"title"`
	Description    string     `json:"description"`
	EmploymentType string     `json:"employment_type"`
	Seniority      string     `json:"seniority"`
	Location       Location   `json:"location"`
	Salary         *Salary    `json:"salary"`
	Tags           []string   `json:"tags"`
	ApplyURL       string     `json:"apply_url,omitempty"`
	Featured       bool       `json:"featured"`
	PostedAt       time.Time  `json:"posted_at"`
	PublishedAt    *time.Time `json:"published_at"`
	ExpiresAt      *time.Time `json:"expires_at"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
	ExpiredAt      *time.Time `json:"expired_at,omitempty"`
	UpdatedAt      time.Time  `json:"updated_at"`
	// Plan, PaymentStatus and Payments are the owner's business: the query API empties
	// them (and so leaves them out) for everyone else.
	Plan          string `json:"plan,omitempty"`
	PaymentStatus string `json:"payment_status,omitempty"`
	// Payments are the job's listing payments in request order (GetJob only; nil in lists).
	Payments []JobPayment `json:"payments,omitempty"`
	// Version is the job stream's version this row reflects (for If-Match).
	Version int64 `json:"version"`
}

// JobPayment is one listing payment of a job.
type JobPayment struct {
	PaymentID string `json:"payment_id"`
	Plan      string `json:"plan"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	// Status is a domain.PaymentStatus: requested, paid, failed, canceled or refunded
	// (the query API says requires_payment for requested).
	Status string `json:"status"`
	// RequestedAt orders the payments; the query API does not show it.
	RequestedAt time.Time `json:"-"`
}

// Company is GET /v1/companies/{id}.
type Company struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Website     string `json:"website"`
	Description string `json:"description"`
	// OpenJobs counts the company's published, unexpired jobs.
	OpenJobs int64 `json:"open_jobs"`
}

// Candidate is a registered candidate.
type Candidate struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// JobApplication is an item of GET /v1/jobs/{id}/applications.
type JobApplication struct {
	ID string `json:"id"`
	// JobID is the job applied to; the query API does not show it (the route names it).
	JobID       string    `json:"-"`
	Candidate   Candidate `json:"candidate"`
	Status      string    `json:"status"`
	SubmittedAt time.Time `json:"submitted_at"`
	ResumeURL   string    `json:"resume_url"`
	CoverLetter string    `json:"cover_letter"`
}

// ApplicationJob is the job an application is for.
type ApplicationJob struct {
	ID      string     `json:"id"`
	Title   string     `json:"title"`
	Company CompanyRef `json:"company"`
}

// CandidateApplication is an item of GET /v1/candidates/me/applications.
type CandidateApplication struct {
	ID          string         `json:"id"`
	Job         ApplicationJob `json:"job"`
	Status      string         `json:"status"`
	SubmittedAt time.Time      `json:"submitted_at"`
}

// Page is one page of a list and the cursor of the next one ("" on the last page).
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// ListParams page through a list, newest first.
type ListParams struct {
	// Status filters by status; "" keeps every status.
	Status string
	// Limit is the page size, 1–100; 0 means DefaultListLimit.
	Limit int
	// Cursor is the NextCursor of the previous page.
	Cursor string
}

// keyset is the position after which the next page starts: (time, id) descending.
type keyset struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

func (p *ListParams) normalise() (*keyset, error) {
	if p.Limit == 0 {
		p.Limit = DefaultListLimit
	}
	var fields []apperr.FieldError
	if p.Limit < 1 || p.Limit > MaxListLimit {
		fields = append(fields, apperr.FieldError{Field: "limit", Message: fmt.Sprintf("must be from 1 to %d", MaxListLimit)})
	}
	var ks *keyset
	if p.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		ks = &keyset{}
		if err != nil || json.Unmarshal(b, ks) != nil || ks.ID == "" {
			fields = append(fields, apperr.FieldError{Field: "cursor", Message: "is not a cursor of this list"})
		}
	}
	if len(fields) > 0 {
		return nil, apperr.InvalidFields(fields...)
	}
	return ks, nil
}

func encodeKeyset(at time.Time, id string) string {
	b, _ := json.Marshal(keyset{At: at, ID: id})
	return base64.RawURLEncoding.EncodeToString(b)
}

// keysetWhere is the WHERE clause and arguments of one page of a list ordered by
// (alias.timeCol, alias.id) descending: the rows whose ownerCol is owner, of p.Status if
// set, after the cursor ks. The last argument is the LIMIT: one row more than the page, to
// know whether another page follows.
func keysetWhere(alias, ownerCol, timeCol string, owner any, p ListParams, ks *keyset) (string, []any) {
	where := []string{fmt.Sprintf("%s.%s = $1", alias, ownerCol)}
	args := []any{owner}
	if p.Status != "" {
		args = append(args, p.Status)
		where = append(where, fmt.Sprintf("%s.status = $%d", alias, len(args)))
	}
	if ks != nil {
		args = append(args, ks.At, ks.ID)
		where = append(where, fmt.Sprintf("(%[1]s.%[2]s, %[1]s.id) < ($%[3]d, $%[4]d)", alias, timeCol, len(args)-1, len(args)))
	}
	return strings.Join(where, " AND "), append(args, p.Limit+1)
}

// finishPage cuts the rows of a keysetWhere query to the page and sets the cursor of the
// next page from the last item's key when there is one.
func finishPage[T any](items []T, limit int, key func(T) (time.Time, string)) Page[T] {
	page := Page[T]{Items: items}
	if page.Items == nil {
		page.Items = []T{}
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = encodeKeyset(key(page.Items[limit-1]))
	}
	return page
}

func (s *Store) tablesSchema(ctx context.Context) (string, error) {
	t, err := s.targets.get(ctx, ReadTablesProjection)
	if err != nil {
		return "", err
	}
	return t.Schema, nil
}

const jobColumns = `j.id, j.company_id, coalesce(c.name, ''), j.status, j.title, j.description,
	j.employment_type, j.seniority, j.location, j.salary, j.tags, j.apply_url, j.plan, j.featured,
	j.payment_status, j.posted_at, j.published_at, j.expires_at, j.closed_at, j.expired_at,
	j.updated_at, j.version`

func scanJob(row pgx.Row) (Job, error) {
	var j Job
	var loc, sal []byte
	err := row.Scan(&j.ID, &j.Company.ID, &j.Company.Name, &j.Status, &j.Title, &j.Description,
		&j.EmploymentType, &j.Seniority, &loc, &sal, &j.Tags, &j.ApplyURL, &j.Plan, &j.Featured,
		&j.PaymentStatus, &j.PostedAt, &j.PublishedAt, &j.ExpiresAt, &j.ClosedAt, &j.ExpiredAt,
		&j.UpdatedAt, &j.Version)
	if err != nil {
		return Job{}, err
	}
	if err := json.Unmarshal(loc, &j.Location); err != nil {
		return Job{}, fmt.Errorf("decode location of job %s: %w", j.ID, err)
	}
	if len(sal) > 0 && string(sal) != "null" {
		j.Salary = &Salary{}
		if err := json.Unmarshal(sal, j.Salary); err != nil {
			return Job{}, fmt.Errorf("decode salary of job %s: %w", j.ID, err)
		}
	}
	if j.Tags == nil {
		j.Tags = []string{}
	}
	if j.Location.Regions == nil {
		j.Location.Regions = []string{}
	}
	if j.Location.Countries == nil {
		j.Location.Countries = []string{}
	}
	return j, nil
}

// GetJob returns a job in any status; apperr NotFound if the projection has no such job.
func (s *Store) GetJob(ctx context.Context, id string) (Job, error) {
	schema, err := s.tablesSchema(ctx)
	if err != nil {
		return Job{}, err
	}
	q := fmt.Sprintf(`SELECT %s FROM %[2]s.jobs j LEFT JOIN %[2]s.companies c ON c.id = j.company_id
		WHERE j.id = $1`, jobColumns, schema)
	j, err := scanJob(s.pool.QueryRow(ctx, q, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Job{}, apperr.New(apperr.NotFound, "job %s not found", id)
	}
	if err != nil {
		return Job{}, fmt.Errorf("get job %s: %w", id, err)
	}
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT payment_id, plan, amount, currency, status, requested_at
		FROM %s.job_payments WHERE job_id = $1 ORDER BY requested_at, payment_id`, schema), id)
	if err != nil {
		return Job{}, fmt.Errorf("get payments of job %s: %w", id, err)
	}
	j.Payments, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (JobPayment, error) {
		var p JobPayment
		err := r.Scan(&p.PaymentID, &p.Plan, &p.Amount, &p.Currency, &p.Status, &p.RequestedAt)
		return p, err
	})
	if err != nil {
		return Job{}, fmt.Errorf("get payments of job %s: %w", id, err)
	}
	if j.Payments == nil {
		j.Payments = []JobPayment{}
	}
	return j, nil
}

// CompanyJobs lists a company's jobs, newest posted first, optionally of one status.
// Callers restrict non-owners to StatusPublished.
func (s *Store) CompanyJobs(ctx context.Context, companyID string, p ListParams) (Page[Job], error) {
	ks, err := p.normalise()
	if err != nil {
		return Page[Job]{}, err
	}
	schema, err := s.tablesSchema(ctx)
	if err != nil {
		return Page[Job]{}, err
	}
	where, args := keysetWhere("j", "company_id", "posted_at", companyID, p, ks)
	q := fmt.Sprintf(`SELECT %s FROM %[2]s.jobs j LEFT JOIN %[2]s.companies c ON c.id = j.company_id
		WHERE %s ORDER BY j.posted_at DESC, j.id DESC LIMIT $%d`, jobColumns, schema, where, len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return Page[Job]{}, fmt.Errorf("list jobs of company %s: %w", companyID, err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Job, error) { return scanJob(r) })
	if err != nil {
		return Page[Job]{}, fmt.Errorf("list jobs of company %s: %w", companyID, err)
	}
	return finishPage(items, p.Limit, func(j Job) (time.Time, string) { return j.PostedAt, j.ID }), nil
}

// GetCompany returns a company with its count of open (published, unexpired) jobs.
func (s *Store) GetCompany(ctx context.Context, id string) (Company, error) {
	schema, err := s.tablesSchema(ctx)
	if err != nil {
		return Company{}, err
	}
	var c Company
	q := fmt.Sprintf(`SELECT c.id, c.name, c.website, c.description,
		(SELECT count(*) FROM %[1]s.jobs j WHERE j.company_id = c.id AND j.status = 'published' AND j.expires_at > $2)
		FROM %[1]s.companies c WHERE c.id = $1`, schema)
	err = s.pool.QueryRow(ctx, q, id, s.cfg.Now()).Scan(&c.ID, &c.Name, &c.Website, &c.Description, &c.OpenJobs)
	if errors.Is(err, pgx.ErrNoRows) {
		return Company{}, apperr.New(apperr.NotFound, "company %s not found", id)
	}
	if err != nil {
		return Company{}, fmt.Errorf("get company %s: %w", id, err)
	}
	return c, nil
}

// JobApplications lists the applications to a job, newest first, optionally of one status.
// Candidate name and email are joined at read time, so an application projected before its
// candidate shows them as soon as the candidate arrives.
func (s *Store) JobApplications(ctx context.Context, jobID string, p ListParams) (Page[JobApplication], error) {
	ks, err := p.normalise()
	if err != nil {
		return Page[JobApplication]{}, err
	}
	schema, err := s.tablesSchema(ctx)
	if err != nil {
		return Page[JobApplication]{}, err
	}
	where, args := keysetWhere("a", "job_id", "submitted_at", jobID, p, ks)
	q := fmt.Sprintf(`SELECT a.id, a.job_id, a.candidate_id, coalesce(c.name, ''), coalesce(c.email, ''),
		a.status, a.submitted_at, a.resume_url, a.cover_letter
		FROM %[1]s.applications a LEFT JOIN %[1]s.candidates c ON c.id = a.candidate_id
		WHERE %s ORDER BY a.submitted_at DESC, a.id DESC LIMIT $%d`, schema, where, len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return Page[JobApplication]{}, fmt.Errorf("list applications of job %s: %w", jobID, err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (JobApplication, error) {
		var a JobApplication
		err := r.Scan(&a.ID, &a.JobID, &a.Candidate.ID, &a.Candidate.Name, &a.Candidate.Email,
			&a.Status, &a.SubmittedAt, &a.ResumeURL, &a.CoverLetter)
		return a, err
	})
	if err != nil {
		return Page[JobApplication]{}, fmt.Errorf("list applications of job %s: %w", jobID, err)
	}
	return finishPage(items, p.Limit, func(a JobApplication) (time.Time, string) { return a.SubmittedAt, a.ID }), nil
}

// CandidateApplications lists a candidate's applications, newest first, with the job's
// title and company joined at read time.
func (s *Store) CandidateApplications(ctx context.Context, candidateID string, p ListParams) (Page[CandidateApplication], error) {
	ks, err := p.normalise()
	if err != nil {
		return Page[CandidateApplication]{}, err
	}
	schema, err := s.tablesSchema(ctx)
	if err != nil {
		return Page[CandidateApplication]{}, err
	}
	where, args := keysetWhere("a", "candidate_id", "submitted_at", candidateID, p, ks)
	q := fmt.Sprintf(`SELECT a.id, a.job_id, coalesce(j.title, ''), a.company_id, coalesce(co.name, ''),
		a.status, a.submitted_at
		FROM %[1]s.applications a
		LEFT JOIN %[1]s.jobs j ON j.id = a.job_id
		LEFT JOIN %[1]s.companies co ON co.id = a.company_id
		WHERE %s ORDER BY a.submitted_at DESC, a.id DESC LIMIT $%d`, schema, where, len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return Page[CandidateApplication]{}, fmt.Errorf("list applications of candidate %s: %w", candidateID, err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CandidateApplication, error) {
		var a CandidateApplication
		err := r.Scan(&a.ID, &a.Job.ID, &a.Job.Title, &a.Job.Company.ID, &a.Job.Company.Name,
			&a.Status, &a.SubmittedAt)
		return a, err
	})
	if err != nil {
		return Page[CandidateApplication]{}, fmt.Errorf("list applications of candidate %s: %w", candidateID, err)
	}
	return finishPage(items, p.Limit, func(a CandidateApplication) (time.Time, string) { return a.SubmittedAt, a.ID }), nil
}
