package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/internal/consistency"
	"github.com/jobboard/jobboard/readmodels"
)

// Query parameter limits.
const (
	// DefaultConsistencyTimeout bounds the wait for X-Consistency-Token (API.md: 5 s).
	DefaultConsistencyTimeout = 5 * time.Second
	// MaxPageLimit is the largest limit of a search or list.
	MaxPageLimit = 100
	// maxQueryLen and maxQueryWords bound q (API.md), and with them the work of one
	// typo-tolerant search: every word is expanded to its near spellings.
	maxQueryLen   = 256
	maxQueryWords = 16
	// maxConsistencyTokens bounds the X-Consistency-Token values of one request.
	maxConsistencyTokens = 32
	// maxConsistencyPositions bounds the streams the tokens of one request name in all
	// (each token names at most consistency.MaxPositions).
	maxConsistencyPositions = 64
)

// consistencyTokenHeader carries the tokens of the client's earlier commands.
const consistencyTokenHeader = "X-Consistency-Token"

// registerQueryRoutes: the read side. Public routes identify a caller who sends a token (an
// owner sees more) and answer anonymous callers too; the others require a token.
func (s *Server) registerQueryRoutes(v1 *mux.Router) {
	search := group(v1, s.rateLimited(s.searchLimiter), s.identify)
	search.HandleFunc("/jobs", s.handleSearchJobs).Methods(http.MethodGet)
	public := group(v1, s.identify)
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

// newQueryReader parses r's query string; what does not parse (bad percent-encoding) is
// already a problem, naming the parameter when it can be told.
func newQueryReader(r *http.Request) *queryReader {
	v, bad := parseQuery(r.URL.RawQuery)
	return &queryReader{v: v, fields: bad}
}

// parseQuery parses a raw query string like url.ParseQuery, which skips what it cannot
// decode; here that is an error naming each parameter whose value does not decode, or
// "query" when not even the name does (or a ';' separator is used).
func parseQuery(raw string) (url.Values, []apperr.FieldError) {
	v, err := url.ParseQuery(raw)
	if err == nil {
		return v, nil
	}
	var bad []apperr.FieldError
	named := map[string]bool{}
	for _, pair := range strings.Split(raw, "&") {
		k, val, _ := strings.Cut(pair, "=")
		name, kerr := url.QueryUnescape(k)
		_, verr := url.QueryUnescape(val)
		var field string
		switch {
		case kerr != nil || strings.Contains(pair, ";"):
			field = "query"
		case verr != nil:
			field = name
		default:
			continue
		}
		if !named[field] {
			named[field] = true
			bad = append(bad, apperr.FieldError{Field: field, Message: "is not a valid URL query parameter (bad percent-encoding)"})
		}
	}
	if len(bad) == 0 {
		bad = append(bad, apperr.FieldError{Field: "query", Message: "the query string does not parse: " + err.Error()})
	}
	return v, bad
}

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
func (q *queryReader) searchParams() readmodels.SearchParams {
	p := readmodels.SearchParams{
		Q:      q.text("q", maxQueryLen),
		Region: q.text("region", domain.RegionMaxLen),
		Limit:  q.limit(),
	}
	if len(strings.Fields(p.Q)) > maxQueryWords {
		q.bad("q", "must have at most %d words", maxQueryWords)
		p.Q = ""
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

// searchScope is the query a search cursor continues: every filter and the sort.
func searchScope(p readmodels.SearchParams) cursorScope {
	p.Cursor, p.Limit = "", 0
	filters, _ := json.Marshal(p)
	return cursorScope{"jobs", string(filters)}
}

// listParams reads status, limit and cursor of the list named list of owner;
// parseStatus validates the status. The cursor is bound to list, owner and status.
func (s *Server) listParams(q *queryReader, list, owner string, parseStatus func(string) error) (readmodels.ListParams, cursorScope) {
	lp := readmodels.ListParams{Status: q.enum("status", parseStatus), Limit: q.limit()}
	scope := cursorScope{list, owner, lp.Status}
	lp.Cursor = s.cursor(q, scope)
	return lp, scope
}

func parseJobStatus(s string) error {
	_, err := domain.ParseJobStatus(s)
	return err
}

func parseApplicationStatus(s string) error {
	_, err := domain.ParseApplicationStatus(s)
	return err
}

// consistencyToken signs the token of a command that left its stream at a version: the
// stream type goes in, so a query whose projection never consumes it does not wait.
func (s *Server) consistencyToken(r commands.Result) string {
	return s.tokens.Token(application.Written(r))
}

// consistencyPositions reads and verifies every X-Consistency-Token (repeated headers,
// comma-separated values) into the positions a query must wait for. A token the server did
// not sign with its key (tampered, foreign, malformed), too many tokens or too many
// positions in all is a 400 naming the header: a request can only wait on what the server
// handed out, in bounded amount.
func (s *Server) consistencyPositions(r *http.Request) ([]consistency.Position, []apperr.FieldError) {
	bad := func(format string, args ...any) []apperr.FieldError {
		return []apperr.FieldError{{Field: consistencyTokenHeader, Message: fmt.Sprintf(format, args...)}}
	}
	var tokens []string
	for _, h := range r.Header.Values(consistencyTokenHeader) {
		for _, t := range strings.Split(h, ",") {
			if t = strings.TrimSpace(t); t != "" {
				tokens = append(tokens, t)
			}
		}
	}
	if len(tokens) > maxConsistencyTokens {
		return nil, bad("at most %d tokens per request", maxConsistencyTokens)
	}
	out, err := s.tokens.ParseAll(tokens...)
	if err != nil {
		return nil, bad("is not a consistency token of this API (send the consistency_token of a command's answer)")
	}
	if len(out) > maxConsistencyPositions {
		return nil, bad("the tokens of one request may name at most %d streams", maxConsistencyPositions)
	}
	return out, nil
}

// prepareQuery checks the query's parameters (already read into q) and its consistency
// tokens, reporting every bad one in one 400, and returns the positions to wait for. It
// does not wait: the route first decides what it can decide at once (authorization,
// existence), then calls await.
func (s *Server) prepareQuery(r *http.Request, q *queryReader) ([]consistency.Position, error) {
	positions, bad := s.consistencyPositions(r)
	q.fields = append(q.fields, bad...)
	if err := q.err(); err != nil {
		return nil, err
	}
	return positions, nil
}

// await waits until rm has applied positions (bounded by ConsistencyTimeout: 504 after
// that; 503 with Retry-After when too many requests wait already).
func (s *Server) await(r *http.Request, rm application.ReadModel, positions []consistency.Position) error {
	if len(positions) == 0 {
		return nil
	}
	_, err := s.app.Queries.WaitFor.Handle(r.Context(), application.WaitFor{ReadModel: rm, Timeout: s.cfg.ConsistencyTimeout, Positions: positions})
	return err
}

// namesStream reports whether a position names streamID beyond version (the version the
// projection shows; 0 when it has not seen the stream).
func namesStream(positions []consistency.Position, streamID string, version int64) bool {
	for _, p := range positions {
		if p.StreamID == streamID && p.Version > version {
			return true
		}
	}
	return false
}

// loadAfterWait reads the resource of streamID so that existence and authorization are
// decided before any wait. load reads it from the projection (a NotFound error when the
// projection has not seen it) with the version it shows; decide answers the error the
// caller gets (nil: allowed) and whether that could change with a later version of the
// stream (a publication makes a job public; ownership never changes).
//
//   - Not projected: only a verified token naming streamID proves the stream exists (the
//     server signed it for the command that wrote it), so only then does the request wait
//     and load again; otherwise the NotFound answers at once.
//   - Projected and refused: the refusal answers at once, unless it may change and a token
//     names the stream beyond the projected version.
//
// Without positions nothing waits and the resource is loaded once.
func loadAfterWait[T any](s *Server, r *http.Request, rm application.ReadModel, positions []consistency.Position, streamID string,
	load func() (T, int64, error), decide func(T) (mayChange bool, err error)) (T, error) {
	var zero T
	v, version, err := load()
	switch {
	case apperr.CodeOf(err) == apperr.NotFound && !namesStream(positions, streamID, 0):
		return zero, err
	case err != nil && apperr.CodeOf(err) != apperr.NotFound:
		return zero, err
	case err == nil:
		if mayChange, refused := decide(v); refused != nil && (!mayChange || !namesStream(positions, streamID, version)) {
			return zero, refused
		}
		if len(positions) == 0 {
			return v, nil
		}
	}
	if err := s.await(r, rm, positions); err != nil {
		return zero, err
	}
	if v, _, err = load(); err != nil {
		return zero, err
	}
	if _, refused := decide(v); refused != nil {
		return zero, refused
	}
	return v, nil
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
	scope := searchScope(p)
	p.Cursor = s.cursor(q, scope)
	positions, err := s.prepareQuery(r, q)
	if err == nil {
		err = s.await(r, application.ReadModelSearch, positions)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Read-your-writes covers the facets too: they are counted afresh, not reused.
	p.FreshFacets = len(positions) > 0
	res, err := s.app.Queries.SearchJobs.Handle(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res.NextCursor = s.sealCursor(scope, res.NextCursor)
	writeQueryAnswer(w, res)
}

// ownsJob: an employer's own job.
func ownsJob(p Principal, companyID string) bool {
	return p.Role == RoleEmployer && p.ID != "" && p.ID == companyID
}

// publicJob hides what only the owner may see.
func publicJob(j readmodels.Job) readmodels.Job {
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
	positions, err := s.prepareQuery(r, newQueryReader(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	owner := false
	job, err := loadAfterWait(s, r, application.ReadModelTables, positions, id, s.loadJob(r, id), func(j readmodels.Job) (bool, error) {
		owner = ownsJob(principalFrom(r.Context()), j.Company.ID)
		if !owner && j.Status != "published" {
			// Unpaid, closed and expired jobs are private to their owner: do not reveal
			// them. A later version may publish the job.
			return true, jobNotFound(id)
		}
		return false, nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if owner {
		w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(job.Version, 10)))
		writeQueryAnswer(w, job)
		return
	}
	writeQueryAnswer(w, publicJob(job))
}

// loadJob reads a job for loadAfterWait.
func (s *Server) loadJob(r *http.Request, id string) func() (readmodels.Job, int64, error) {
	return func() (readmodels.Job, int64, error) {
		j, err := s.app.Queries.Job.Handle(r.Context(), application.GetJob{ID: id})
		return j, j.Version, err
	}
}

// loadCompany reads a company for loadAfterWait. The view carries no version: a company's
// existence is all the routes decide on.
func (s *Server) loadCompany(r *http.Request, id string) func() (readmodels.Company, int64, error) {
	return func() (readmodels.Company, int64, error) {
		c, err := s.app.Queries.Company.Handle(r.Context(), application.GetCompany{ID: id})
		return c, 0, err
	}
}

// anyone lets every caller see a resource.
func anyone[T any](T) (bool, error) { return false, nil }

func (s *Server) handleGetCompany(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	positions, err := s.prepareQuery(r, newQueryReader(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := loadAfterWait(s, r, application.ReadModelTables, positions, id, s.loadCompany(r, id), anyone[readmodels.Company])
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
	lp, scope := s.listParams(q, "company-jobs", id, parseJobStatus)
	positions, err := s.prepareQuery(r, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := loadAfterWait(s, r, application.ReadModelTables, positions, id, s.loadCompany(r, id), anyone[readmodels.Company]); err != nil {
		s.writeError(w, r, err)
		return
	}
	owner := ownsJob(principalFrom(r.Context()), id)
	if !owner {
		if lp.Status != "" && lp.Status != "published" {
			// Others see published jobs only: a filter on another status finds nothing.
			writeQueryAnswer(w, readmodels.Page[readmodels.Job]{Items: []readmodels.Job{}})
			return
		}
		lp.Status = "published"
	}
	page, err := s.app.Queries.CompanyJobs.Handle(r.Context(), application.ListCompanyJobs{CompanyID: id, Page: lp})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page.NextCursor = s.sealCursor(scope, page.NextCursor)
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
	lp, scope := s.listParams(q, "job-applications", id, parseApplicationStatus)
	positions, err := s.prepareQuery(r, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principalFrom(r.Context())
	if p.Role != RoleEmployer {
		// The applications are private to the job's owner: nobody else learns the job exists.
		s.writeError(w, r, jobNotFound(id))
		return
	}
	_, err = loadAfterWait(s, r, application.ReadModelTables, positions, id, s.loadJob(r, id), func(j readmodels.Job) (bool, error) {
		if !ownsJob(p, j.Company.ID) {
			return false, jobNotFound(id)
		}
		return false, nil
	})
	if apperr.CodeOf(err) == apperr.NotFound {
		err = jobNotFound(id) // the same answer for a missing job and another company's
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.app.Queries.JobApplications.Handle(r.Context(), application.ListJobApplications{JobID: id, Page: lp})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page.NextCursor = s.sealCursor(scope, page.NextCursor)
	writeQueryAnswer(w, page)
}

func (s *Server) handleCandidateApplications(w http.ResponseWriter, r *http.Request) {
	p, err := requireRole(r.Context(), RoleCandidate)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := newQueryReader(r)
	lp, scope := s.listParams(q, "candidate-applications", p.ID, parseApplicationStatus)
	positions, err := s.prepareQuery(r, q)
	if err == nil {
		err = s.await(r, application.ReadModelTables, positions)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.app.Queries.CandidateApplications.Handle(r.Context(), application.ListCandidateApplications{CandidateID: p.ID, Page: lp})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page.NextCursor = s.sealCursor(scope, page.NextCursor)
	writeQueryAnswer(w, page)
}
