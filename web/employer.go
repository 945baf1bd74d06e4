package web

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/readmodels"
)

// TestPayments pays a listing in test mode (DEV_MODE only): it confirms the payment's
// PaymentIntent at stripe-mock and delivers the signed payment_intent.succeeded webhook to
// the API, which publishes the job as it would for Stripe. In production the payment page
// would mount Stripe's Payment Element with the PaymentIntent's client secret instead
// (docs/adr); this front door has no such page yet.
type TestPayments interface {
	// Pay returns the consistency token the webhook's answer carries (the job's stream after
	// the payment), so the next page shows the job published.
	Pay(ctx context.Context, p TestPayment) (consistencyToken string, err error)
}

// TestPayment is the open payment of a listing as PayForListing answered it.
type TestPayment struct {
	JobID, PaymentID, PaymentIntentID string
	Amount                            int64
	Currency                          string
}

func (s *Server) registerEmployerRoutes() {
	s.router.HandleFunc("/employer", s.handleDashboard).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc("/employer/jobs/new", s.handleNewJobForm).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc("/employer/jobs", s.handlePostJob).Methods(http.MethodPost)
	s.router.HandleFunc("/employer/jobs/{id}", s.handleEmployerJob).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc("/employer/jobs/{id}/edit", s.handleEditJobForm).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc("/employer/jobs/{id}/edit", s.handleEditJob).Methods(http.MethodPost)
	s.router.HandleFunc("/employer/jobs/{id}/close", s.handleCloseJob).Methods(http.MethodPost)
	s.router.HandleFunc("/employer/jobs/{id}/pay", s.handlePay).Methods(http.MethodPost)
	s.router.HandleFunc("/employer/jobs/{id}/testpay", s.handleTestPay).Methods(http.MethodPost)
	s.router.HandleFunc("/employer/jobs/{id}/applicants", s.handleApplicants).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc("/employer/applications/{id}/status", s.handleMoveApplicant).Methods(http.MethodPost)
}

// jobForm is the job form as typed: every field of the contract, named like its JSON path
// (location.regions, salary.min) so that the application's field errors land next to
// their inputs.
type jobForm struct {
	Title, Description, EmploymentType, Seniority string
	Remote                                        bool
	Regions, Countries                            string
	TZMin, TZMax                                  string
	SalaryMin, SalaryMax, Currency, Period        string
	Tags, ApplyURL                                string
	// Version is the job's version the edit was made on (If-Match).
	Version string
}

func readJobForm(r *http.Request) jobForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return jobForm{Title: v("title"), Description: r.PostFormValue("description"), EmploymentType: v("employment_type"), Seniority: v("seniority"),
		Remote: r.PostFormValue("location.remote") == "true", Regions: v("location.regions"), Countries: v("location.countries"),
		TZMin: v("location.timezones.min_utc_offset"), TZMax: v("location.timezones.max_utc_offset"),
		SalaryMin: v("salary.min"), SalaryMax: v("salary.max"), Currency: strings.ToUpper(v("salary.currency")), Period: v("salary.period"),
		Tags: v("tags"), ApplyURL: v("apply_url"), Version: v("version")}
}

func formOf(j readmodels.Job) jobForm {
	f := jobForm{Title: j.Title, Description: j.Description, EmploymentType: j.EmploymentType, Seniority: j.Seniority,
		Remote: j.Location.Remote, Regions: strings.Join(j.Location.Regions, ", "), Countries: strings.Join(j.Location.Countries, ", "),
		Tags: strings.Join(j.Tags, ", "), ApplyURL: j.ApplyURL, Version: strconv.FormatInt(j.Version, 10)}
	if tz := j.Location.Timezones; tz != nil {
		f.TZMin, f.TZMax = strconv.FormatFloat(tz.MinUTCOffset, 'f', -1, 64), strconv.FormatFloat(tz.MaxUTCOffset, 'f', -1, 64)
	}
	if s := j.Salary; s != nil {
		f.SalaryMin, f.SalaryMax, f.Currency, f.Period = strconv.FormatInt(s.Min, 10), strconv.FormatInt(s.Max, 10), s.Currency, s.Period
	}
	return f
}

