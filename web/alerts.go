package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/readmodels"
)

// Job alerts: a candidate saves the current search (the search page's form carries it in
// hidden fields), lists the alerts and deletes them. The e-mails are the alerting package's.

var frequencies = []option{{"daily", "Daily digest"}, {"weekly", "Weekly digest"}, {"instant", "As soon as a job is published"}}

func (s *Server) registerAlertRoutes() {
	s.router.HandleFunc("/me/alerts", s.handleAlerts).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc("/me/alerts", s.handleCreateAlert).Methods(http.MethodPost)
	s.router.HandleFunc("/me/alerts/{id}/delete", s.handleDeleteAlert).Methods(http.MethodPost)
}

// handleCreateAlert saves the search the form carries; a search that does not validate is
// the search page with its errors.
func (s *Server) handleCreateAlert(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.requireRole(w, r, commands.RoleCandidate)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "Invalid request", "The form could not be read.")
		return
	}
	_, p, bad := readSearch(r.PostForm)
	if len(bad) > 0 {
		s.renderError(w, r, http.StatusBadRequest, "This search cannot be saved", "Correct the search first, then save it as an alert.")
		return
	}
	in := domain.AlertInput{Frequency: r.PostFormValue("frequency"), Criteria: domain.AlertCriteria{
		Q: p.Q, Tags: p.Tags, Remote: p.Remote, Region: p.Region, Country: p.Country, EmploymentType: p.EmploymentType,
		Seniority: p.Seniority, SalaryMin: p.SalaryMin, Currency: p.Currency, Sort: p.Sort}}
	res, err := s.app.Commands.CreateAlert.Handle(r.Context(), commands.CreateAlert{Caller: sess.caller(r), Input: in})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.afterWrite(w, r, "/me/alerts", "alertcreated", application.Written(res))
}

type alertView struct {
	readmodels.Alert
	// Summary says what the alert searches; Href is that search.
	Summary, Href string
}

func (s *Server) handleAlerts(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.requireRole(w, r, commands.RoleCandidate)
	if !ok {
		return
	}
	if err := s.awaitWrites(r, application.ReadModelAlerts); err != nil {
		s.fail(w, r, err)
		return
	}
	alerts, err := s.app.Queries.CandidateAlerts.Handle(r.Context(), application.ListCandidateAlerts{CandidateID: sess.ID})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	views := make([]alertView, 0, len(alerts))
	for _, a := range alerts {
		if a.Active {
			views = append(views, describeAlert(a))
		}
	}
	s.render(w, r, http.StatusOK, "alerts.html", page{Title: "My job alerts", NoIndex: true, Data: views})
}

// describeAlert is an alert's search in words and as a link to the search page.
func describeAlert(a readmodels.Alert) alertView {
	c := a.Criteria
	f := searchForm{Q: c.Q, Tags: c.Tags, Region: c.Region, Country: c.Country, EmploymentType: c.EmploymentType,
		Seniority: c.Seniority, Currency: c.Currency, Sort: c.Sort}
	if c.Remote != nil {
		f.Remote = strconv.FormatBool(*c.Remote)
	}
	if c.SalaryMin > 0 {
		f.SalaryMin = strconv.FormatInt(c.SalaryMin, 10)
	}
	var parts []string
	if c.Q != "" {
		parts = append(parts, "“"+c.Q+"”")
	}
	if c.Remote != nil {
		parts = append(parts, map[bool]string{true: "remote", false: "on site"}[*c.Remote])
	}
	for _, s := range []string{c.Region, c.Country, humanize(c.EmploymentType), strings.ToLower(humanize(c.Seniority))} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(c.Tags) > 0 {
		parts = append(parts, "tags "+strings.Join(c.Tags, ", "))
	}
	if c.SalaryMin > 0 {
		parts = append(parts, "from "+strings.TrimSpace(c.Currency+" "+amount(c.SalaryMin, c.Currency))+" a year")
	}
	if len(parts) == 0 {
		parts = []string{"every new job"}
	}
	href := "/"
	if v := f.values(); len(v) > 0 {
		href = "/?" + v.Encode()
	}
	return alertView{Alert: a, Summary: strings.Join(parts, " · "), Href: href}
}

func (s *Server) handleDeleteAlert(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.requireRole(w, r, commands.RoleCandidate)
	if !ok {
		return
	}
	id, ok := parseID(mux.Vars(r)["id"])
	if !ok {
		s.notFound(w, r)
		return
	}
	res, err := s.app.Commands.DeleteAlert.Handle(r.Context(), commands.DeleteAlert{Caller: sess.caller(r), AlertID: id})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.afterWrite(w, r, "/me/alerts", "alertdeleted", application.Written(res))
}
