package app

import (
	"context"
	"fmt"
	"time"

	"github.com/jobboard/jobboard/api"
	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/consistency"
	"github.com/jobboard/jobboard/readmodels"
)

// queryPort implements api.Queries over the read models: it only translates parameters and
// shapes. It never reads the event store.
type queryPort struct{ store *readmodels.Store }

var _ api.Queries = queryPort{}

// projectionOf is the projector whose applied versions a read model's queries wait for.
func projectionOf(rm api.ReadModel) (string, error) {
	switch rm {
	case api.ReadModelSearch:
		return readmodels.JobSearchProjection, nil
	case api.ReadModelTables:
		return readmodels.ReadTablesProjection, nil
	default:
		return "", fmt.Errorf("unknown read model %v", rm)
	}
}

func (q queryPort) WaitFor(ctx context.Context, rm api.ReadModel, timeout time.Duration, positions []consistency.Position) error {
	projection, err := projectionOf(rm)
	if err != nil {
		return err
	}
	return q.store.WaitForStreams(ctx, projection, timeout, positions...)
}

func (q queryPort) SearchJobs(ctx context.Context, p api.SearchJobsParams) (api.JobSearchResult, error) {
	r, err := q.store.Search(ctx, readmodels.SearchParams{
		Q: p.Q, Tags: p.Tags, Remote: p.Remote, Region: p.Region, Country: p.Country,
		EmploymentType: p.EmploymentType, Seniority: p.Seniority, SalaryMin: p.SalaryMin,
		Currency: p.Currency, CompanyID: p.CompanyID, Sort: p.Sort, Limit: p.Limit, Cursor: p.Cursor,
	})
	if err != nil {
		return api.JobSearchResult{}, err
	}
	out := api.JobSearchResult{
		Items:      make([]api.JobSummary, len(r.Items)),
		Total:      r.Total,
		NextCursor: r.NextCursor,
		Facets: api.Facets{
			Tags:           facetValues(r.Facets.Tags),
			EmploymentType: facetValues(r.Facets.EmploymentType),
			Seniority:      facetValues(r.Facets.Seniority),
			Regions:        facetValues(r.Facets.Regions),
		},
	}
	for i, it := range r.Items {
		out.Items[i] = api.JobSummary{
			ID: it.ID, Title: it.Title, Company: companyRef(it.Company), Location: location(it.Location),
			Salary: salary(it.Salary), Tags: nonNil(it.Tags), EmploymentType: it.EmploymentType,
			Seniority: it.Seniority, Featured: it.Featured, PublishedAt: it.PublishedAt, ExpiresAt: it.ExpiresAt,
		}
	}
	return out, nil
}

func (q queryPort) Job(ctx context.Context, id string) (api.JobView, error) {
	j, err := q.store.GetJob(ctx, id)
	if err != nil {
		return api.JobView{}, err
	}
	return jobView(j), nil
}

func (q queryPort) Company(ctx context.Context, id string) (api.CompanyView, error) {
	c, err := q.store.GetCompany(ctx, id)
	if err != nil {
		return api.CompanyView{}, err
	}
	return api.CompanyView{ID: c.ID, Name: c.Name, Website: c.Website, Description: c.Description, OpenJobs: c.OpenJobs}, nil
}

func (q queryPort) CompanyJobs(ctx context.Context, companyID string, p api.ListParams) (api.Page[api.JobView], error) {
	page, err := q.store.CompanyJobs(ctx, companyID, listParams(p))
	if err != nil {
		return api.Page[api.JobView]{}, err
	}
	return mapPage(page, jobView), nil
}

func (q queryPort) JobApplications(ctx context.Context, jobID string, p api.ListParams) (api.Page[api.JobApplicationView], error) {
	page, err := q.store.JobApplications(ctx, jobID, listParams(p))
	if err != nil {
		return api.Page[api.JobApplicationView]{}, err
	}
	return mapPage(page, func(a readmodels.JobApplication) api.JobApplicationView {
		return api.JobApplicationView{
			ID:          a.ID,
			Candidate:   api.CandidateRef{ID: a.Candidate.ID, Name: a.Candidate.Name, Email: a.Candidate.Email},
			Status:      a.Status,
			SubmittedAt: a.SubmittedAt,
			ResumeURL:   a.ResumeURL,
			CoverLetter: a.CoverLetter,
		}
	}), nil
}