func list(s string) []string {
	out := []string{}
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// input turns the form into the command's details; numbers that do not parse are field
// errors of their own (the domain validates the rest).
func (f jobForm) input() (domain.JobDetailsInput, map[string]string) {
	bad := map[string]string{}
	in := domain.JobDetailsInput{Title: f.Title, Description: f.Description, EmploymentType: f.EmploymentType, Seniority: f.Seniority,
		Location: domain.LocationInput{Remote: f.Remote, Regions: list(f.Regions), Countries: list(strings.ToUpper(f.Countries))},
		Tags:     list(f.Tags), ApplyURL: f.ApplyURL}
	if f.TZMin != "" || f.TZMax != "" {
		lo, err1 := strconv.ParseFloat(f.TZMin, 64)
		hi, err2 := strconv.ParseFloat(f.TZMax, 64)
		if err1 != nil {
			bad["location.timezones.min_utc_offset"] = "must be a number of hours, such as -5 or 5.5"
		}
		if err2 != nil {
			bad["location.timezones.max_utc_offset"] = "must be a number of hours, such as -5 or 5.5"
		}
		in.Location.Timezones = &domain.TimezonesInput{MinUTCOffset: lo, MaxUTCOffset: hi}
	}
	if f.SalaryMin != "" || f.SalaryMax != "" || f.Currency != "" {
		lo, err1 := strconv.ParseInt(f.SalaryMin, 10, 64)
		hi, err2 := strconv.ParseInt(f.SalaryMax, 10, 64)
		if err1 != nil {
			bad["salary.min"] = "must be a whole number of cents (minor units)"
		}
		if err2 != nil {
			bad["salary.max"] = "must be a whole number of cents (minor units)"
		}
		in.Salary = &domain.SalaryInput{Min: lo, Max: hi, Currency: f.Currency, Period: f.Period}
	}
	return in, bad
}

// indexSuffix strips a list index from a field path ("tags[3]" → "tags"), so an error
// about one item lands next to the list's input.
var indexSuffix = regexp.MustCompile(`\[\d+\]$`)

func formErrors(err error, parse map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range parse {
		out[k] = v
	}
	for k, v := range fieldErrors(err) {
		k = indexSuffix.ReplaceAllString(k, "")
		if _, dup := out[k]; !dup {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

type jobFormView struct {
	Form    jobForm
	Errors  map[string]string
	JobID   string
	Types   []option
	Levels  []option
	Periods []option
}

var periods = []option{{"year", "a year"}, {"month", "a month"}, {"hour", "an hour"}}

// renderJobForm renders the job form. The empty post-a-job form may be indexed (it is how
// employers find us); a form with someone's input or an edit may not.
func (s *Server) renderJobForm(w http.ResponseWriter, r *http.Request, status int, title string, v jobFormView) {
	v.Types, v.Levels, v.Periods = typeOptions, seniorities, periods
	p := page{Title: title, Description: "Post a job on jobboard: pay per listing, 30 days, featured on top if you like; every field checked as you send it.",
		NoIndex: status != http.StatusOK || v.JobID != "", Data: v}
	if !p.NoIndex {
		p.Canonical = s.absURL(r, "/employer/jobs/new")
	}
	s.render(w, r, status, "jobform.html", p)
}

func (s *Server) handleNewJobForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.requireRole(w, r, commands.RoleEmployer); !ok {
		return
	}
	s.renderJobForm(w, r, http.StatusOK, "Post a job", jobFormView{Form: jobForm{EmploymentType: "full_time", Seniority: "mid", Period: "year"}})
}

func (s *Server) handlePostJob(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.requireRole(w, r, commands.RoleEmployer)
	if !ok {
		return
	}
	form := readJobForm(r)
	in, bad := form.input()
	if len(bad) > 0 {
		s.renderJobForm(w, r, http.StatusUnprocessableEntity, "Post a job", jobFormView{Form: form, Errors: bad})
		return
	}
	res, err := s.app.Commands.PostJob.Handle(r.Context(), commands.PostJob{Caller: sess.caller(r), Details: in})
	if errs := formErrors(err, nil); errs != nil {
		s.renderJobForm(w, r, http.StatusUnprocessableEntity, "Post a job", jobFormView{Form: form, Errors: errs})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.afterWrite(w, r, "/employer/jobs/"+res.ID, "posted", application.Written(res))
}

// ownJob reads the employer's own job named by the route (after the request's writes);
// someone else's job is not found, as in the API.
func (s *Server) ownJob(r *http.Request, sess Session) (readmodels.Job, error) {
	id, ok := parseID(mux.Vars(r)["id"])
	if !ok {
		return readmodels.Job{}, apperr.New(apperr.NotFound, "no such job")
	}
	if err := s.awaitWrites(r, application.ReadModelTables); err != nil {
		return readmodels.Job{}, err
	}
	j, err := s.app.Queries.Job.Handle(r.Context(), application.GetJob{ID: id})
	if err != nil {
		return readmodels.Job{}, err
	}
	if j.Company.ID != sess.ID {
		return readmodels.Job{}, apperr.New(apperr.NotFound, "no such job")
	}
	return j, nil
}

func (s *Server) handleEditJobForm(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.requireRole(w, r, commands.RoleEmployer)
	if !ok {
		return
	}
	j, err := s.ownJob(r, sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderJobForm(w, r, http.StatusOK, "Edit "+j.Title, jobFormView{Form: formOf(j), JobID: j.ID})
}

func (s *Server) handleEditJob(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.requireRole(w, r, commands.RoleEmployer)
	if !ok {
		return
	}
	id, ok := parseID(mux.Vars(r)["id"])
	if !ok {
		s.notFound(w, r)
		return
	}
	form := readJobForm(r)
	in, bad := form.input()
	title := "Edit " + form.Title
	if len(bad) > 0 {
		s.renderJobForm(w, r, http.StatusUnprocessableEntity, title, jobFormView{Form: form, Errors: bad, JobID: id})
		return
	}
	patch := domain.JobDetailsPatch{Title: &in.Title, Description: &in.Description, EmploymentType: &in.EmploymentType, Seniority: &in.Seniority,
		Location: &in.Location, Salary: in.Salary, RemoveSalary: in.Salary == nil, Tags: &in.Tags, ApplyURL: &in.ApplyURL}
	var version *int64
	if v, err := strconv.ParseInt(form.Version, 10, 64); err == nil && v > 0 {
		version = &v
	}
	res, err := s.app.Commands.UpdateJob.Handle(r.Context(), commands.UpdateJob{Caller: sess.caller(r), JobID: id, Patch: patch, ExpectedVersion: version})
	if errs := formErrors(err, nil); errs != nil {
		s.renderJobForm(w, r, http.StatusUnprocessableEntity, title, jobFormView{Form: form, Errors: errs, JobID: id})
		return
	}
	if apperr.CodeOf(err) == apperr.VersionMismatch {
		s.renderError(w, r, http.StatusConflict, "The job changed meanwhile", "Someone changed this job since you opened the form. Open the form again to see the changes, then edit.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.afterWrite(w, r, "/employer/jobs/"+id, "updated", application.Written(res))
}

func (s *Server) handleCloseJob(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.requireRole(w, r, commands.RoleEmployer)
	if !ok {
		return
	}
	id, ok := parseID(mux.Vars(r)["id"])
	if !ok {
		s.notFound(w, r)
		return
	}
	res, err := s.app.Commands.CloseJob.Handle(r.Context(), commands.CloseJob{Caller: sess.caller(r), JobID: id})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.afterWrite(w, r, "/employer/jobs/"+id, "closed", application.Written(res))
}

type employerJobView struct {
	Job          readmodels.Job
	TestPayments bool
	Plans        []option
}

var plans = []option{{"standard", "Standard: 30 days"}, {"featured", "Featured: 30 days, pinned on top"}}

func (s *Server) handleEmployerJob(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.requireRole(w, r, commands.RoleEmployer)
	if !ok {
		return
	}
	j, err := s.ownJob(r, sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "employerjob.html", page{Title: j.Title, NoIndex: true,
		Data: employerJobView{Job: j, TestPayments: s.cfg.TestPayments != nil, Plans: plans}})
}

type paymentView struct {
	Job     readmodels.Job
	Payment commands.PaymentResult
	Plan    string
	Test    bool
}

// handlePay opens (or finds the open) payment of the plan and shows the payment page.
func (s *Server) handlePay(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.requireRole(w, r, commands.RoleEmployer)
	if !ok {
		return
	}
	j, err := s.ownJob(r, sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	plan := r.PostFormValue("plan")
	res, err := s.app.Commands.PayForListing.Handle(r.Context(), commands.PayForListing{Caller: sess.caller(r), JobID: j.ID, Plan: plan})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "payment.html", page{Title: "Pay for " + j.Title, NoIndex: true,
		Data: paymentView{Job: j, Payment: res, Plan: plan, Test: s.cfg.TestPayments != nil}})
}

// handleTestPay pays the open payment of the plan in test mode; the job page shown next
// waits for the webhook's write, so it shows the job published.
func (s *Server) handleTestPay(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.requireRole(w, r, commands.RoleEmployer)
	if !ok {
		return
	}
	if s.cfg.TestPayments == nil {
		s.notFound(w, r)
		return
	}
	id, ok := parseID(mux.Vars(r)["id"])
	if !ok {
		s.notFound(w, r)
		return
	}
	// Asking again for the same plan answers the payment already open (API.md).
	res, err := s.app.Commands.PayForListing.Handle(r.Context(), commands.PayForListing{Caller: sess.caller(r), JobID: id, Plan: r.PostFormValue("plan")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	token, err := s.cfg.TestPayments.Pay(r.Context(), TestPayment{JobID: id, PaymentID: res.PaymentID, PaymentIntentID: res.PaymentIntentID, Amount: res.Amount, Currency: res.Currency})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	redirectAfterWrite(w, r, "/employer/jobs/"+id, "paid", token)
}

type dashboardView struct {
	Jobs     []readmodels.Job
	NextHref string
}

func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.requireRole(w, r, commands.RoleEmployer)
	if !ok {
		return
	}
	if err := s.awaitWrites(r, application.ReadModelTables); err != nil {
		s.fail(w, r, err)
		return
	}
	jobs, err := s.app.Queries.CompanyJobs.Handle(r.Context(), application.ListCompanyJobs{CompanyID: sess.ID,
		Page: readmodels.ListParams{Limit: 50, Cursor: s.openListCursor(r, "employer/jobs", sess.ID)}})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := dashboardView{Jobs: jobs.Items}
	if c := s.sealListCursor("employer/jobs", sess.ID, jobs.NextCursor); c != "" {
		v.NextHref = "/employer?cursor=" + c
	}
	s.render(w, r, http.StatusOK, "dashboard.html", page{Title: "Your jobs", NoIndex: true, Data: v})
}

// pipeline stages, in the order an application moves through them.
var stages = []string{"submitted", "reviewing", "interviewing", "offered", "hired", "rejected", "withdrawn"}

// moves are the statuses an employer can move an application to.
var moves = []option{{"reviewing", "Reviewing"}, {"interviewing", "Interviewing"}, {"offered", "Offered"}, {"hired", "Hired"}, {"rejected", "Rejected"}}

type stage struct {
	Status     string
	Applicants []readmodels.JobApplication
	// Moves are the stages its applicants can be moved to (one step on, or rejected).
	Moves []option
}

type applicantsView struct {
	Job    readmodels.Job
	Stages []stage
	Total  int
	More   bool
}

func (s *Server) handleApplicants(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.requireRole(w, r, commands.RoleEmployer)
	if !ok {
		return
	}
	j, err := s.ownJob(r, sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	apps, err := s.app.Queries.JobApplications.Handle(r.Context(), application.ListJobApplications{JobID: j.ID, Page: readmodels.ListParams{Limit: 100}})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := applicantsView{Job: j, Total: len(apps.Items), More: apps.NextCursor != ""}
	for _, st := range stages {
		g := stage{Status: st}
		from, _ := domain.ParseApplicationStatus(st)
		for _, mv := range moves {
			if to, err := domain.ParseApplicationStatus(mv.Value); err == nil && domain.CanChangeStatus(from, to) {
				g.Moves = append(g.Moves, mv)
			}
		}
		for _, a := range apps.Items {
			if a.Status == st {
				g.Applicants = append(g.Applicants, a)
			}
		}
		v.Stages = append(v.Stages, g)
	}
	s.render(w, r, http.StatusOK, "applicants.html", page{Title: "Applicants for " + j.Title, NoIndex: true, Data: v})
}

func (s *Server) handleMoveApplicant(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.requireRole(w, r, commands.RoleEmployer)
	if !ok {
		return
	}
	id, ok1 := parseID(mux.Vars(r)["id"])
	jobID, ok2 := parseID(r.PostFormValue("job_id"))
	if !ok1 || !ok2 {
		s.notFound(w, r)
		return
	}
	res, err := s.app.Commands.ChangeApplicationStatus.Handle(r.Context(), commands.ChangeApplicationStatus{Caller: sess.caller(r), ApplicationID: id, Status: r.PostFormValue("status")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.afterWrite(w, r, "/employer/jobs/"+jobID+"/applicants", "moved", application.Written(res))
}
