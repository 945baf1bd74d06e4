package web

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/readmodels"
)

// applyForm is the candidate's application as typed (shown again with its errors).
type applyForm struct {
	CoverLetter string
	ResumeURL   string
}

type jobView struct {
	Job   readmodels.Job
	Owner bool
	// Apply is the application form of a signed-in candidate; Errors its problems.
	Apply  applyForm
	Errors map[string]string
}

// jobPath is a job's canonical path: its id and the slug of its title.
func jobPath(j readmodels.Job) string {
	if sl := slug(j.Title); sl != "" {
		return "/jobs/" + j.ID + "-" + sl
	}
	return "/jobs/" + j.ID
}

// loadVisibleJob reads the job the request names (after the writes of its ct) if the
// caller may see it: published jobs for everyone, every status for the owner.
func (s *Server) loadVisibleJob(r *http.Request) (readmodels.Job, bool, error) {
	raw := mux.Vars(r)["id"]
	if len(raw) > 36 && raw[36] == '-' {
		raw = raw[:36]
	}
	id, ok := parseID(raw)
	if !ok {
		return readmodels.Job{}, false, apperr.New(apperr.NotFound, "no such job")
	}
	if err := s.awaitWrites(r, application.ReadModelTables); err != nil {
		return readmodels.Job{}, false, err
	}
	j, err := s.app.Queries.Job.Handle(r.Context(), application.GetJob{ID: id})
	if err != nil {
		return readmodels.Job{}, false, err
	}
	sess := sessionFrom(r.Context())
	owner := sess.Employer() && sess.ID == j.Company.ID
	if !owner && j.Status != "published" {
		return readmodels.Job{}, false, apperr.New(apperr.NotFound, "no such job")
	}
	return j, owner, nil
}

func (s *Server) handleJob(w http.ResponseWriter, r *http.Request) {
	j, owner, err := s.loadVisibleJob(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderJob(w, r, http.StatusOK, j, owner, applyForm{}, nil)
}

func (s *Server) renderJob(w http.ResponseWriter, r *http.Request, status int, j readmodels.Job, owner bool, form applyForm, errs map[string]string) {
	p := page{
		Title:       j.Title + " at " + j.Company.Name,
		Description: summary(j),
		Canonical:   s.absURL(r, jobPath(j)),
		Data:        jobView{Job: j, Owner: owner, Apply: form, Errors: errs},
	}
	if j.Status == "published" {
		p.JSONLD = s.jobPosting(r, j)
		if status == http.StatusOK {
			cachePublic(w, r, time.Minute)
		}
	} else {
		p.NoIndex = true
	}
	s.render(w, r, status, "job.html", p)
}

// summary is a job's meta description: what, where, for whom, in one line.
func summary(j readmodels.Job) string {
	parts := []string{humanize(j.EmploymentType), strings.ToLower(humanize(j.Seniority)) + " role at " + j.Company.Name}
	if j.Location.Remote {
		parts = append(parts, "remote")
	}
	if len(j.Location.Countries) > 0 {
		parts = append(parts, strings.Join(j.Location.Countries, ", "))
	}
	if j.Salary != nil {
		parts = append(parts, money(j.Salary))
	}
	d := strings.Join(strings.Fields(j.Description), " ")
	if len(d) > 100 {
		d = d[:100]
		if i := strings.LastIndexByte(d, ' '); i > 50 {
			d = d[:i]
		}
		d += "…"
	}
	return strings.Join(parts, " · ") + ". " + d
}

// jobPosting is the job's schema.org JobPosting as JSON-LD. encoding/json escapes <, > and
// &, so the data cannot close the script element it is written in.
func (s *Server) jobPosting(r *http.Request, j readmodels.Job) template.JS {
	types := map[string]string{"full_time": "FULL_TIME", "part_time": "PART_TIME", "contract": "CONTRACTOR", "internship": "INTERN"}
	org := map[string]any{"@type": "Organization", "name": j.Company.Name, "url": s.absURL(r, "/companies/"+j.Company.ID)}
	ld := map[string]any{
		"@context": "https://schema.org/", "@type": "JobPosting",
		"title": j.Title, "description": j.Description, "identifier": map[string]any{"@type": "PropertyValue", "name": "jobboard", "value": j.ID},
		"employmentType": types[j.EmploymentType], "hiringOrganization": org, "url": s.absURL(r, jobPath(j)),
	}
	if j.PublishedAt != nil {
		ld["datePosted"] = j.PublishedAt.UTC().Format(time.RFC3339)
	}
	if j.ExpiresAt != nil {
		ld["validThrough"] = j.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if j.Location.Remote {
		ld["jobLocationType"] = "TELECOMMUTE"
		var reqs []any
		for _, c := range j.Location.Countries {
			reqs = append(reqs, map[string]any{"@type": "Country", "name": c})
		}
		if len(reqs) > 0 {
			ld["applicantLocationRequirements"] = reqs
		}
	} else if len(j.Location.Countries) > 0 {
		var locs []any
		for _, c := range j.Location.Countries {
			locs = append(locs, map[string]any{"@type": "Place", "address": map[string]any{"@type": "PostalAddress", "addressCountry": c}})
		}
		ld["jobLocation"] = locs
	}
	if s := j.Salary; s != nil {
		unit := map[string]string{"year": "YEAR", "month": "MONTH", "hour": "HOUR"}[s.Period]
		ld["baseSalary"] = map[string]any{"@type": "MonetaryAmount", "currency": s.Currency,
			"value": map[string]any{"@type": "QuantitativeValue", "minValue": major(s.Min, s.Currency), "maxValue": major(s.Max, s.Currency), "unitText": unit}}
	}
	b, _ := json.Marshal(ld)
	return template.JS(b)
}

type companyView struct {
	Company readmodels.Company
	Jobs    []readmodels.Job
	More    bool
}

func (s *Server) handleCompany(w http.ResponseWriter, r *http.Request) {
	id, ok := parseID(mux.Vars(r)["id"])
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.awaitWrites(r, application.ReadModelTables); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.app.Queries.Company.Handle(r.Context(), application.GetCompany{ID: id})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	jobs, err := s.app.Queries.CompanyJobs.Handle(r.Context(), application.ListCompanyJobs{CompanyID: id, Page: readmodels.ListParams{Status: "published", Limit: 50}})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	desc := c.Name + " is hiring on jobboard"
	if c.Description != "" {
		desc += ": " + c.Description
	}
	if len(desc) > 160 {
		desc = desc[:157] + "…"
	}
	cachePublic(w, r, time.Minute)
	s.render(w, r, http.StatusOK, "company.html", page{Title: c.Name + " jobs", Description: desc, Canonical: s.absURL(r, "/companies/"+id),
		Data: companyView{Company: c, Jobs: jobs.Items, More: jobs.NextCursor != ""}})
}

// caller is the command context of r's session.
func caller(r *http.Request) commands.Caller { return sessionFrom(r.Context()).caller(r) }
