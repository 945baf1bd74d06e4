package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/internal/consistency"
)

// Query parameter limits.
const (
	// DefaultConsistencyTimeout bounds the wait for X-Consistency-Token (API.md: 5 s).
	DefaultConsistencyTimeout = 5 * time.Second
	// MaxPageLimit is the largest limit of a search or list.
	MaxPageLimit = 100
	// maxQueryLen bounds q, in characters.
	maxQueryLen = 500
	// maxConsistencyTokens bounds the X-Consistency-Token values of one request.
	maxConsistencyTokens = 32
)

// consistencyTokenHeader carries the tokens of the client's earlier commands.
const consistencyTokenHeader = "X-Consistency-Token"

// registerQueryRoutes: the read side. Public routes identify a caller who sends a token (an
// owner sees more) and answer anonymous callers too; the others require a token.
func (s *Server) registerQueryRoutes(v1 *mux.Router) {
	public := group(v1, s.identify)
	public.HandleFunc("/jobs", s.handleSearchJobs).Methods(http.MethodGet)
	public.HandleFunc("/jobs/{id}", s.handleGetJob).Methods(http.MethodGet)
	public.HandleFunc("/companies/{id}", s.handleGetCompany).Methods(http.MethodGet)
	public.HandleFunc("/companies/{id}/jobs", s.handleCompanyJobs).Methods(http.MethodGet)
	private := group(v1, s.authenticate)
	private.HandleFunc("/jobs/{id}/applications", s.handleJobApplications).Methods(http.MethodGet)
	private.HandleFunc("/candidates/me/applications", s.handleCandidateApplications).Methods(http.MethodGet)
}

// identify authenticates the caller when an Authorization header is sent (a wrong one is
// still 401) and lets anonymous callers through.
func (s *Server) identify(next http.Handler) http.Handler {
	auth := s.authenticate(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			next.ServeHTTP(w, r)
			return
		}
		auth.ServeHTTP(w, r)
	})
}

// queryReader reads URL query parameters, collecting every problem so one 400 names them
// all. Empty values count as absent; a parameter given twice is refused (except tags).
type queryReader struct {
	v      url.Values
	fields []apperr.FieldError
}

func newQueryReader(r *http.Request) *queryReader { return &queryReader{v: r.URL.Query()} }

