package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/internal/signinlink"
	"github.com/jobboard/jobboard/internal/testenv"
)

// browser is a web client with its own cookies that does not follow redirects, so each
// answer can be checked; follow reads where a redirect points.
type browser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 90 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	res, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, res.Header, string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values, headers ...string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

// must checks the status of a page.
func (p page) must(t *testing.T, status int, what string) page {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d, want %d\n%.3000s", what, p.status, status, p.body)
	}
	return p
}

// location is the path and query a redirect (303) points to.
func (p page) location(t *testing.T) string {
	t.Helper()
	if p.status != http.StatusSeeOther {
		t.Fatalf("not a redirect: %d\n%.2000s", p.status, p.body)
	}
	return p.header.Get("Location")
}

func (p page) has(t *testing.T, what ...string) {
	t.Helper()
	for _, w := range what {
		if !strings.Contains(p.body, w) {
			t.Errorf("page lacks %q\n%.4000s", w, p.body)
		}
	}
}

// signInLink builds the link the notifier e-mails from the sign_in.link_requested event of
// email (read from the event history, as the notifier reads it).
func signInLink(t *testing.T, c client, cfg app.Config, email string) string {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		a := c.must(c.do("GET", "/v1/admin/events?type=sign_in.link_requested&limit=1000", operatorToken, nil), 200)
		for _, it := range items(a) {
			var d struct {
				LinkID    string    `json:"link_id"`
				Role      string    `json:"role"`
				AccountID string    `json:"account_id"`
				Email     string    `json:"email"`
				ExpiresAt time.Time `json:"expires_at"`
			}
			raw, _ := json.Marshal(it["data"])
			if json.Unmarshal(raw, &d) == nil && d.Email == email {
				u, err := signinlink.URL([]byte(cfg.SigningKey), "", signinlink.Link{LinkID: d.LinkID, Role: d.Role, AccountID: d.AccountID, ExpiresAt: d.ExpiresAt.Unix()})
				if err != nil {
					t.Fatal(err)
				}
				return u
			}
		}
	}
	t.Fatalf("no sign-in link requested for %s", email)
	return ""
}

// signUp creates an account through the pages and signs in with the e-mailed link.
func signUp(t *testing.T, b *browser, c client, cfg app.Config, role, name string) string {
	t.Helper()
	email := strings.ToLower(name) + "-" + uuid.NewString()[:8] + "@example.com"
	b.post("/signup", url.Values{"role": {role}, "name": {name}, "email": {email}}).must(t, 200, "sign up").has(t, "Check your e-mail")
	link := signInLink(t, c, cfg, email)
	b.get(link).must(t, 200, "link page").has(t, `name="t"`)
	t0 := strings.TrimPrefix(link, signinlink.Path+"?t=")
	loc := b.post(signinlink.Path, url.Values{"t": {t0}}).location(t)
	if want := map[string]string{"employer": "/employer", "candidate": "/me/applications"}[role]; !strings.HasPrefix(loc, want) {
		t.Fatalf("signed in to %s, want %s", loc, want)
	}
	// Single use: the same link again signs nobody in.
	b2 := newBrowser(t, b.base)
	b2.post(signinlink.Path, url.Values{"t": {t0}}).must(t, http.StatusConflict, "second use of a link")
	return email
}

var ctParam = regexp.MustCompile(`[?&]ct=([^&]+)`)

// webConfig is the whole system without the notifier (the tests that read the e-mails
// run it with their Mailpit).
func webConfig(t *testing.T) app.Config {
	t.Helper()
	cfg := wholeSystemConfig(t)
	cfg.Roles = []string{app.RoleAPI, app.RoleRelay, app.RoleProjectors, app.RoleScheduler, app.RoleWeb}
	return cfg
}

