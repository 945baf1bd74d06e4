package api

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestLimitKeyCountsAnIPv6ClientByIts64(t *testing.T) {
	t.Parallel()
	for ip, want := range map[string]string{
		"203.0.113.7":                      "203.0.113.7",
		"::ffff:203.0.113.7":               "203.0.113.7",
		"2001:db8:1:2::1":                  "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff:ffff:ffff": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":                  "2001:db8:1:3::/64",
		"fe80::1%eth0":                     "fe80::/64",
		"@":                                "@",
	} {
		if got := limitKey(ip); got != want {
			t.Errorf("limitKey(%q) = %q, want %q", ip, got, want)
		}
	}
}

func TestParseQueryNamesWhatDoesNotDecode(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string][]string{
		"cursor=%%%x":          {"cursor"},
		"q=%zz&limit=5":        {"q"},
		"q=ok&cursor=%&sort=%": {"cursor", "sort"},
		"%zz=1":                {"query"},
		"a=1;b=2":              {"query"},
		"q=go+lang&limit=5":    nil,
	} {
		_, bad := parseQuery(raw)
		var got []string
		for _, f := range bad {
			got = append(got, f.Field)
		}
		if !slices.Equal(got, want) {
			t.Errorf("parseQuery(%q) names %v, want %v", raw, got, want)
		}
	}
}

func TestEveryRouteReadingAQueryStringRefusesOneThatDoesNotParse(t *testing.T) {
	t.Parallel()
	s := newQueryServer(t, &fakeQueries{})
	for _, tc := range []struct{ path, token, field string }{
		{"/v1/jobs?cursor=%%%x", "", "cursor"},
		{"/v1/jobs?q=%zz", "", "q"},
		{"/v1/jobs/" + publishedID + "?x=%zz", "", "x"},
		{"/v1/companies/" + ownerID + "?%zz", "", "query"},
		{"/v1/companies/" + ownerID + "/jobs?cursor=%%%x", "owner", "cursor"},
		{"/v1/jobs/" + publishedID + "/applications?cursor=%%%x", "owner", "cursor"},
		{"/v1/candidates/me/applications?cursor=%%%x", "candidate", "cursor"},
	} {
		a := query(t, s, tc.path, tc.token)
		if a.status != 400 || !slices.Contains(problemFields(t, a), tc.field) {
			t.Errorf("%s: %d %s, want 400 naming %s", tc.path, a.status, a.raw, tc.field)
		}
	}
	ops := newTestServer(t, func(c *ServerConfig) { c.App.Admin = (&fakeAdmin{}).admin() })
	for _, path := range []string{"/v1/admin/events?after=%%%x", "/v1/admin/streams/" + ownerID + "?as_of=%zz"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer operator-token-for-tests")
		ops.ServeHTTP(rec, req)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"field":"`) {
			t.Errorf("%s: %d %s, want 400 naming the parameter", path, rec.Code, rec.Body)
		}
	}
}

func TestQIsAtMost256CharactersAnd16Words(t *testing.T) {
	t.Parallel()
	s := newQueryServer(t, &fakeQueries{})
	for q, want := range map[string]int{
		strings.Repeat("a", 256):                     200,
		strings.Repeat("a", 257):                     400,
		strings.Repeat("é", 256):                     200, // characters, not bytes
		strings.TrimSpace(strings.Repeat("go ", 16)): 200,
		strings.TrimSpace(strings.Repeat("go ", 17)): 400,
	} {
		a := query(t, s, "/v1/jobs?q="+strings.ReplaceAll(q, " ", "+"), "")
		if a.status != want {
			t.Errorf("q of %d characters, %d words: %d %s, want %d", len([]rune(q)), len(strings.Fields(q)), a.status, a.raw, want)
			continue
		}
		if want == 400 && !slices.Equal(problemFields(t, a), []string{"q"}) {
			t.Errorf("q of %d characters, %d words names %v", len([]rune(q)), len(strings.Fields(q)), problemFields(t, a))
		}
	}
}

