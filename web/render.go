package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/internal/consistency"
)

//go:embed templates/*.html static/*
var assets embed.FS

// pages are the parsed templates, one set per page (layout + partials + the page).
type pages struct {
	byName map[string]*template.Template
	// css is the stylesheet and cssPath its URL, versioned by content so it can be cached
	// for a year; js and jsPath the search page's script, likewise.
	css, js         []byte
	cssPath, jsPath string
}

func parsePages() (*pages, error) {
	css, err := assets.ReadFile("static/style.css")
	if err != nil {
		return nil, fmt.Errorf("web: stylesheet: %w", err)
	}
	js, err := assets.ReadFile("static/search.js")
	if err != nil {
		return nil, fmt.Errorf("web: script: %w", err)
	}
	p := &pages{byName: map[string]*template.Template{}, css: css, js: js,
		cssPath: "/static/style." + contentHash(css) + ".css", jsPath: "/static/search." + contentHash(js) + ".js"}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimPrefix(n, "templates/")
		if base == "layout.html" || base == "partials.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/partials.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", base, err)
		}
		p.byName[base] = t
	}
	return p, nil
}

func contentHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// funcs are the helpers templates may call; each returns text that html/template escapes
// in its context like any other value.
var funcs = template.FuncMap{
	"date": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return ""
			}
			return v.UTC().Format("2 Jan 2006")
		case *time.Time:
			if v == nil {
				return ""
			}
			return v.UTC().Format("2 Jan 2006")
		}
		return ""
	},
	"humanize": humanize,
	"money":    money,
	"amount":   func(minor int64, currency string) string { return currency + " " + amount(minor, currency) },
	"join":     strings.Join,
	"slug":     slug,
}

// page is what every template gets: the layout's fields and the page's own Data.
type page struct {
	Title       string
	Description string
	// Canonical is the page's absolute URL for search engines; empty: none.
	Canonical string
	// NoIndex keeps the page out of search engines (private pages, forms, errors).
	NoIndex bool
	Session Session
	// Notice is a message shown at the top of the page (the outcome of a form).
	Notice string
	CSS    string
	// Script is the URL of the page's script, if it has one.
	Script string
	// JSONLD is structured data (schema.org), already JSON-encoded.
	JSONLD template.JS
	Data   any
}

// render writes a page with status; a template that fails is our own 500 page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := s.pages.byName[name]
	if !ok {
		s.log.Error("web: no such template", "template", name)
		status, t = http.StatusInternalServerError, s.pages.byName["error.html"]
		p = page{Title: "Something went wrong", NoIndex: true, Data: errorView{Message: "We could not show this page."}}
	}
	p.Session = sessionFrom(r.Context())
	p.CSS = s.pages.cssPath
	if p.Notice == "" {
		p.Notice = notices[r.URL.Query().Get("done")]
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("web: render", "template", name, "error", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Add("Vary", "Cookie")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// cachePublic lets browsers and shared caches keep a public page for maxAge, but only the
// page a visitor sees: a signed-in page names its user, and a page shown after a form
// (read-your-writes) must not be served stale.
func cachePublic(w http.ResponseWriter, r *http.Request, maxAge time.Duration) {
	if sessionFrom(r.Context()).SignedIn() || r.URL.Query().Has("ct") {
		w.Header().Set("Cache-Control", "private, no-cache")
		return
	}
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(maxAge.Seconds())))
}

// notices are the messages a redirect after a form may ask for (?done=…): fixed texts, so
// nothing a link carries is shown as is.
var notices = map[string]string{
	"posted":       "Your job is saved. Pay for its listing to publish it.",
	"updated":      "Your changes are saved.",
	"closed":       "The job is closed: it left the search and takes no more applications.",
	"paid":         "Payment received: your job is published.",
	"applied":      "Your application is sent.",
	"withdrawn":    "Your application is withdrawn.",
	"moved":        "The applicant was moved.",
	"signedin":     "You are signed in.",
	"signedout":    "You are signed out.",
	"registered":   "Your account is created.",
	"alertcreated": "Your job alert is saved.",
	"alertdeleted": "The job alert is deleted.",
}

type errorView struct {
	Message string
}

// renderError writes our own error page.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	s.render(w, r, status, "error.html", page{Title: title, NoIndex: true, Data: errorView{Message: message}})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, http.StatusNotFound, "Page not found", "There is no page at this address. It may have been a job that is no longer listed.")
}