// TestWebJourneys runs the employer's and the candidate's journeys through the pages, on
// the whole system: sign-up by e-mailed link, a job posted with an error fixed, paid in
// test mode, found with a typo, applied to, moved to hired — every page after a form
// reads its own write (no sleeps), and a hostile title shows as text.
func TestWebJourneys(t *testing.T) {
	t.Parallel()
	cfg := webConfig(t)
	cfg.DevMode = true
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	emp := newBrowser(t, m.URL())
	signUp(t, emp, c, cfg, "employer", "Acme")
	emp.get("/employer").must(t, 200, "dashboard").has(t, "Your jobs", "Post a job")

	const title = `<script>alert(1)</script> Kubernetes engineer`
	form := url.Values{"title": {"ab"}, "description": {"Run our clusters and our event store, remote across Europe."},
		"employment_type": {"full_time"}, "seniority": {"senior"}, "location.remote": {"true"}, "location.regions": {"EMEA"},
		"location.countries": {"DE, FR"}, "salary.min": {"6000000"}, "salary.max": {"8000000"}, "salary.currency": {"EUR"},
		"salary.period": {"year"}, "tags": {"go, kubernetes"}}
	t.Run("an invalid field is shown next to its input, with the input kept", func(t *testing.T) {
		p := emp.post("/employer/jobs", form).must(t, http.StatusUnprocessableEntity, "invalid job")
		p.has(t, `id="title-error"`, `aria-invalid="true"`, "Run our clusters and our event store", `value="EMEA"`)
	})
	form.Set("title", title)
	loc := emp.post("/employer/jobs", form).location(t)
	jobID := strings.TrimPrefix(strings.SplitN(loc, "?", 2)[0], "/employer/jobs/")
	t.Run("the page after the post shows the job (read-your-writes)", func(t *testing.T) {
		p := emp.get(loc).must(t, 200, "job after post")
		p.has(t, "Awaiting payment", "&lt;script&gt;alert(1)&lt;/script&gt; Kubernetes engineer", "Your job is saved")
		if strings.Contains(p.body, "<script>alert(1)") {
			t.Error("the title is not escaped")
		}
	})
	emp.post("/employer/jobs/"+jobID+"/pay", url.Values{"plan": {"featured"}}).must(t, 200, "payment page").has(t, "Pay (test mode)")
	paid := emp.post("/employer/jobs/"+jobID+"/testpay", url.Values{"plan": {"featured"}}).location(t)
	emp.get(paid).must(t, 200, "job after payment").has(t, "Published", "Payment received")
	ct := ctParam.FindStringSubmatch(paid)
	if ct == nil {
		t.Fatalf("no consistency token in %s", paid)
	}

	anon := newBrowser(t, m.URL())
	t.Run("a visitor finds the job with a typo, featured and escaped", func(t *testing.T) {
		p := anon.get("/?q=kubernetis&ct="+ct[1]).must(t, 200, "search")
		p.has(t, "/jobs/"+jobID+"-", "Featured", "&lt;script&gt;alert(1)&lt;/script&gt;", "1 job", `data-testid="facet-tag"`, `<script src="/static/search.`)
		if strings.Contains(p.body, "<script>alert(1)") {
			t.Error("the title is not escaped in the search")
		}
	})
	t.Run("the job page has JSON-LD, a canonical link and caching headers", func(t *testing.T) {
		p := anon.get("/jobs/"+jobID).must(t, 200, "job page")
		p.has(t, `"@type":"JobPosting"`, `rel="canonical"`, `<meta name="description"`, "EUR 60,000–80,000 a year", "Sign in to apply")
		if strings.Contains(p.body, "<script>alert(1)") || !strings.Contains(p.body, `\u003cscript\u003e`) {
			t.Error("the title is not escaped in the page or its JSON-LD")
		}
		if cc := p.header.Get("Cache-Control"); !strings.HasPrefix(cc, "public") {
			t.Errorf("Cache-Control %q", cc)
		}
		anon.get("/jobs/"+jobID+"/any-slug").must(t, 200, "job page with a slug")
	})
	t.Run("the sitemap lists the job", func(t *testing.T) {
		p := anon.get("/sitemap.xml").must(t, 200, "sitemap")
		p.has(t, "<urlset", "/jobs/"+jobID+"-")
	})

	cand := newBrowser(t, m.URL())
	signUp(t, cand, c, cfg, "candidate", "Ada")
	t.Run("a candidate saves the current search as an alert, lists and deletes it", func(t *testing.T) {
		p := cand.get("/?q=kubernetes&remote=true&tags=go").must(t, 200, "search as a candidate")
		p.has(t, `id="alert-form"`, `name="q" value="kubernetes"`, `name="tags" value="go"`)
		created := cand.post("/me/alerts", url.Values{"q": {"kubernetes"}, "remote": {"true"}, "tags": {"go"}, "frequency": {"daily"}}).location(t)
		p = cand.get(created).must(t, 200, "alerts after create")
		p.has(t, "Your job alert is saved", "“kubernetes” · remote · tags go", "Daily")
		id := regexp.MustCompile(`data-alert-id="([^"]+)"`).FindStringSubmatch(p.body)
		if id == nil {
			t.Fatal("no alert listed")
		}
		deleted := cand.post("/me/alerts/"+id[1]+"/delete", nil).location(t)
		cand.get(deleted).must(t, 200, "alerts after delete").has(t, "The job alert is deleted", "You have no job alerts")
	})
	t.Run("an application with a bad résumé URL is refused next to the field", func(t *testing.T) {
		p := cand.post("/jobs/"+jobID+"/apply", url.Values{"resume_url": {"not a url"}, "cover_letter": {"Hello there"}})
		p.must(t, http.StatusUnprocessableEntity, "bad application").has(t, `id="resume_url-error"`, "Hello there")
	})
	applied := cand.post("/jobs/"+jobID+"/apply", url.Values{"resume_url": {"https://cv.example/ada.pdf"}, "cover_letter": {"Hello"}}).location(t)
	cand.get(applied).must(t, 200, "my applications").has(t, "Submitted", "Your application is sent")

	p := emp.get("/employer/jobs/"+jobID+"/applicants").must(t, 200, "applicants")
	p.has(t, "Ada", "https://cv.example/ada.pdf")
	appID := regexp.MustCompile(`data-application-id="([^"]+)"`).FindStringSubmatch(p.body)
	if appID == nil {
		t.Fatal("no applicant")
	}
	p.has(t, `<option value="reviewing">`)
	if strings.Contains(p.body, `<option value="hired">`) {
		t.Error("a submitted application offers a move to hired, which skips steps")
	}
	var moved string
	for _, status := range []string{"reviewing", "interviewing", "offered", "hired"} {
		moved = emp.post("/employer/applications/"+appID[1]+"/status", url.Values{"job_id": {jobID}, "status": {status}}).location(t)
	}
	emp.get(moved).must(t, 200, "applicants after move").has(t, "Hired (1)", "The applicant was moved")
	// The candidate's page waits for nothing here: the employer's write reached the read
	// model before the employer's page above was shown.
	cand.get("/me/applications").must(t, 200, "my applications").has(t, "Hired")
	if p := cand.get("/me/applications"); strings.Contains(p.body, "/withdraw") {
		t.Error("a hired application offers to withdraw")
	}

	t.Run("another employer cannot see the job's private pages", func(t *testing.T) {
		other := newBrowser(t, m.URL())
		signUp(t, other, c, cfg, "employer", "Globex")
		other.get("/employer/jobs/"+jobID+"/applicants").must(t, 404, "someone else's applicants")
	})
	t.Run("the employer edits the job; an edit made on an old version is refused", func(t *testing.T) {
		p := emp.get("/employer/jobs/"+jobID+"/edit").must(t, 200, "edit form")
		p.has(t, `value="&lt;script&gt;alert(1)&lt;/script&gt; Kubernetes engineer"`, `name="salary.min" value="6000000"`, `value="DE, FR"`)
		version := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(p.body)
		if version == nil {
			t.Fatal("no version in the edit form")
		}
		edit := url.Values{}
		for k, v := range form {
			edit[k] = v
		}
		edit.Set("title", "Kubernetes platform engineer")
		edit.Set("version", version[1])
		edited := emp.post("/employer/jobs/"+jobID+"/edit", edit).location(t)
		emp.get(edited).must(t, 200, "job after edit").has(t, "Kubernetes platform engineer", "Your changes are saved")
		edit.Set("title", "Stale edit")
		emp.post("/employer/jobs/"+jobID+"/edit", edit).must(t, http.StatusConflict, "edit of an old version").has(t, "changed meanwhile")
	})
	t.Run("a cross-site form post is refused", func(t *testing.T) {
		emp.post("/employer/jobs/"+jobID+"/close", nil, "Sec-Fetch-Site", "cross-site").must(t, http.StatusForbidden, "cross-site post")
	})
	closed := emp.post("/employer/jobs/"+jobID+"/close", nil).location(t)
	emp.get(closed).must(t, 200, "job after close").has(t, "Closed")
	anon.get("/jobs/"+jobID).must(t, 404, "closed job").has(t, "Page not found")
}

