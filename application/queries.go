package application

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/consistency"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/readmodels"
)

// Queries answer from the read models, never from the event store. Their results are
// readmodels/' types, whose JSON is the answer of the query API (API.md). Each returns
// *apperr.Error for what the caller should see: NotFound for an unknown id, Invalid naming
// "cursor" for a cursor that is not one, Timeout for a wait that ran out.
type Queries struct {
	// WaitFor returns once a read model has applied every position, or Timeout.
	WaitFor Handler[WaitFor, struct{}]
	// SearchJobs searches the open, published, unexpired jobs.
	SearchJobs Handler[readmodels.SearchParams, readmodels.SearchResult]
	// Job is a job in any status; the caller decides who may see which.
	Job Handler[GetJob, readmodels.Job]
	// Company is a company with its count of open jobs.
	Company Handler[GetCompany, readmodels.Company]
	// CompanyJobs lists a company's jobs, newest first.
	CompanyJobs Handler[ListCompanyJobs, readmodels.Page[readmodels.Job]]
	// JobApplications lists the applications to a job, newest first.
	JobApplications Handler[ListJobApplications, readmodels.Page[readmodels.JobApplication]]
	// CandidateApplications lists a candidate's applications, newest first.
	CandidateApplications Handler[ListCandidateApplications, readmodels.Page[readmodels.CandidateApplication]]
	// CandidateAlerts lists a candidate's live alerts, newest first.
	CandidateAlerts Handler[ListCandidateAlerts, []readmodels.Alert]
	// Alert is one alert, live or ended; the caller decides who may see it.
	Alert Handler[GetAlert, readmodels.Alert]
	// EmailPreferences are the optional e-mail categories an account turned off.
	EmailPreferences Handler[GetEmailPreferences, readmodels.EmailPreferences]
}

// ListCandidateAlerts lists a candidate's alerts.
type ListCandidateAlerts struct{ CandidateID string }

// GetAlert reads one alert.
type GetAlert struct{ ID string }

// GetEmailPreferences reads an account's e-mail preferences.
type GetEmailPreferences struct{ SubjectID string }

// ReadModel names the projection a query is served from, so that consistency tokens are
// awaited on that projection and no other.
type ReadModel int

const (
	// ReadModelSearch is the job search index.
	ReadModelSearch ReadModel = iota + 1
	// ReadModelTables are the read tables: jobs in every status, companies, applications.
	ReadModelTables
	// ReadModelAlerts are the alerts and e-mail preferences.
	ReadModelAlerts
)

func (rm ReadModel) String() string {
	switch rm {
	case ReadModelSearch:
		return "search"
	case ReadModelTables:
		return "tables"
	case ReadModelAlerts:
		return "alerts"
	default:
		return "unknown"
	}
}

// WaitFor waits until ReadModel has applied Positions, at most Timeout.
type WaitFor struct {
	ReadModel ReadModel
	Timeout   time.Duration
	Positions []consistency.Position
}

// GetJob reads one job.
type GetJob struct{ ID string }

// GetCompany reads one company.
type GetCompany struct{ ID string }

// ListCompanyJobs pages through a company's jobs.
type ListCompanyJobs struct {
	CompanyID string
	Page      readmodels.ListParams
}

// ListJobApplications pages through the applications to a job.
type ListJobApplications struct {
	JobID string
	Page  readmodels.ListParams
}

// ListCandidateApplications pages through a candidate's applications.
type ListCandidateApplications struct {
	CandidateID string
	Page        readmodels.ListParams
}