func TestACursorOnlyContinuesTheQueryThatIssuedIt(t *testing.T) {
	t.Parallel()
	s := newQueryServer(t, &fakeQueries{})
	other := newTestServer(t, func(c *ServerConfig) { c.SigningKey = []byte("another-deployment-signing-key-0123456789") })
	scope := cursorScope{"company-jobs", ownerID, ""}
	sealed := s.sealCursor(scope, "position")
	if pos, ok := s.openCursor(scope, sealed); !ok || pos != "position" {
		t.Fatalf("a genuine cursor opens to %q, %v", pos, ok)
	}
	if c := s.sealCursor(scope, ""); c != "" {
		t.Fatalf("the last page's cursor = %q, want empty", c)
	}
	random := make([]byte, 48)
	_, _ = rand.Read(random)
	for name, c := range map[string]string{
		"tampered position": "pOsition" + sealed[len("position"):],
		"tampered mac":      sealed[:len(sealed)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(sealed, "AA")],
		"truncated":         sealed[:len(sealed)-5],
		"no mac":            "position",
		"only a dot":        ".",
		"random bytes":      base64.RawURLEncoding.EncodeToString(random),
		"foreign key":       other.sealCursor(scope, "position"),
		"another status":    s.sealCursor(cursorScope{"company-jobs", ownerID, "published"}, "position"),
		"another owner":     s.sealCursor(cursorScope{"company-jobs", otherID, ""}, "position"),
		"another list":      s.sealCursor(cursorScope{"job-applications", ownerID, ""}, "position"),
		"too long":          s.sealCursor(scope, strings.Repeat("p", maxCursorLen)),
	} {
		if _, ok := s.openCursor(scope, c); ok {
			t.Errorf("%s: %q opens", name, c)
		}
	}
}

func TestTheSearchLimitCountsAnIPv6ClientByIts64(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newTestServer(t, func(c *ServerConfig) {
		c.App.Tokens, c.App.Queries = tokensOf(queryCredentials), (&fakeQueries{}).queries()
		c.SearchRateLimit = RateLimit{PerMinute: 6, Burst: 2}
		c.TrustForwardedFor = true
		c.Now = func() time.Time { return now }
	})
	search := func(from string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/v1/jobs?q=go", nil)
		req.Header.Set("X-Forwarded-For", from)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	if a, b := search("2001:db8:1:2::1"), search("2001:db8:1:2::beef"); a.Code != 200 || b.Code != 200 {
		t.Fatalf("within the burst: %d, %d", a.Code, b.Code)
	}
	rec := search("2001:db8:1:2:ffff::1")
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "10" || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("a third address of the same /64 = %d, Retry-After %q: %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if rec := search("2001:db8:1:3::1"); rec.Code != 200 {
		t.Fatalf("the next /64 = %d", rec.Code)
	}
	if rec := search("203.0.113.7"); rec.Code != 200 {
		t.Fatalf("an IPv4 client = %d", rec.Code)
	}
	if rec := query(t, s, "/v1/companies/"+ownerID, ""); rec.status != 200 {
		t.Fatalf("other queries are not limited: %d", rec.status)
	}
}

func TestTheEmployerLimitCountsPerPrincipal(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	reg := prometheus.NewRegistry()
	s := newTestServer(t, func(c *ServerConfig) {
		c.Registry, c.Gatherer = reg, reg
		c.App.Tokens = tokensOf(queryCredentials)
		c.EmployerRateLimit = RateLimit{PerMinute: 6, Burst: 2}
		c.TrustForwardedFor = true
		c.Now = func() time.Time { return now }
	})
	closeJob := func(token, from string) int {
		req := httptest.NewRequest(http.MethodPost, "/v1/jobs/"+publishedID+"/close", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Forwarded-For", from)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code
	}
	if a, b := closeJob("owner", "203.0.113.1"), closeJob("owner", "203.0.113.2"); a == 429 || b == 429 {
		t.Fatalf("within the burst: %d, %d", a, b)
	}
	if code := closeJob("owner", "198.51.100.9"); code != 429 {
		t.Fatalf("the same employer from a third address = %d, want 429", code)
	}
	if code := closeJob("other", "203.0.113.1"); code == 429 {
		t.Fatal("another employer from the same address is limited")
	}
	now = now.Add(10 * time.Second)
	if code := closeJob("owner", "203.0.113.1"); code == 429 {
		t.Fatal("still limited after Retry-After")
	}
}
