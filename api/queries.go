package api

import (
	"context"
	"time"

	"github.com/jobboard/jobboard/internal/consistency"
)

// Queries is the port of the query routes: the read models, never the event store.
// internal/app implements it over readmodels.Store. The shapes below are the wire shapes of
// API.md; the port fills them and the routes decide who may see what. Every method returns
// *apperr.Error for what the client should see (NotFound for an unknown id, Invalid naming
// "cursor" for a cursor that is not one, Timeout for a wait that ran out).
type Queries interface {
	// WaitFor returns once rm has applied every position, or an *apperr.Error with code
	// Timeout after timeout (or when ctx ends).
	WaitFor(ctx context.Context, rm ReadModel, timeout time.Duration, positions []consistency.Position) error
	// SearchJobs searches the open, published, unexpired jobs.
	SearchJobs(ctx context.Context, p SearchJobsParams) (JobSearchResult, error)
	// Job returns a job in any status.
	Job(ctx context.Context, id string) (JobView, error)
	// Company returns a company with its count of open jobs.
	Company(ctx context.Context, id string) (CompanyView, error)
	// CompanyJobs lists a company's jobs, newest first.
	CompanyJobs(ctx context.Context, companyID string, p ListParams) (Page[JobView], error)
	// JobApplications lists the applications to a job, newest first.
	JobApplications(ctx context.Context, jobID string, p ListParams) (Page[JobApplicationView], error)
	// CandidateApplications lists a candidate's applications, newest first.
	CandidateApplications(ctx context.Context, candidateID string, p ListParams) (Page[CandidateApplicationView], error)
}

// ReadModel names the projection a query is served from, so that its consistency tokens are
// awaited on that projection and no other.
type ReadModel int

const (
	// ReadModelSearch is the job search index (GET /v1/jobs).
	ReadModelSearch ReadModel = iota + 1
	// ReadModelTables are the read tables: jobs in every status, companies, applications.
	ReadModelTables
)

func (rm ReadModel) String() string {
	switch rm {
	case ReadModelSearch:
		return "search"
	case ReadModelTables:
		return "tables"
	default:
		return "unknown"
	}
}

// SearchJobsParams are the filters of GET /v1/jobs, validated. Zero values do not filter.
type SearchJobsParams struct {
	Q              string
	Tags           []string
	Remote         *bool
	Region         string
	Country        string
	EmploymentType string
	Seniority      string
	// SalaryMin is a yearly amount in minor units, compared with the jobs' yearly maximum.
	SalaryMin int64
	Currency  string
	CompanyID string
	// Sort is "relevance", "newest" or "salary".
	Sort   string
	Limit  int
	Cursor string
}

// ListParams page through a list, newest first.
type ListParams struct {
	// Status keeps one status; "" keeps every status.
	Status string
	Limit  int
	Cursor string
}

// CompanyRef names a company inside another answer.
type CompanyRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Location is where a job is done.
type Location struct {
	Remote    bool       `json:"remote"`
	Regions   []string   `json:"regions"`
	Countries []string   `json:"countries"`
	Timezones *Timezones `json:"timezones,omitempty"`
}

// Timezones is the range of UTC offsets, in hours, a team works in.
type Timezones struct {
	MinUTCOffset float64 `json:"min_utc_offset"`
	MaxUTCOffset float64 `json:"max_utc_offset"`
}

// Salary is a range in minor units per period.
type Salary struct {
	Min      int64  `json:"min"`
	Max      int64  `json:"max"`
	Currency string `json:"currency"`
	Period   string `json:"period"`
}

// JobSummary is an item of a search answer.
type JobSummary struct {
	ID             string     `json:"id"`
	Title          string     `json:"title"`
	Company        CompanyRef `json:"company"`
	Location       Location   `json:"location"`
	Salary         *Salary    `json:"salary"`
	Tags           []string   `json:"tags"`
	EmploymentType string     `json:"employment_type"`
	Seniority      string     `json:"seniority"`
	Featured       bool       `json:"featured"`
	PublishedAt    *time.Time `json:"published_at"`
	ExpiresAt      *time.Time `json:"expires_at"`
}

// FacetValue is one bucket of a facet.
type FacetValue struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

// Facets count the matching jobs by value.
type Facets struct {
	Tags           []FacetValue `json:"tags"`
	EmploymentType []FacetValue `json:"employment_type"`
	Seniority      []FacetValue `json:"seniority"`
	Regions        []FacetValue `json:"regions"`
}

// JobSearchResult is the answer of GET /v1/jobs.
type JobSearchResult struct {
	Items      []JobSummary `json:"items"`
	Total      int64        `json:"total"`
	Facets     Facets       `json:"facets"`
	NextCursor string       `json:"next_cursor"`
}

// JobView is a job in any status, as its owner sees it; the routes hide the owner-only
// fields from everyone else.
type JobView struct {
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
	// Plan, PaymentStatus and Payments are the owner's business ("" and absent for everyone else).
	Plan          string `json:"plan,omitempty"`
	PaymentStatus string `json:"payment_status,omitempty"`
	// Payments lists every listing payment of the job, in request order (GET /v1/jobs/{id} only).
	Payments []JobPaymentView `json:"payments,omitempty"`
	// Version is the job stream's version the view reflects (for If-Match).
	Version int64 `json:"version"`
}

// JobPaymentView is one listing payment of a job, as its owner sees it.
type JobPaymentView struct {
	PaymentID string `json:"payment_id"`
	Plan      string `json:"plan"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	// Status is one of requires_payment, paid, failed, canceled, refunded.
	Status string `json:"status"`
}

// CompanyView is GET /v1/companies/{id}.
type CompanyView struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Website     string `json:"website"`
	Description string `json:"description"`
	// OpenJobs counts the published, unexpired jobs.
	OpenJobs int64 `json:"open_jobs"`
}

// CandidateRef is the candidate of an application, as the job's owner sees them.
type CandidateRef struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// JobApplicationView is an item of GET /v1/jobs/{id}/applications.
type JobApplicationView struct {
	ID          string       `json:"id"`
	Candidate   CandidateRef `json:"candidate"`
	Status      string       `json:"status"`
	SubmittedAt time.Time    `json:"submitted_at"`
	ResumeURL   string       `json:"resume_url"`
	CoverLetter string       `json:"cover_letter"`
}

// ApplicationJobRef is the job an application is for.
type ApplicationJobRef struct {
	ID      string     `json:"id"`
	Title   string     `json:"title"`
	Company CompanyRef `json:"company"`
}

// CandidateApplicationView is an item of GET /v1/candidates/me/applications.
type CandidateApplicationView struct {
	ID          string            `json:"id"`
	Job         ApplicationJobRef `json:"job"`
	Status      string            `json:"status"`
	SubmittedAt time.Time         `json:"submitted_at"`
}

// Page is one page of a list and the cursor of the next ("" on the last page).
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}