// NewQueries builds the query handlers over the read models.
func NewQueries(store *readmodels.Store) (*Queries, error) {
	if store == nil {
		return nil, fmt.Errorf("application: queries: nil read model store")
	}
	return &Queries{
		WaitFor: HandlerFunc[WaitFor, struct{}](func(ctx context.Context, q WaitFor) (struct{}, error) {
			projection, err := projectionOf(q.ReadModel)
			if err != nil {
				return struct{}{}, err
			}
			positions := consumedBy(projection, q.Positions)
			if len(positions) == 0 {
				return struct{}{}, nil
			}
			return struct{}{}, store.WaitForStreams(ctx, projection, q.Timeout, positions...)
		}),
		SearchJobs: HandlerFunc[readmodels.SearchParams, readmodels.SearchResult](func(ctx context.Context, p readmodels.SearchParams) (readmodels.SearchResult, error) {
			r, err := store.Search(ctx, p)
			if err != nil {
				return readmodels.SearchResult{}, err
			}
			if r.Items == nil {
				r.Items = []readmodels.SearchItem{}
			}
			for i := range r.Items {
				it := &r.Items[i]
				it.Tags, it.Location = nonNil(it.Tags), location(it.Location)
			}
			r.Facets.Tags = facetValues(r.Facets.Tags)
			r.Facets.EmploymentType = facetValues(r.Facets.EmploymentType)
			r.Facets.Seniority = facetValues(r.Facets.Seniority)
			r.Facets.Regions = facetValues(r.Facets.Regions)
			return r, nil
		}),
		Job: HandlerFunc[GetJob, readmodels.Job](func(ctx context.Context, q GetJob) (readmodels.Job, error) {
			j, err := store.GetJob(ctx, q.ID)
			if err != nil {
				return readmodels.Job{}, err
			}
			return jobView(j), nil
		}),
		Company: HandlerFunc[GetCompany, readmodels.Company](func(ctx context.Context, q GetCompany) (readmodels.Company, error) {
			return store.GetCompany(ctx, q.ID)
		}),
		CompanyJobs: HandlerFunc[ListCompanyJobs, readmodels.Page[readmodels.Job]](func(ctx context.Context, q ListCompanyJobs) (readmodels.Page[readmodels.Job], error) {
			page, err := store.CompanyJobs(ctx, q.CompanyID, q.Page)
			if err != nil {
				return readmodels.Page[readmodels.Job]{}, err
			}
			return mapPage(page, jobView), nil
		}),
		JobApplications: HandlerFunc[ListJobApplications, readmodels.Page[readmodels.JobApplication]](func(ctx context.Context, q ListJobApplications) (readmodels.Page[readmodels.JobApplication], error) {
			page, err := store.JobApplications(ctx, q.JobID, q.Page)
			if err != nil {
				return readmodels.Page[readmodels.JobApplication]{}, err
			}
			return mapPage(page, func(a readmodels.JobApplication) readmodels.JobApplication { return a }), nil
		}),
		CandidateApplications: HandlerFunc[ListCandidateApplications, readmodels.Page[readmodels.CandidateApplication]](func(ctx context.Context, q ListCandidateApplications) (readmodels.Page[readmodels.CandidateApplication], error) {
			page, err := store.CandidateApplications(ctx, q.CandidateID, q.Page)
			if err != nil {
				return readmodels.Page[readmodels.CandidateApplication]{}, err
			}
			return mapPage(page, func(a readmodels.CandidateApplication) readmodels.CandidateApplication { return a }), nil
		}),
		CandidateAlerts: HandlerFunc[ListCandidateAlerts, []readmodels.Alert](func(ctx context.Context, q ListCandidateAlerts) ([]readmodels.Alert, error) {
			return store.CandidateAlerts(ctx, q.CandidateID)
		}),
		Alert: HandlerFunc[GetAlert, readmodels.Alert](func(ctx context.Context, q GetAlert) (readmodels.Alert, error) {
			return store.GetAlert(ctx, q.ID)
		}),
		EmailPreferences: HandlerFunc[GetEmailPreferences, readmodels.EmailPreferences](func(ctx context.Context, q GetEmailPreferences) (readmodels.EmailPreferences, error) {
			return store.GetEmailPreferences(ctx, q.SubjectID)
		}),
	}, nil
}

// projectionOf is the projector whose applied versions a read model's queries wait for.
func projectionOf(rm ReadModel) (string, error) {
	switch rm {
	case ReadModelSearch:
		return readmodels.JobSearchProjection, nil
	case ReadModelTables:
		return readmodels.ReadTablesProjection, nil
	case ReadModelAlerts:
		return readmodels.AlertsProjection, nil
	default:
		return "", fmt.Errorf("unknown read model %v", rm)
	}
}

// consumedBy leaves out the positions of stream types projection never consumes: it will
// never apply them, so read-your-writes holds for them at once (waiting would only end in
// the timeout). A position without a type (a token issued before types were carried) is
// kept and waited on, as it always was.
func consumedBy(projection string, positions []consistency.Position) []consistency.Position {
	types := projections.ConsumedStreamTypes(projection)
	out := make([]consistency.Position, 0, len(positions))
	for _, p := range positions {
		if p.StreamType == "" || slices.Contains(types, p.StreamType) {
			out = append(out, p)
		}
	}
	return out
}

// mapPage applies f to every item; a page always has a list of items, never null.
func mapPage[T any](p readmodels.Page[T], f func(T) T) readmodels.Page[T] {
	out := readmodels.Page[T]{Items: make([]T, len(p.Items)), NextCursor: p.NextCursor}
	for i, it := range p.Items {
		out.Items[i] = f(it)
	}
	return out
}

// jobView is a job as the query API shows it: lists as [] rather than null, and a payment
// the domain calls "requested" as one that requires payment.
func jobView(j readmodels.Job) readmodels.Job {
	j.Tags, j.Location = nonNil(j.Tags), location(j.Location)
	if j.Payments != nil {
		ps := make([]readmodels.JobPayment, len(j.Payments))
		for i, p := range j.Payments {
			if p.Status == domain.PaymentStatusRequested.String() {
				p.Status = commands.PaymentStatusRequiresPayment
			}
			ps[i] = p
		}
		j.Payments = ps
	}
	return j
}

func location(l readmodels.Location) readmodels.Location {
	l.Regions, l.Countries = nonNil(l.Regions), nonNil(l.Countries)
	return l
}

func facetValues(fs []readmodels.FacetValue) []readmodels.FacetValue {
	if fs == nil {
		return []readmodels.FacetValue{}
	}
	return fs
}

// nonNil makes absent lists encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Written is the position a command's result left its stream at: what a consistency token
// of that write names, for the front doors to sign.
func Written(r commands.Result) consistency.Position {
	return consistency.Position{StreamID: r.ID, StreamType: r.StreamType, Version: r.Version}
}
