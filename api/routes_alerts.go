package api

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/internal/unsubscribe"
	"github.com/jobboard/jobboard/readmodels"
)

// registerAlertRoutes: a candidate's job alerts and every account's e-mail preferences
// (limited per account like the employer's commands), and the one-click unsubscribe of the
// links in e-mails (anonymous: the signed token is the authority; limited per address).
func (s *Server) registerAlertRoutes(v1 *mux.Router) {
	g := group(v1, s.authenticate, s.principalLimited(s.employerLimiter), s.idempotent)
	g.HandleFunc("/candidates/me/alerts", s.handleCreateAlert).Methods(http.MethodPost)
	g.HandleFunc("/candidates/me/alerts/{id}", s.handleDeleteAlert).Methods(http.MethodDelete)
	g.HandleFunc("/candidates/me/email-preferences", s.handleSetEmailPreferences(RoleCandidate)).Methods(http.MethodPut)
	g.HandleFunc("/companies/me/email-preferences", s.handleSetEmailPreferences(RoleEmployer)).Methods(http.MethodPut)
	u := group(v1, s.rateLimited(s.registrationLimiter))
	u.HandleFunc("/unsubscribe", s.handleUnsubscribePage).Methods(http.MethodGet)
	u.HandleFunc("/unsubscribe", s.handleUnsubscribe).Methods(http.MethodPost)
}

// registerAlertQueryRoutes: reading alerts and preferences back (private).
func (s *Server) registerAlertQueryRoutes(v1 *mux.Router) {
	g := group(v1, s.authenticate)
	g.HandleFunc("/candidates/me/alerts", s.handleListAlerts).Methods(http.MethodGet)
	g.HandleFunc("/candidates/me/alerts/{id}", s.handleGetAlert).Methods(http.MethodGet)
	g.HandleFunc("/candidates/me/email-preferences", s.handleGetEmailPreferences(RoleCandidate)).Methods(http.MethodGet)
	g.HandleFunc("/companies/me/email-preferences", s.handleGetEmailPreferences(RoleEmployer)).Methods(http.MethodGet)
}

// alertRequest is the body of POST /v1/candidates/me/alerts: the parameters of
// GET /v1/jobs by their names (tags as a list) and the frequency. limit and cursor are not
// parameters of an alert.
type alertRequest struct {
	Q              string   `json:"q"`
	Tags           []string `json:"tags"`
	Remote         *bool    `json:"remote"`
	Region         string   `json:"region"`
	Country        string   `json:"country"`
	EmploymentType string   `json:"employment_type"`
	Seniority      string   `json:"seniority"`
	SalaryMin      *int64   `json:"salary_min"`
	Currency       string   `json:"currency"`
	CompanyID      string   `json:"company_id"`
	Sort           string   `json:"sort"`
	Frequency      string   `json:"frequency"`
}

// decodeAlert reads the body and checks the search with the very reader of GET /v1/jobs
// (the body becomes its query string), so an alert is refused exactly where the search is,
// naming the same fields.
func decodeAlert(w http.ResponseWriter, r *http.Request) (domain.AlertInput, error) {
	var in alertRequest
	if err := decodeBody(w, r, &in, false); err != nil {
		return domain.AlertInput{}, err
	}
	v := url.Values{}
	set := func(name, value string) {
		if value != "" {
			v.Set(name, value)
		}
	}
	set("q", in.Q)
	for _, t := range in.Tags {
		v.Add("tags", t)
	}
	if in.Remote != nil {
		v.Set("remote", strconv.FormatBool(*in.Remote))
	}
	set("region", in.Region)
	set("country", in.Country)
	set("employment_type", in.EmploymentType)
	set("seniority", in.Seniority)
	if in.SalaryMin != nil {
		v.Set("salary_min", strconv.FormatInt(*in.SalaryMin, 10))
	}
	set("currency", in.Currency)
	set("company_id", in.CompanyID)
	set("sort", in.Sort)
	q := &queryReader{v: v}
	p := q.searchParams()
	switch {
	case in.Frequency == "":
		q.bad("frequency", "is required (instant, daily or weekly)")
	default:
		if _, err := domain.ParseAlertFrequency(in.Frequency); err != nil {
			q.bad("frequency", "%v", err)
		}
	}
	if err := q.err(); err != nil {
		return domain.AlertInput{}, err
	}
	return domain.AlertInput{Frequency: in.Frequency, Criteria: domain.AlertCriteria{
		Q: p.Q, Tags: p.Tags, Remote: p.Remote, Region: p.Region, Country: p.Country, EmploymentType: p.EmploymentType,
		Seniority: p.Seniority, SalaryMin: p.SalaryMin, Currency: p.Currency, CompanyID: p.CompanyID, Sort: p.Sort,
	}}, nil
}

type alertAnswer struct {
	commandAnswer
	Status string `json:"status"`
}

