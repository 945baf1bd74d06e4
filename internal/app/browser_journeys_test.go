package app_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/jobboard/jobboard/internal/browsertest"
	"github.com/jobboard/jobboard/internal/testenv"
)

// emailedLink is the path of the sign-in link the notifier e-mailed to email, read from
// Mailpit as a person reads their mail.
func emailedLink(t *testing.T, mp testenv.Mailpit, email string) string {
	t.Helper()
	msgs := mp.WaitForMessages(t, `to:"`+email+`" subject:"sign-in link"`, 1, 90*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d sign-in e-mails to %s", len(msgs), email)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body, err := mp.Message(ctx, msgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(regexp.QuoteMeta(browserPublicBase) + `(/signin/link\?t=[A-Za-z0-9_.-]+)`).FindStringSubmatch(body.Text)
	if link == nil {
		t.Fatalf("no sign-in link in the e-mail:\n%s", body.Text)
	}
	return link[1]
}

// browserPublicBase is PUBLIC_BASE_URL of the browser journeys: the links in the e-mails
// start with it, and the test follows their paths on the server it started.
const browserPublicBase = "http://jobs.example.test"

// browserSignUp creates an account through the sign-up page in a real browser and signs in
// with the link e-mailed through the notifier and Mailpit.
func browserSignUp(t *testing.T, b *browsertest.Browser, mp testenv.Mailpit, base, role, name string, fields map[string]string) {
	t.Helper()
	email := strings.ToLower(strings.Fields(name)[0]) + "-" + uuid.NewString()[:8] + "@example.com"
	b.Open(base + "/signup?role=" + role)
	b.CheckAccessibility("sign up as " + role)
	form := map[string]string{"#name": name, "#email": email}
	for k, v := range fields {
		form[k] = v
	}
	b.Fill(form)
	if status := b.Submit("[data-testid=signup]"); status != http.StatusOK {
		t.Fatalf("sign up answered %d", status)
	}
	if got := b.Text("main h1"); got != "Check your e-mail" {
		t.Fatalf("after sign-up: %q", got)
	}
	b.CheckAccessibility("check your e-mail")
	b.Open(base + emailedLink(t, mp, email))
	b.CheckAccessibility("sign-in link")
	b.Submit("[data-testid=use-link]")
	if got := b.Text("[data-testid=notice]"); got != "You are signed in." {
		t.Fatalf("after the link: %q", got)
	}
}

// The candidate's and the employer's journeys in real browsers, on the whole system, with
// axe-core run on every page visited (0 serious or critical violations): the employer signs
// up through the link e-mailed by the notifier (read from Mailpit), posts a job with one invalid field fixed after the error,
// pays in test mode and sees the job live; the candidate finds it with a typo in the query
// (and the page fits a 375 px screen), applies and sees the status the employer moved the
// application to, hired.
func TestBrowserJourneysOfACandidateAndAnEmployer(t *testing.T) {
	t.Parallel()
	mp := testenv.StackMailpit(t)
	cfg := wholeSystemConfig(t)
	cfg.DevMode = true
	cfg.SMTPURL = mp.SMTPURL()
	cfg.PublicBaseURL = browserPublicBase
	m := start(t, cfg)
	base := m.URL()

	emp := browsertest.New(t)
	browserSignUp(t, emp, mp, base, "employer", "Kubera Systems", map[string]string{"#website": "https://kubera.example", "#description": "We run clusters."})
	if !strings.HasPrefix(strings.TrimPrefix(emp.Location(), base), "/employer") {
		t.Fatalf("an employer signed in lands on %s", emp.Location())
	}
	emp.CheckAccessibility("employer dashboard, empty")

	// Post a job with one invalid field; the error is next to it and the input is kept.
	emp.Submit("[data-testid=new-job]")
	emp.CheckAccessibility("post a job")
	emp.Screenshot("post-a-job")
	description := "Run our Kubernetes clusters and our event store, remote across Europe."
	emp.Fill(map[string]string{
		"#title": "ab", "#description": description, "#employment_type": "full_time", "#seniority": "senior",
		"#location-regions": "EMEA", "#location-countries": "DE, FR", "#salary-min": "6000000", "#salary-max": "8000000",
		"#salary-currency": "EUR", "#salary-period": "year", "#tags": "go, kubernetes",
	})
	emp.Click("#location-remote")
	if status := emp.Submit("[data-testid=save-job]"); status != http.StatusUnprocessableEntity {
		t.Fatalf("an invalid title answered %d", status)
	}
	if !emp.Has("#title-error") || emp.Attr("#title", "aria-invalid") != "true" {
		t.Fatal("the title's error is not shown next to it")
	}
	if got := browsertest.Eval[string](emp, `document.getElementById('description').value`); got != description {
		t.Errorf("the description was not kept: %q", got)
	}
	emp.CheckAccessibility("post a job, with an error")
	emp.Screenshot("post-a-job-error")
	const title = "Kubernetes Platform Engineer"
	emp.Fill(map[string]string{"#title": title})
	emp.Submit("[data-testid=save-job]")
	if got := emp.Text("[data-testid=job-status]"); got != "Awaiting payment" {
		t.Fatalf("after saving, the job is %q", got)
	}
	emp.CheckAccessibility("the employer's job, unpaid")

	// Pay in test mode: the job is live.
	emp.Click("#plan-featured")
	emp.Submit("[data-testid=pay]")
	emp.CheckAccessibility("payment")
	emp.Submit("[data-testid=testpay]")
	if got := emp.Text("[data-testid=job-status]"); got != "Published" {
		t.Fatalf("after paying, the job is %q", got)
	}
	paid := emp.Location()
	ct := regexp.MustCompile(`[?&]ct=([^&]+)`).FindStringSubmatch(paid)
	if ct == nil {
		t.Fatalf("no consistency token after paying: %s", paid)
	}
	jobID := strings.TrimPrefix(strings.SplitN(strings.TrimPrefix(paid, base), "?", 2)[0], "/employer/jobs/")
	emp.CheckAccessibility("the employer's job, published")
	emp.Submit("[data-testid=public-page]")
	if got := emp.Text("[data-testid=job-title]"); got != title {
		t.Fatalf("public page title %q", got)
	}

	// A candidate finds it with a typo, on a phone-sized screen too.
	cand := browsertest.New(t)
	browserSignUp(t, cand, mp, base, "candidate", "Ada Lovelace", nil)
	cand.CheckAccessibility("my applications, empty")
	// The home page waits for the publication (ct), as the page after the employer's form
	// would; then the candidate types the query with a typo.
	cand.Open(base + "/?ct=" + ct[1])
	cand.Fill(map[string]string{"#q": "kubernetis"})
	cand.Submit("[data-testid=search]")
	if got := cand.Text("[data-testid=total]"); got != "1 job" {
		t.Fatalf("search for a typo: %q", got)
	}
	if got := cand.Text("#results [data-testid=job].featured h3"); got != title {
		t.Errorf("the featured result is %q", got)
	}
	cand.CheckAccessibility("search")
	cand.Screenshot("search")
	cand.Viewport(browsertest.MobileWidth, 800)
	if w := browsertest.Eval[int](cand, `document.documentElement.scrollWidth`); w > browsertest.MobileWidth {
		t.Errorf("the search page is %d px wide on a %d px screen", w, browsertest.MobileWidth)
	}
	cand.CheckAccessibility("search at 375 px")
	cand.Screenshot("search-375px")
	cand.Viewport(browsertest.Width, browsertest.Height)

	cand.Submit("#results [data-testid=job] h3 a")
	if got := cand.Text("[data-testid=job-title]"); got != title {
		t.Fatalf("job page title %q", got)
	}
	cand.CheckAccessibility("job page")
	cand.Screenshot("job")
	cand.Fill(map[string]string{"#resume_url": "https://cv.example/ada.pdf", "#cover_letter": "I have run clusters for ten years."})
	cand.Submit("[data-testid=apply]")
	if got := cand.Text("[data-testid=application-status]"); got != "Submitted" {
		t.Fatalf("after applying: %q", got)
	}
	cand.CheckAccessibility("my applications")

	// The employer moves the applicant along the pipeline to hired.
	emp.Open(base + "/employer/jobs/" + jobID + "/applicants")
	emp.CheckAccessibility("applicants")
	appID := emp.Attr("[data-testid=applicant]", "data-application-id")
	if appID == "" {
		t.Fatal("no applicant listed")
	}
	for _, status := range []string{"reviewing", "interviewing", "offered", "hired"} {
		emp.Fill(map[string]string{"#status-" + appID: status})
		emp.Submit(`[data-application-id="` + appID + `"] [data-testid=move]`)
		if got := emp.Text("[data-testid=notice]"); got != "The applicant was moved." {
			t.Fatalf("moving to %s: %q", status, got)
		}
	}
	if got := emp.Text("[data-testid=stage-hired]"); !strings.Contains(got, "Ada Lovelace") {
		t.Fatalf("hired stage: %q", got)
	}
	emp.CheckAccessibility("applicants, hired")
	emp.Screenshot("applicants")
	emp.Open(base + "/employer")
	if got := emp.Text(`[data-testid=dashboard-job][data-job-id="` + jobID + `"] [data-testid=job-status]`); got != "Published" {
		t.Errorf("dashboard status %q", got)
	}
	emp.CheckAccessibility("employer dashboard")
	emp.Screenshot("employer-dashboard")

	// The candidate sees the status the employer set.
	cand.Open(base + "/me/applications")
	if got := cand.Text(`[data-application-id="` + appID + `"] [data-testid=application-status]`); got != "Hired" {
		t.Fatalf("the candidate sees %q", got)
	}
	cand.CheckAccessibility("my applications, hired")
	cand.Screenshot("my-applications")
}