func (q queryPort) CandidateApplications(ctx context.Context, candidateID string, p api.ListParams) (api.Page[api.CandidateApplicationView], error) {
	page, err := q.store.CandidateApplications(ctx, candidateID, listParams(p))
	if err != nil {
		return api.Page[api.CandidateApplicationView]{}, err
	}
	return mapPage(page, func(a readmodels.CandidateApplication) api.CandidateApplicationView {
		return api.CandidateApplicationView{
			ID:          a.ID,
			Job:         api.ApplicationJobRef{ID: a.Job.ID, Title: a.Job.Title, Company: companyRef(a.Job.Company)},
			Status:      a.Status,
			SubmittedAt: a.SubmittedAt,
		}
	}), nil
}

func listParams(p api.ListParams) readmodels.ListParams {
	return readmodels.ListParams{Status: p.Status, Limit: p.Limit, Cursor: p.Cursor}
}

func mapPage[T, U any](p readmodels.Page[T], f func(T) U) api.Page[U] {
	out := api.Page[U]{Items: make([]U, len(p.Items)), NextCursor: p.NextCursor}
	for i, it := range p.Items {
		out.Items[i] = f(it)
	}
	return out
}

func jobView(j readmodels.Job) api.JobView {
	return api.JobView{
		ID: j.ID, Company: companyRef(j.Company), Status: j.Status, Title: j.Title, Description: j.Description,
		EmploymentType: j.EmploymentType, Seniority: j.Seniority, Location: location(j.Location),
		Salary: salary(j.Salary), Tags: nonNil(j.Tags), ApplyURL: j.ApplyURL, Featured: j.Featured,
		PostedAt: j.PostedAt, PublishedAt: j.PublishedAt, ExpiresAt: j.ExpiresAt, ClosedAt: j.ClosedAt,
		ExpiredAt: j.ExpiredAt, UpdatedAt: j.UpdatedAt, Plan: j.Plan, PaymentStatus: j.PaymentStatus,
		Payments: jobPayments(j.Payments), Version: j.Version,
	}
}

// jobPayments maps the read model's payments (nil stays nil: a list leaves them out); a
// payment the domain calls "requested" is one that requires payment.
func jobPayments(ps []readmodels.JobPayment) []api.JobPaymentView {
	if ps == nil {
		return nil
	}
	out := make([]api.JobPaymentView, len(ps))
	for i, p := range ps {
		status := p.Status
		if status == domain.PaymentStatusRequested.String() {
			status = commands.PaymentStatusRequiresPayment
		}
		out[i] = api.JobPaymentView{PaymentID: p.PaymentID, Plan: p.Plan, Amount: p.Amount, Currency: p.Currency, Status: status}
	}
	return out
}

func companyRef(c readmodels.CompanyRef) api.CompanyRef {
	return api.CompanyRef{ID: c.ID, Name: c.Name}
}

func location(l readmodels.Location) api.Location {
	out := api.Location{Remote: l.Remote, Regions: nonNil(l.Regions), Countries: nonNil(l.Countries)}
	if l.Timezones != nil {
		out.Timezones = &api.Timezones{MinUTCOffset: l.Timezones.MinUTCOffset, MaxUTCOffset: l.Timezones.MaxUTCOffset}
	}
	return out
}

func salary(s *readmodels.Salary) *api.Salary {
	if s == nil {
		return nil
	}
	return &api.Salary{Min: s.Min, Max: s.Max, Currency: s.Currency, Period: s.Period}
}

func facetValues(fs []readmodels.FacetValue) []api.FacetValue {
	out := make([]api.FacetValue, len(fs))
	for i, f := range fs {
		out[i] = api.FacetValue{Value: f.Value, Count: f.Count}
	}
	return out
}

// nonNil makes absent lists encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// wireQueries builds the read side the query routes answer from — a readmodels.Store over
// the live projection versions, reading the search alias of this deployment — into cfg.
// The store shares the pool and the Elasticsearch client; its one goroutine listens, on a
// connection of its own, for the projectors' notifications that wake consistency waits.
func (m *Main) wireQueries(ctx context.Context, cfg *api.ServerConfig) error {
	store, err := readmodels.NewStore(m.pool, m.es, readmodels.StoreConfig{
		SearchAlias:      m.cfg.SearchAlias(),
		SearchTimeout:    m.cfg.SearchTimeout,
		WaitPollInterval: m.cfg.ConsistencyPollInterval,
		MaxWaiters:       m.cfg.ConsistencyMaxWaiters,
		ReadPool:         m.readPool,
		Logger:           m.log,
	})
	if err != nil {
		return err
	}
	m.workers.start(ctx, "consistency-listener", store.ListenApplied)
	cfg.Queries = queryPort{store: store}
	cfg.ConsistencyTimeout = m.cfg.ConsistencyTimeout
	cfg.SigningKey = []byte(m.cfg.SigningKey)
	cfg.SearchRateLimit = m.cfg.SearchRateLimit
	cfg.TrustForwardedFor = m.cfg.TrustForwardedFor
	return nil
}