// TestWebPublicPages: the pages a visitor sees without a job — our own 404, the same answer
// to a sign-in request whatever the address, invalid search input as a 400 page.
func TestWebPublicPages(t *testing.T) {
	t.Parallel()
	cfg := webConfig(t)
	m := start(t, cfg)
	b := newBrowser(t, m.URL())
	// The projectors create the search index as they start.
	p := b.get("/")
	for deadline := time.Now().Add(30 * time.Second); p.status == http.StatusServiceUnavailable && time.Now().Before(deadline); p = b.get("/") {
		time.Sleep(200 * time.Millisecond)
	}
	p.must(t, 200, "home")
	p.has(t, `<html lang="en">`, "<title>Find a job · jobboard</title>", `<meta name="description"`, `<label for="q">`, "0 jobs")
	if cc := p.header.Get("Cache-Control"); cc != "public, max-age=60" {
		t.Errorf("home Cache-Control %q", cc)
	}
	// A company registered through the API, read on its page after the write (a consistency
	// token of the API is good for the pages).
	c := client{t: t, base: m.URL()}
	reg := c.must(c.do("POST", "/v1/companies", "", map[string]any{"name": "Initech <b>", "email": uuid.NewString() + "@initech.test"}), 201)
	b.get("/companies/"+reg.str("id")+"?ct="+url.QueryEscape(reg.str("consistency_token"))).must(t, 200, "company page").has(t, "Initech &lt;b&gt;", "No open jobs")
	b.get("/companies/"+reg.str("id")+"?ct=forged").must(t, 400, "forged consistency token")
	b.get("/nope").must(t, 404, "unknown path").has(t, "Page not found")
	b.get("/jobs/"+uuid.NewString()).must(t, 404, "missing job").has(t, "Page not found")
	if p := b.get("/v1/nope"); p.status != 404 || p.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("/v1/nope = %d %s", p.status, p.header.Get("Content-Type"))
	}
	b.get("/?salary_min=lots&cursor=forged").must(t, 400, "bad search").has(t, `id="salary_min-error"`, `value="lots"`)
	known := "known-" + uuid.NewString()[:8] + "@example.com"
	b.post("/signup", url.Values{"role": {"candidate"}, "name": {"Known"}, "email": {known}}).must(t, 200, "sign up")
	a := b.post("/signin", url.Values{"role": {"candidate"}, "email": {known}}).must(t, 200, "sign in, known address")
	u := b.post("/signin", url.Values{"role": {"candidate"}, "email": {"unknown-" + uuid.NewString()[:8] + "@example.com"}}).must(t, 200, "sign in, unknown address")
	strip := regexp.MustCompile(`<strong>[^<]*</strong>`)
	if strip.ReplaceAllString(a.body, "") != strip.ReplaceAllString(u.body, "") {
		t.Error("the sign-in answer tells a known address from an unknown one")
	}
	b.post("/signin", url.Values{"role": {"candidate"}, "email": {"nope"}}).must(t, http.StatusUnprocessableEntity, "bad address").has(t, `id="email-error"`)
	b.get(signinlink.Path+"?t=forged.token").must(t, 400, "forged link")
	b.get("/employer").location(t)
	css := regexp.MustCompile(`href="(/static/style\.[0-9a-f]+\.css)"`).FindStringSubmatch(p.body)
	if css == nil {
		t.Fatal("no stylesheet link")
	}
	if s := b.get(css[1]).must(t, 200, "stylesheet"); !strings.Contains(s.header.Get("Cache-Control"), "immutable") {
		t.Errorf("stylesheet Cache-Control %q", s.header.Get("Cache-Control"))
	}
}