func (q *queryReader) bad(field, format string, args ...any) {
	q.fields = append(q.fields, apperr.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (q *queryReader) one(name string) string {
	vals := q.v[name]
	switch len(vals) {
	case 0:
		return ""
	case 1:
		return strings.TrimSpace(vals[0])
	default:
		q.bad(name, "must be given at most once")
		return ""
	}
}

func (q *queryReader) text(name string, maxLen int) string {
	s := q.one(name)
	switch {
	case !utf8.ValidString(s):
		q.bad(name, "must be valid UTF-8")
		return ""
	case utf8.RuneCountInString(s) > maxLen:
		q.bad(name, "must be at most %d characters", maxLen)
		return ""
	}
	return s
}

func (q *queryReader) limit() int {
	s := q.one("limit")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPageLimit {
		q.bad("limit", "must be an integer from 1 to %d", MaxPageLimit)
		return 0
	}
	return n
}

func (q *queryReader) enum(name string, parse func(string) error) string {
	s := q.one(name)
	if s == "" {
		return ""
	}
	if err := parse(s); err != nil {
		q.bad(name, "%v", err)
		return ""
	}
	return s
}

func (q *queryReader) err() error {
	if len(q.fields) == 0 {
		return nil
	}
	return apperr.InvalidFields(q.fields...)
}

// searchParams reads the filters of GET /v1/jobs.
func (q *queryReader) searchParams() SearchJobsParams {
	p := SearchJobsParams{
		Q:      q.text("q", maxQueryLen),
		Region: q.text("region", domain.RegionMaxLen),
		Cursor: q.one("cursor"),
		Limit:  q.limit(),
	}
	for _, raw := range q.v["tags"] {
		for _, t := range strings.Split(raw, ",") {
			t = strings.ToLower(strings.TrimSpace(t))
			switch {
			case t == "":
			case !utf8.ValidString(t) || utf8.RuneCountInString(t) > domain.TagMaxLen:
				q.bad("tags", "each tag must be valid text of at most %d characters", domain.TagMaxLen)
			default:
				p.Tags = append(p.Tags, t)
			}
		}
	}
	if len(p.Tags) > domain.MaxTags {
		q.bad("tags", "must name at most %d tags", domain.MaxTags)
	}
	switch s := q.one("remote"); s {
	case "":
	case "true", "false":
		b := s == "true"
		p.Remote = &b
	default:
		q.bad("remote", "must be true or false")
	}
	if c := strings.ToUpper(q.one("country")); c != "" {
		if len(c) != 2 || !domain.IsCountryCode(c) {
			q.bad("country", "must be an ISO 3166-1 alpha-2 country code")
		} else {
			p.Country = c
		}
	}
	p.EmploymentType = q.enum("employment_type", func(s string) error { _, err := domain.ParseEmploymentType(s); return err })
	p.Seniority = q.enum("seniority", func(s string) error { _, err := domain.ParseSeniority(s); return err })
	if s := q.one("salary_min"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			q.bad("salary_min", "must be a non-negative integer (yearly, in minor units)")
		} else {
			p.SalaryMin = n
		}
	}
	if c := strings.ToUpper(q.one("currency")); c != "" {
		if _, err := domain.ParseCurrency(c); err != nil {
			q.bad("currency", "%v", err)
		} else {
			p.Currency = c
		}
	}
	if s := q.one("company_id"); s != "" {
		if id, ok := parseUUID(s); !ok {
			q.bad("company_id", "must be a UUID")
		} else {
			p.CompanyID = id
		}
	}
	switch s := q.one("sort"); s {
	case "", "relevance", "newest", "salary":
		p.Sort = s
	default:
		q.bad("sort", "must be relevance, newest or salary")
	}
	return p
}

// listParams reads status, limit and cursor of a list; parseStatus validates the status.
func (q *queryReader) listParams(parseStatus func(string) error) ListParams {
	return ListParams{
		Status: q.enum("status", parseStatus),
		Limit:  q.limit(),
		Cursor: q.one("cursor"),
	}
}

func parseJobStatus(s string) error {
	_, err := domain.ParseJobStatus(s)
	return err
}

func parseApplicationStatus(s string) error {
	_, err := domain.ParseApplicationStatus(s)
	return err
}

// consistencyPositions reads every X-Consistency-Token (repeated headers, comma-separated
// values) into the positions a query must wait for. A malformed token is a 400 naming the
// header.
func consistencyPositions(r *http.Request) ([]consistency.Position, []apperr.FieldError) {
	var tokens []string
	for _, h := range r.Header.Values(consistencyTokenHeader) {
		for _, t := range strings.Split(h, ",") {
			if t = strings.TrimSpace(t); t != "" {
				tokens = append(tokens, t)
			}
		}
	}
	if len(tokens) > maxConsistencyTokens {
		return nil, []apperr.FieldError{{Field: consistencyTokenHeader, Message: fmt.Sprintf("at most %d tokens per request", maxConsistencyTokens)}}
	}
	out, err := consistency.ParseAll(tokens...)
	if err != nil {
		return nil, []apperr.FieldError{{Field: consistencyTokenHeader, Message: "is not a consistency token of this API (send the consistency_token of a command's answer)"}}
	}
	return out, nil
}

// prepareQuery checks the query's parameters (already read into q) and its consistency
// tokens, reporting every bad one in one 400, then waits until rm has applied the tokens'
// positions (bounded by ConsistencyTimeout: 504 after that).
func (s *Server) prepareQuery(r *http.Request, q *queryReader, rm ReadModel) error {
	positions, bad := consistencyPositions(r)
	q.fields = append(q.fields, bad...)
	if err := q.err(); err != nil {
		return err
	}
	if len(positions) == 0 {
		return nil
	}
	return s.cfg.Queries.WaitFor(r.Context(), rm, s.cfg.ConsistencyTimeout, positions)
}

// writeQueryAnswer writes a query's answer. Answers depend on the caller and on how far the
// projections are, so they are not cached.
func writeQueryAnswer(w http.ResponseWriter, body any) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) handleSearchJobs(w http.ResponseWriter, r *http.Request) {
	q := newQueryReader(r)
	p := q.searchParams()
	if err := s.prepareQuery(r, q, ReadModelSearch); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.cfg.Queries.SearchJobs(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeQueryAnswer(w, res)
}

// ownsJob: an employer's own job.
func ownsJob(p Principal, companyID string) bool {
	return p.Role == RoleEmployer && p.ID != "" && p.ID == companyID
}

// publicJob hides what only the owner may see.
func publicJob(j JobView) JobView {
	j.Plan, j.PaymentStatus, j.Payments = "", "", nil
	return j
}

func jobNotFound(id string) error { return apperr.New(apperr.NotFound, "job %s not found", id) }

func (s *Server) handleGetJob(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.prepareQuery(r, newQueryReader(r), ReadModelTables); err != nil {
		s.writeError(w, r, err)
		return
	}
	job, err := s.cfg.Queries.Job(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if ownsJob(principalFrom(r.Context()), job.Company.ID) {
		w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(job.Version, 10)))
		writeQueryAnswer(w, job)
		return
	}
	if job.Status != "published" {
		// Unpaid, closed and expired jobs are private to their owner: do not reveal them.
		s.writeError(w, r, jobNotFound(id))
		return
	}
	writeQueryAnswer(w, publicJob(job))
}

