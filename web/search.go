package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/readmodels"
)

// Bounds of the search form, the API's (API.md).
const (
	maxQueryLen   = 256
	maxQueryWords = 16
	searchPage    = 20
)

// searchForm is the search as the form and its links carry it: the query parameters of
// GET /v1/jobs, so a search URL of one front door works on the other.
type searchForm struct {
	Q, Region, Country, EmploymentType, Seniority, SalaryMin, Currency, Sort, Remote, CompanyID string
	Tags                                                                                        []string
	Cursor                                                                                      string
}

// values is the form as query parameters, without the cursor; empty fields are left out.
func (f searchForm) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("q", f.Q)
	set("remote", f.Remote)
	set("region", f.Region)
	set("country", f.Country)
	set("employment_type", f.EmploymentType)
	set("seniority", f.Seniority)
	set("salary_min", f.SalaryMin)
	set("currency", f.Currency)
	set("sort", f.Sort)
	set("company_id", f.CompanyID)
	if len(f.Tags) > 0 {
		v.Set("tags", strings.Join(f.Tags, ","))
	}
	return v
}

// href is the search page of the form with one parameter changed ("" removes it).
func (f searchForm) href(key, value string) string {
	v := f.values()
	if value == "" {
		v.Del(key)
	} else {
		v.Set(key, value)
	}
	if enc := v.Encode(); enc != "" {
		return "/?" + enc
	}
	return "/"
}

// readSearch reads the search of a request into the form (as typed, to show it again) and
// the params (validated); problems are collected by field.
func readSearch(q url.Values) (searchForm, readmodels.SearchParams, map[string]string) {
	bad := map[string]string{}
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	f := searchForm{Q: get("q"), Region: get("region"), Country: strings.ToUpper(get("country")),
		EmploymentType: get("employment_type"), Seniority: get("seniority"), SalaryMin: get("salary_min"),
		Currency: strings.ToUpper(get("currency")), Sort: get("sort"), Remote: get("remote"), Cursor: get("cursor"),
		CompanyID: get("company_id")}
	p := readmodels.SearchParams{Limit: searchPage}
	switch {
	case !utf8.ValidString(f.Q) || utf8.RuneCountInString(f.Q) > maxQueryLen:
		bad["q"] = "Use at most 256 characters."
	case len(strings.Fields(f.Q)) > maxQueryWords:
		bad["q"] = "Use at most 16 words."
	default:
		p.Q = f.Q
	}
	if utf8.RuneCountInString(f.Region) > domain.RegionMaxLen || !utf8.ValidString(f.Region) {
		bad["region"] = "Region is too long."
	} else {
		p.Region = f.Region
	}
	for _, raw := range q["tags"] {
		for _, t := range strings.Split(raw, ",") {
			if t = strings.ToLower(strings.TrimSpace(t)); t != "" && utf8.ValidString(t) && utf8.RuneCountInString(t) <= domain.TagMaxLen {
				f.Tags = append(f.Tags, t)
			} else if t != "" {
				bad["tags"] = "A tag is too long."
			}
		}
	}
	if len(f.Tags) > domain.MaxTags {
		bad["tags"] = "Choose at most 20 tags."
	} else {
		p.Tags = f.Tags
	}
	switch f.Remote {
	case "":
	case "true", "false":
		b := f.Remote == "true"
		p.Remote = &b
	default:
		bad["remote"] = "Choose remote or on site."
	}
	if f.Country != "" {
		if !domain.IsCountryCode(f.Country) {
			bad["country"] = "Use a two-letter country code such as DE."
		} else {
			p.Country = f.Country
		}
	}
	if f.EmploymentType != "" {
		if _, err := domain.ParseEmploymentType(f.EmploymentType); err != nil {
			bad["employment_type"] = "Choose a type from the list."
		} else {
			p.EmploymentType = f.EmploymentType
		}
	}
	if f.Seniority != "" {
		if _, err := domain.ParseSeniority(f.Seniority); err != nil {
			bad["seniority"] = "Choose a seniority from the list."
		} else {
			p.Seniority = f.Seniority
		}
	}
	if f.SalaryMin != "" {
		if n, err := strconv.ParseInt(f.SalaryMin, 10, 64); err != nil || n < 0 {
			bad["salary_min"] = "Use a whole number."
		} else {
			p.SalaryMin = n
		}
	}
	if f.Currency != "" {
		if _, err := domain.ParseCurrency(f.Currency); err != nil {
			bad["currency"] = "Use a currency code such as EUR."
		} else {
			p.Currency = f.Currency
		}
	}
	if f.CompanyID != "" {
		if id, ok := parseID(f.CompanyID); ok {
			p.CompanyID = id
		} else {
			bad["company_id"] = "This company link is not valid."
		}
	}
	switch f.Sort {
	case "", "relevance", "newest", "salary":
		p.Sort = f.Sort
	default:
		bad["sort"] = "Choose a sort from the list."
	}
	return f, p, bad
}