// TestWebSignInLinkArrivesByEmail: the link of a sign-up reaches the address through the
// notifier and Mailpit, and signs in once.
func TestWebSignInLinkArrivesByEmail(t *testing.T) {
	t.Parallel()
	mp := testenv.StackMailpit(t)
	cfg := wholeSystemConfig(t)
	cfg.SMTPURL = mp.SMTPURL()
	cfg.MailFrom = "jobboard <noreply@jobboard.localhost>"
	cfg.PublicBaseURL = "http://jobs.example.test"
	cfg.MailMaxAttempts, cfg.MailWorkers, cfg.MailClaimLease = 5, 2, 30*time.Second
	m := start(t, cfg)
	b := newBrowser(t, m.URL())
	email := "link-" + uuid.NewString()[:8] + "@example.com"
	b.post("/signup", url.Values{"role": {"employer"}, "name": {"Hooli"}, "email": {email}}).must(t, 200, "sign up")
	msgs := mp.WaitForMessages(t, `to:"`+email+`" subject:"sign-in link"`, 1, 60*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d sign-in e-mails to %s", len(msgs), email)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body, err := mp.Message(ctx, msgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`http://jobs\.example\.test(/signin/link\?t=[A-Za-z0-9_.-]+)`).FindStringSubmatch(body.Text)
	if link == nil {
		t.Fatalf("no link in\n%s", body.Text)
	}
	token := strings.TrimPrefix(link[1], signinlink.Path+"?t=")
	b.get(link[1]).must(t, 200, "link page")
	if loc := b.post(signinlink.Path, url.Values{"t": {token}}).location(t); !strings.HasPrefix(loc, "/employer") {
		t.Fatalf("signed in to %s", loc)
	}
	b.get("/employer").must(t, 200, "dashboard").has(t, "Your jobs")
	newBrowser(t, m.URL()).post(signinlink.Path, url.Values{"t": {token}}).must(t, http.StatusConflict, "the link a second time")
	// A read of one's own write, so the projectors run before the program is closed.
	c := client{t: t, base: m.URL()}
	reg := c.must(c.do("POST", "/v1/companies", "", map[string]any{"name": "Pied Piper", "email": uuid.NewString() + "@pp.test"}), 201)
	b.get("/companies/"+reg.str("id")+"?ct="+url.QueryEscape(reg.str("consistency_token"))).must(t, 200, "company page")
}