func (s *Server) handleGetCompany(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.prepareQuery(r, newQueryReader(r), ReadModelTables); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.cfg.Queries.Company(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeQueryAnswer(w, c)
}

func (s *Server) handleCompanyJobs(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := newQueryReader(r)
	lp := q.listParams(parseJobStatus)
	if err := s.prepareQuery(r, q, ReadModelTables); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.cfg.Queries.Company(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	owner := ownsJob(principalFrom(r.Context()), id)
	if !owner {
		if lp.Status != "" && lp.Status != "published" {
			// Others see published jobs only: a filter on another status finds nothing.
			writeQueryAnswer(w, Page[JobView]{Items: []JobView{}})
			return
		}
		lp.Status = "published"
	}
	page, err := s.cfg.Queries.CompanyJobs(r.Context(), id, lp)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !owner {
		for i := range page.Items {
			page.Items[i] = publicJob(page.Items[i])
		}
	}
	writeQueryAnswer(w, page)
}

func (s *Server) handleJobApplications(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := newQueryReader(r)
	lp := q.listParams(parseApplicationStatus)
	if err := s.prepareQuery(r, q, ReadModelTables); err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principalFrom(r.Context())
	if p.Role != RoleEmployer {
		// The applications are private to the job's owner: nobody else learns the job exists.
		s.writeError(w, r, jobNotFound(id))
		return
	}
	job, err := s.cfg.Queries.Job(r.Context(), id)
	if apperr.CodeOf(err) == apperr.NotFound || (err == nil && !ownsJob(p, job.Company.ID)) {
		s.writeError(w, r, jobNotFound(id))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.cfg.Queries.JobApplications(r.Context(), id, lp)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeQueryAnswer(w, page)
}

func (s *Server) handleCandidateApplications(w http.ResponseWriter, r *http.Request) {
	p, err := requireRole(r.Context(), RoleCandidate)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := newQueryReader(r)
	lp := q.listParams(parseApplicationStatus)
	if err := s.prepareQuery(r, q, ReadModelTables); err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.cfg.Queries.CandidateApplications(r.Context(), p.ID, lp)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeQueryAnswer(w, page)
}