// fail renders the page an application error deserves; only internal errors are logged
// with their detail.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apperr.Error
	msg := "We could not show this page. Please try again in a moment."
	if errors.As(err, &ae) {
		msg = ae.Message
	}
	switch apperr.CodeOf(err) {
	case apperr.NotFound:
		s.notFound(w, r)
	case apperr.Invalid:
		s.renderError(w, r, http.StatusBadRequest, "Invalid request", msg+fieldsText(ae))
	case apperr.Unauthorized:
		s.renderError(w, r, http.StatusUnauthorized, "Please sign in", "Your session has ended. Sign in again.")
	case apperr.Forbidden:
		s.renderError(w, r, http.StatusForbidden, "Not allowed", msg)
	case apperr.Conflict, apperr.VersionMismatch:
		s.renderError(w, r, http.StatusConflict, "That did not work", msg)
	case apperr.RateLimited:
		s.renderError(w, r, http.StatusTooManyRequests, "Too many requests", "Please wait a moment and try again.")
	case apperr.Timeout:
		s.renderError(w, r, http.StatusGatewayTimeout, "Still working on it", "Your last change is not visible yet. Reload the page in a moment.")
	case apperr.Unavailable:
		s.renderError(w, r, http.StatusServiceUnavailable, "Temporarily unavailable", "A service we depend on is not answering. Please try again in a moment.")
	default:
		s.log.Error("web: internal error", "path", r.URL.Path, "error", err)
		s.renderError(w, r, http.StatusInternalServerError, "Something went wrong", "We could not show this page. Please try again in a moment.")
	}
}

func fieldsText(ae *apperr.Error) string {
	if ae == nil || len(ae.Fields) == 0 {
		return ""
	}
	parts := make([]string, len(ae.Fields))
	for i, f := range ae.Fields {
		parts[i] = f.Field + " " + f.Message
	}
	return ": " + strings.Join(parts, "; ")
}

// fieldErrors maps the fields of an Invalid error to their messages, for forms that show
// each next to its input; other errors give nil.
func fieldErrors(err error) map[string]string {
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Code != apperr.Invalid || len(ae.Fields) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, f := range ae.Fields {
		if _, dup := out[f.Field]; !dup {
			out[f.Field] = f.Message
		}
	}
	return out
}

// afterWrite redirects to target once a command wrote streamID at version: the target page
// waits for that write (the ct parameter, a consistency token) before it reads, so the page
// after a form shows what the form did. done names the notice to show.
func (s *Server) afterWrite(w http.ResponseWriter, r *http.Request, target, done string, positions ...consistency.Position) {
	token := ""
	if len(positions) > 0 {
		token = s.tokens.Token(positions...)
	}
	redirectAfterWrite(w, r, target, done, token)
}

// redirectAfterWrite redirects to target with the notice done and the consistency token
// (each left out when empty), as afterWrite does with a token signed elsewhere.
func redirectAfterWrite(w http.ResponseWriter, r *http.Request, target, done, token string) {
	q := url.Values{}
	if done != "" {
		q.Set("done", done)
	}
	if token != "" {
		q.Set("ct", token)
	}
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	http.Redirect(w, r, target+sep+q.Encode(), http.StatusSeeOther)
}

// awaitWrites waits until rm shows the writes named by the request's ct parameters. A
// token we did not sign is a 400.
func (s *Server) awaitWrites(r *http.Request, rm application.ReadModel) error {
	cts := r.URL.Query()["ct"]
	if len(cts) == 0 {
		return nil
	}
	if len(cts) > 4 {
		return apperr.InvalidFields(apperr.FieldError{Field: "ct", Message: "at most 4 tokens"})
	}
	positions, err := s.tokens.ParseAll(cts...)
	if err != nil {
		return apperr.InvalidFields(apperr.FieldError{Field: "ct", Message: "is not a token of this site"})
	}
	_, err = s.app.Queries.WaitFor.Handle(r.Context(), application.WaitFor{ReadModel: rm, Timeout: s.cfg.ConsistencyTimeout, Positions: positions})
	return err
}

// absURL is path on the site's public address (canonical links, sitemap, JSON-LD): BaseURL
// when configured, so that a forged Host header cannot put another site's links in a page
// that shared caches keep; else the host the request came to.
func (s *Server) absURL(r *http.Request, path string) string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL + path
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

// registerStaticRoutes: the stylesheet (content-versioned, cached for a year) and the
// small script of the search page.
func (s *Server) registerStaticRoutes() {
	s.router.HandleFunc(s.pages.cssPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		_, _ = w.Write(s.pages.css)
	}).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc(s.pages.jsPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		_, _ = w.Write(s.pages.js)
	}).Methods(http.MethodGet, http.MethodHead)
	s.router.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		// Private pages stay out; the post-a-job page is the employers' way in, so it may be
		// found.
		fmt.Fprintf(w, "User-agent: *\nAllow: /employer/jobs/new\nDisallow: /employer/jobs/\nDisallow: /employer/applications/\nDisallow: /me/\nDisallow: /signin/link\nDisallow: /v1/\nDisallow: /operator\nSitemap: %s\n", s.absURL(r, "/sitemap.xml"))
	}).Methods(http.MethodGet, http.MethodHead)
}