// searchScope binds a cursor to the search it continues.
func searchScope(p readmodels.SearchParams) []byte {
	p.Cursor, p.Limit = "", 0
	b, _ := json.Marshal(p)
	return b
}

// sealCursor signs a next-page position for the search p; openCursor checks it.
func (s *Server) sealCursor(p readmodels.SearchParams, pos string) string {
	if pos == "" {
		return ""
	}
	return s.seal(cursorMACDomain, append(append([]byte(pos), 0), searchScope(p)...))
}

func (s *Server) openCursor(p readmodels.SearchParams, c string) (string, bool) {
	if c == "" {
		return "", true
	}
	payload, ok := s.unseal(cursorMACDomain, c)
	if !ok {
		return "", false
	}
	pos, scope, ok := strings.Cut(string(payload), "\x00")
	return pos, ok && scope == string(searchScope(p))
}

// card is a job of a result list, its text made once here rather than by template calls.
type card struct {
	Href, Title, CompanyHref, CompanyName, Meta, Salary string
	Featured                                            bool
	Tags                                                []string
}

func cardOf(it readmodels.SearchItem) card {
	meta := humanize(it.EmploymentType) + " · " + humanize(it.Seniority)
	if it.Location.Remote {
		meta += " · Remote"
	}
	if len(it.Location.Countries) > 0 {
		meta += " · " + strings.Join(it.Location.Countries, ", ")
	}
	return card{Href: jobPath(readmodels.Job{ID: it.ID, Title: it.Title}), Title: it.Title, CompanyHref: "/companies/" + it.Company.ID,
		CompanyName: it.Company.Name, Meta: meta, Salary: money(it.Salary), Featured: it.Featured, Tags: it.Tags}
}

type facetLink struct {
	Label  string
	Count  int64
	Href   string
	Active bool
}

type option struct{ Value, Label string }

type searchView struct {
	Form   searchForm
	Errors map[string]string
	Total  int64
	Cards  []card
	// Facets are the clickable counts, by group.
	Tags, Types, Seniorities, Regions []facetLink
	NextHref, FirstHref               string
	Paged                             bool
	TypeOptions, SeniorityOptions     []option
	Sorts                             []option
	// AlertFields carry the search into the alert form (signed-in candidates).
	AlertFields url.Values
	Frequencies []option
}

var (
	typeOptions = []option{{"full_time", "Full time"}, {"part_time", "Part time"}, {"contract", "Contract"}, {"internship", "Internship"}}
	seniorities = []option{{"junior", "Junior"}, {"mid", "Mid"}, {"senior", "Senior"}, {"lead", "Lead"}, {"principal", "Principal"}}
	sorts       = []option{{"relevance", "Best match"}, {"newest", "Newest"}, {"salary", "Highest salary"}}
)