func (s *Server) handleCreateAlert(w http.ResponseWriter, r *http.Request) {
	if _, err := requireRole(r.Context(), RoleCandidate); err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := decodeAlert(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.app.Commands.CreateAlert.Handle(r.Context(), commands.CreateAlert{Caller: caller(r), Input: in})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCommandAnswer(w, http.StatusCreated, res, "/v1/candidates/me/alerts/"+res.ID, alertAnswer{s.answerOf(res), "active"})
}

func (s *Server) handleDeleteAlert(w http.ResponseWriter, r *http.Request) {
	id, version, err := commandTarget(r, RoleCandidate)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.app.Commands.DeleteAlert.Handle(r.Context(), commands.DeleteAlert{Caller: caller(r), AlertID: id, ExpectedVersion: version})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCommandAnswer(w, http.StatusOK, res, "", alertAnswer{s.answerOf(res), "deleted"})
}

// emailPreferencesRequest is the body of PUT …/email-preferences: every category turned
// off (the whole set; [] turns everything back on).
type emailPreferencesRequest struct {
	Off *[]string `json:"off"`
}

type emailPreferencesAnswer struct {
	commandAnswer
	Off []string `json:"off"`
}

func (s *Server) handleSetEmailPreferences(role Role) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := requireRole(r.Context(), role); err != nil {
			s.writeError(w, r, err)
			return
		}
		var in emailPreferencesRequest
		if err := decodeBody(w, r, &in, false); err != nil {
			s.writeError(w, r, err)
			return
		}
		if in.Off == nil {
			s.writeError(w, r, invalidField("off", "is required: the list of categories to turn off ([] for none)"))
			return
		}
		off := make([]domain.EmailCategory, len(*in.Off))
		for i, c := range *in.Off {
			off[i] = domain.EmailCategory(c)
		}
		res, err := s.app.Commands.SetEmailPreferences.Handle(r.Context(), commands.SetEmailPreferences{Caller: caller(r), Off: off})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		names := []string{}
		seen := map[string]bool{}
		for _, c := range *in.Off {
			if !seen[c] {
				seen[c] = true
				names = append(names, c)
			}
		}
		writeCommandAnswer(w, http.StatusOK, res, "", emailPreferencesAnswer{s.answerOf(res), names})
	}
}

// alertView is an alert as its candidate reads it: the saved parameters, and the
// GET /v1/jobs URL that lists what it matches.
type alertView struct {
	ID        string                   `json:"id"`
	Frequency string                   `json:"frequency"`
	Criteria  readmodels.AlertCriteria `json:"criteria"`
	SearchURL string                   `json:"search_url"`
	CreatedAt time.Time                `json:"created_at"`
	Version   int64                    `json:"version"`
}

// SearchQuery is the query string of GET /v1/jobs with an alert's parameters.
func searchQuery(c readmodels.AlertCriteria) string {
	v := url.Values{}
	set := func(name, value string) {
		if value != "" {
			v.Set(name, value)
		}
	}
	set("q", c.Q)
	set("tags", strings.Join(c.Tags, ","))
	if c.Remote != nil {
		v.Set("remote", strconv.FormatBool(*c.Remote))
	}
	set("region", c.Region)
	set("country", c.Country)
	set("employment_type", c.EmploymentType)
	set("seniority", c.Seniority)
	if c.SalaryMin > 0 {
		v.Set("salary_min", strconv.FormatInt(c.SalaryMin, 10))
	}
	set("currency", c.Currency)
	set("company_id", c.CompanyID)
	set("sort", c.Sort)
	return v.Encode()
}

func viewAlert(a readmodels.Alert) alertView {
	if a.Criteria.Tags == nil {
		a.Criteria.Tags = []string{}
	}
	return alertView{ID: a.ID, Frequency: a.Frequency, Criteria: a.Criteria, SearchURL: "/v1/jobs?" + searchQuery(a.Criteria),
		CreatedAt: a.CreatedAt.UTC(), Version: a.Version}
}

