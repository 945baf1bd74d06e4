package app_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/jobboard/jobboard/internal/app"
)

// The operators' pages let in an operator token only: not a visitor, not an account's token,
// not a forged or altered cookie; a sign-in never redirects off the operator pages; bad input
// is a 4xx page, never a 500.
func TestWebOperatorPagesLetInOperatorsOnly(t *testing.T) {
	t.Parallel()
	cfg := stackConfig(t)
	cfg.Roles = []string{app.RoleAPI, app.RoleWeb}
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	candidate := c.must(c.do("POST", "/v1/candidates", "", map[string]any{"name": "Eve", "email": uuid.NewString() + "@example.test"}), 201)

	noFollow := func(jar http.CookieJar) *http.Client {
		return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	call := func(hc *http.Client, method, path string, form url.Values) (int, string, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, m.URL()+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Location"), string(b)
	}

	visitor := noFollow(nil)
	if status, loc, _ := call(visitor, "GET", "/operator/events", nil); status != http.StatusSeeOther || loc != "/operator/signin?next=%2Foperator%2Fevents" {
		t.Errorf("a visitor: %d %s", status, loc)
	}
	if status, _, body := call(visitor, "GET", "/operator/projections/JobSearchProjector/rebuilds/"+uuid.NewString()+".json", nil); status != http.StatusUnauthorized || !strings.Contains(body, "sign in") {
		t.Errorf("a visitor's JSON: %d %s", status, body)
	}
	if status, _, body := call(visitor, "POST", "/operator/signin", url.Values{"token": {candidate.str("token")}}); status != http.StatusUnauthorized || !strings.Contains(body, "not an operator token") {
		t.Errorf("an account's token as an operator's: %d", status)
	}

	jar, _ := cookiejar.New(nil)
	op := noFollow(jar)
	status, loc, _ := call(op, "POST", "/operator/signin", url.Values{"token": {cfg.OperatorToken}, "next": {"//evil.example/x"}})
	if status != http.StatusSeeOther || loc != "/operator" {
		t.Fatalf("sign-in with an outside next: %d %s", status, loc)
	}
	u, _ := url.Parse(m.URL() + "/operator")
	cookies := jar.Cookies(u)
	if len(cookies) != 1 || cookies[0].Name != "jb_operator" {
		t.Fatalf("cookies after sign-in: %v", cookies)
	}
	if status, _, body := call(op, "GET", "/operator", nil); status != http.StatusOK || !strings.Contains(body, "Signed in as operator") {
		t.Fatalf("signed in: %d", status)
	}

	t.Run("an altered cookie is a visitor", func(t *testing.T) {
		forged, _ := cookiejar.New(nil)
		v := cookies[0].Value
		forged.SetCookies(u, []*http.Cookie{{Name: "jb_operator", Value: v[:len(v)-2] + "xx", Path: "/operator"}})
		if status, _, _ := call(noFollow(forged), "GET", "/operator", nil); status != http.StatusSeeOther {
			t.Errorf("an altered cookie: %d", status)
		}
	})
	t.Run("the operator's cookie is not an account's session", func(t *testing.T) {
		if status, _, _ := call(op, "GET", "/me/applications", nil); status != http.StatusSeeOther {
			t.Errorf("an operator on a candidate's page: %d", status)
		}
	})
	t.Run("bad input is a 4xx page", func(t *testing.T) {
		for path, want := range map[string]int{
			"/operator/streams/not-a-uuid":                                   404,
			"/operator/streams/" + uuid.NewString():                          404,
			"/operator/streams/" + uuid.NewString() + "?as_of=yesterday":     400,
			"/operator/events?after=-1":                                      400,
			"/operator/events?after=999999999":                               400,
			"/operator/events?until=31.01.2025":                              400,
			"/operator/events?type=" + strings.Repeat("a,", 60):              400,
			"/operator/projections/JobSearchProjector/rebuilds/not-a-uuid":   404,
			"/operator/projections/NoSuchProjector/dead-letters":             404,
			"/operator/projections/JobSearchProjector/dead-letters/99999999": 404,
		} {
			if status, _, body := call(op, "GET", path, nil); status != want || !strings.Contains(body, "<html") {
				t.Errorf("GET %s: %d, want %d", path, status, want)
			}
		}
		if status, _, _ := call(op, "POST", "/operator/projections/NoSuchProjector/rebuild", url.Values{}); status != http.StatusNotFound {
			t.Errorf("rebuild of an unknown projection: %d", status)
		}
		if status, _, _ := call(op, "POST", "/operator/projections/JobSearchProjector/dead-letters/replay", url.Values{"id": {"x"}}); status != http.StatusBadRequest {
			t.Errorf("replay of a bad id: %d", status)
		}
	})
	t.Run("sign-out ends the session", func(t *testing.T) {
		call(op, "POST", "/operator/signout", url.Values{})
		if status, _, _ := call(op, "GET", "/operator", nil); status != http.StatusSeeOther {
			t.Errorf("after sign-out: %d", status)
		}
	})
	if _, _, body := call(visitor, "GET", "/robots.txt", nil); !strings.Contains(body, "Disallow: /operator") {
		t.Errorf("robots.txt:\n%s", body)
	}
}