// registerPublicRoutes: what visitors and search engines see.
func (s *Server) registerPublicRoutes() {
	s.router.HandleFunc("/", s.handleSearch).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc("/jobs/{id}/{slug}", s.handleJob).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc("/jobs/{id}", s.handleJob).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc("/companies/{id}", s.handleCompany).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc("/sitemap.xml", s.handleSitemap).Methods(http.MethodGet, http.MethodHead)
}

// handleSearch is the home page: the job search with its facets and pages.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	form, p, bad := readSearch(r.URL.Query())
	view := searchView{Form: form, Errors: bad, TypeOptions: typeOptions, SeniorityOptions: seniorities, Sorts: sorts}
	if pos, ok := s.openCursor(p, form.Cursor); ok {
		p.Cursor = pos
	} else {
		bad["cursor"] = "This page link is out of date: start again from the first page."
	}
	title, status := "Find a job", http.StatusOK
	if len(bad) > 0 {
		status = http.StatusBadRequest
	} else {
		if err := s.awaitWrites(r, application.ReadModelSearch); err != nil {
			s.fail(w, r, err)
			return
		}
		p.FreshFacets = r.URL.Query().Has("ct") // after the visitor's own write, as the API does
		res, err := s.app.Queries.SearchJobs.Handle(r.Context(), p)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		view.Total = res.Total
		for _, it := range res.Items {
			view.Cards = append(view.Cards, cardOf(it))
		}
		view.facets(res.Facets)
		if next := s.sealCursor(p, res.NextCursor); next != "" {
			v := form.values()
			v.Set("cursor", next)
			view.NextHref = "/?" + v.Encode()
		}
	}
	view.Paged = form.Cursor != ""
	view.FirstHref = form.href("cursor", "")
	view.AlertFields, view.Frequencies = form.values(), frequencies
	desc := "Search open jobs by keyword, remote or on site, region, country, type, seniority, salary and tags. Featured jobs first."
	if form.Q != "" {
		title = "Jobs matching “" + form.Q + "”"
	}
	// One canonical home for search engines: filtered pages are not indexed apart, and the
	// pages after the first not at all.
	pg := page{Title: title, Description: desc, Data: view, Script: s.pages.jsPath, Canonical: s.absURL(r, "/"), NoIndex: view.Paged}
	if status == http.StatusOK {
		cachePublic(w, r, time.Minute)
	}
	s.render(w, r, status, "search.html", pg)
}

// facets turns the counts into links that add (or, when active, remove) the filter.
func (v *searchView) facets(f readmodels.Facets) {
	has := func(tags []string, t string) bool {
		for _, x := range tags {
			if x == t {
				return true
			}
		}
		return false
	}
	for _, t := range f.Tags {
		link := facetLink{Label: t.Value, Count: t.Count}
		if has(v.Form.Tags, t.Value) {
			link.Active = true
			var rest []string
			for _, x := range v.Form.Tags {
				if x != t.Value {
					rest = append(rest, x)
				}
			}
			link.Href = v.Form.href("tags", strings.Join(rest, ","))
		} else {
			link.Href = v.Form.href("tags", strings.Join(append(append([]string{}, v.Form.Tags...), t.Value), ","))
		}
		v.Tags = append(v.Tags, link)
	}
	one := func(values []readmodels.FacetValue, key, current string, label func(string) string) []facetLink {
		var out []facetLink
		for _, fv := range values {
			l := facetLink{Label: label(fv.Value), Count: fv.Count, Href: v.Form.href(key, fv.Value), Active: fv.Value == current}
			if l.Active {
				l.Href = v.Form.href(key, "")
			}
			out = append(out, l)
		}
		return out
	}
	v.Types = one(f.EmploymentType, "employment_type", v.Form.EmploymentType, humanize)
	v.Seniorities = one(f.Seniority, "seniority", v.Form.Seniority, humanize)
	v.Regions = one(f.Regions, "region", v.Form.Region, func(s string) string { return s })
}