func (s *Server) handleListAlerts(w http.ResponseWriter, r *http.Request) {
	p, err := requireRole(r.Context(), RoleCandidate)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	positions, err := s.prepareQuery(r, newQueryReader(r))
	if err == nil {
		err = s.await(r, application.ReadModelAlerts, positions)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	alerts, err := s.app.Queries.CandidateAlerts.Handle(r.Context(), application.ListCandidateAlerts{CandidateID: p.ID})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items := make([]alertView, len(alerts))
	for i, a := range alerts {
		items[i] = viewAlert(a)
	}
	writeQueryAnswer(w, map[string]any{"items": items})
}

func alertNotFound(id string) error { return apperr.New(apperr.NotFound, "alert %s not found", id) }

func (s *Server) handleGetAlert(w http.ResponseWriter, r *http.Request) {
	p, err := requireRole(r.Context(), RoleCandidate)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
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
	load := func() (readmodels.Alert, int64, error) {
		a, err := s.app.Queries.Alert.Handle(r.Context(), application.GetAlert{ID: id})
		return a, a.Version, err
	}
	// Another candidate's alert and a missing one answer the same 404; a deleted alert is
	// gone for its candidate too, and a later version can only end it.
	a, err := loadAfterWait(s, r, application.ReadModelAlerts, positions, id, load, func(a readmodels.Alert) (bool, error) {
		if a.CandidateID != p.ID || !a.Active {
			return false, alertNotFound(id)
		}
		return false, nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeQueryAnswer(w, viewAlert(a))
}

// emailPreferencesView lists the categories an account may turn off and those it did.
type emailPreferencesView struct {
	Off        []string `json:"off"`
	Categories []string `json:"categories"`
}

func (s *Server) handleGetEmailPreferences(role Role) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := requireRole(r.Context(), role)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		positions, err := s.prepareQuery(r, newQueryReader(r))
		if err == nil {
			err = s.await(r, application.ReadModelAlerts, positions)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		prefs, err := s.app.Queries.EmailPreferences.Handle(r.Context(), application.GetEmailPreferences{SubjectID: p.ID})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		all := domain.CandidateEmailCategories
		if role == RoleEmployer {
			all = domain.CompanyEmailCategories
		}
		view := emailPreferencesView{Off: prefs.Off, Categories: make([]string, len(all))}
		for i, c := range all {
			view.Categories[i] = string(c)
		}
		writeQueryAnswer(w, view)
	}
}

// unsubscribeTarget reads and verifies the token parameter of the unsubscribe routes.
func (s *Server) unsubscribeTarget(r *http.Request) (unsubscribe.Target, string, error) {
	q := newQueryReader(r)
	token := q.one("token")
	if err := q.err(); err != nil {
		return unsubscribe.Target{}, "", err
	}
	t, err := s.unsubscribe.Parse(token)
	if err != nil {
		return unsubscribe.Target{}, "", invalidField("token", "is not an unsubscribe link of this site: use the link of the e-mail unchanged")
	}
	return t, token, nil
}

// unsubscribePage is the answer a person sees: GET shows what the link unsubscribes from
// and a button (a GET never unsubscribes: mail scanners follow links); POST confirms.
var unsubscribePage = template.Must(template.New("unsubscribe").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Done}}Unsubscribed{{else}}Unsubscribe{{end}} — jobboard</title></head>
<body><main>
{{if .Done}}<h1>You are unsubscribed</h1><p>You will get no more {{.What}}.</p>
{{else}}<h1>Unsubscribe</h1><p>Stop receiving {{.What}}?</p>
<form method="post" action="/v1/unsubscribe?token={{.Token}}"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button></form>{{end}}
</main></body></html>
`))

func unsubscribeWhat(t unsubscribe.Target) string {
	if t.Kind == unsubscribe.KindAlert {
		return "e-mails of this job alert"
	}
	return strings.ReplaceAll(t.Category, "_", " ") + " e-mails"
}

func (s *Server) writeUnsubscribePage(w http.ResponseWriter, t unsubscribe.Target, token string, done bool) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	_ = unsubscribePage.Execute(w, map[string]any{"Done": done, "What": unsubscribeWhat(t), "Token": token})
}

func (s *Server) handleUnsubscribePage(w http.ResponseWriter, r *http.Request) {
	t, token, err := s.unsubscribeTarget(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeUnsubscribePage(w, t, token, false)
}

// handleUnsubscribe is the RFC 8058 one-click unsubscribe: a POST of
// "List-Unsubscribe=One-Click" to the link. It ends the alert, or turns the category off,
// as a system actor; repeating it changes nothing.
func (s *Server) handleUnsubscribe(w http.ResponseWriter, r *http.Request) {
	t, token, err := s.unsubscribeTarget(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	form, perr := url.ParseQuery(string(body))
	if perr != nil || form.Get("List-Unsubscribe") != "One-Click" {
		s.writeError(w, r, invalidField("List-Unsubscribe", `the body must be "List-Unsubscribe=One-Click" (RFC 8058)`))
		return
	}
	c := caller(r)
	c.Actor = commands.Actor{Role: commands.RoleSystem, ID: "unsubscribe-link"}
	var res commands.Result
	switch t.Kind {
	case unsubscribe.KindAlert:
		res, err = s.app.Commands.DeleteAlert.Handle(r.Context(), commands.DeleteAlert{Caller: c, AlertID: t.ID, Unsubscribe: true})
	default:
		res, err = s.app.Commands.SetEmailPreferences.Handle(r.Context(), commands.SetEmailPreferences{Caller: c,
			Subject: commands.Actor{Role: commands.Role(t.Role), ID: t.ID}, TurnOff: domain.EmailCategory(t.Category)})
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		s.writeUnsubscribePage(w, t, token, true)
		return
	}
	writeCommandAnswer(w, http.StatusOK, res, "", map[string]any{"id": res.ID, "version": res.Version,
		"consistency_token": s.consistencyToken(res), "unsubscribed": t.Kind})
}
