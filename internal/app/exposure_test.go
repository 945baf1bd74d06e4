package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/google/uuid"

	"github.com/jobboard/jobboard/api"
	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/readmodels"
)

// withSearchIndex gives cfg's search alias an empty index on the real Elasticsearch, as the
// projectors would, so an API-only app searches a real index; it is deleted at the end.
func withSearchIndex(t *testing.T, cfg app.Config) {
	t.Helper()
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{cfg.ElasticsearchURL}})
	if err != nil {
		t.Fatal(err)
	}
	index := cfg.SearchIndexPrefix() + "-test-" + testenv.RandomSuffix()
	if err := readmodels.EnsureSearchIndex(context.Background(), es, index, cfg.SearchAlias(), readmodels.IndexSettings{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if res, err := es.Indices.Delete([]string{index}); err == nil {
			res.Body.Close()
		}
	})
}

// fields are the fields a 400 problem names.
func fields(a answer) []string {
	var out []string
	errs, _ := a.body["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

// mustName checks that a is a 400 problem naming field.
func mustName(t *testing.T, what string, a answer, field string) {
	t.Helper()
	if a.status != http.StatusBadRequest || a.header.Get("Content-Type") != "application/problem+json" || !slices.Contains(fields(a), field) {
		t.Errorf("%s: %d %s, want a 400 problem naming %s", what, a.status, a.raw, field)
	}
}

func randomCursor() string {
	b := make([]byte, 40)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestQueryLimitsRateLimitsAndForgedCursorsAgainstTheRealStack(t *testing.T) {
	t.Parallel()
	cfg := stackConfig(t)
	cfg.TrustForwardedFor = true
	cfg.SearchRateLimit = api.RateLimit{PerMinute: 1, Burst: 3}
	cfg.EmployerRateLimit = api.RateLimit{PerMinute: 1, Burst: 2}
	withSearchIndex(t, cfg)
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	companyID, employer := registerCompany(c)
	_, otherEmployer := registerCompany(c)
	candidate := c.must(c.do("POST", "/v1/candidates", "", map[string]any{"name": "Ada", "email": uuid.NewString() + "@example.test"}), 201)
	candidateToken := candidate.str("token")
	jobID := uuid.NewString()

	// Each request below comes from its own address, so the search limit only bites where
	// a test means it to.
	n := 0
	from := func() string { n++; return fmt.Sprintf("198.51.100.%d", n) }
	get := func(path, token string) answer {
		return c.do(http.MethodGet, path, token, nil, "X-Forwarded-For", from())
	}

	t.Run("q is at most 256 characters and 16 words", func(t *testing.T) {
		c.must(get("/v1/jobs?q="+strings.Repeat("a", 256), ""), 200)
		mustName(t, "257 characters", get("/v1/jobs?q="+strings.Repeat("a", 257), ""), "q")
		c.must(get("/v1/jobs?q="+strings.TrimSuffix(strings.Repeat("go+", 16), "+"), ""), 200)
		mustName(t, "17 words", get("/v1/jobs?q="+strings.TrimSuffix(strings.Repeat("go+", 17), "+"), ""), "q")
	})

	lists := []struct{ path, token string }{
		{"/v1/jobs?sort=newest", ""},
		{"/v1/companies/" + companyID + "/jobs?status=published", employer},
		{"/v1/jobs/" + jobID + "/applications?status=submitted", employer},
		{"/v1/candidates/me/applications?limit=5", candidateToken},
	}
	t.Run("a query string that does not parse is 400 naming the parameter", func(t *testing.T) {
		for _, l := range lists {
			mustName(t, l.path, get(l.path+"&cursor=%%%x", l.token), "cursor")
		}
		mustName(t, "q=%zz", get("/v1/jobs?q=%zz", ""), "q")
		mustName(t, "a job", get("/v1/jobs/"+jobID+"?x=%zz", ""), "x")
	})

	t.Run("a cursor the server did not issue is 400 naming cursor, never 500", func(t *testing.T) {
		b64 := base64.RawURLEncoding.EncodeToString
		forged := map[string]string{
			// The position formats of the read models, made by hand: before cursors were
			// signed, the search one reached Elasticsearch and came back a 500.
			"hand-made search position": b64([]byte(`{"s":"newest","a":["x",{"y":1},"z"]}`)),
			"hand-made keyset":          b64([]byte(`{"t":"2025-01-01T00:00:00Z","i":"not-a-uuid"}`)),
			"random bytes":              randomCursor(),
			"random bytes with a dot":   randomCursor() + "." + randomCursor(),
			"a made-up signature":       b64([]byte(`{"t":"2025-01-01T00:00:00Z","i":"`+jobID+`"}`)) + "." + b64(make([]byte, 32)),
			"just a dot":                ".",
		}
		for _, l := range lists {
			for name, cursor := range forged {
				mustName(t, l.path+": "+name, get(l.path+"&cursor="+cursor, l.token), "cursor")
			}
		}
	})

	t.Run("searches are limited per client, an IPv6 client by its /64", func(t *testing.T) {
		search := func(ip string) answer { return c.do(http.MethodGet, "/v1/jobs?q=go", "", nil, "X-Forwarded-For", ip) }
		for _, ip := range []string{"2001:db8:aa:1::1", "2001:db8:aa:1::2", "2001:db8:aa:1:ffff::3"} {
			c.must(search(ip), 200)
		}
		a := search("2001:db8:aa:1:abcd::4")
		if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" || a.header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("a fourth address of the same /64: %d Retry-After %q %s", a.status, a.header.Get("Retry-After"), a.raw)
		}
		c.must(search("2001:db8:aa:2::1"), 200)
		c.must(search("203.0.113.50"), 200)
	})

	t.Run("the employer's commands are limited per employer, whatever the address", func(t *testing.T) {
		post := func(token, ip string) answer {
			return c.do("POST", "/v1/jobs", token, jobBody(), "X-Forwarded-For", ip)
		}
		c.must(post(employer, "203.0.113.1"), 201)
		c.must(post(employer, "2001:db8:bb::1"), 201)
		a := post(employer, "203.0.113.2")
		if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
			t.Fatalf("a third command from a third address: %d %s", a.status, a.raw)
		}
		c.must(post(otherEmployer, "203.0.113.1"), 201)
	})
}

func TestASearchOverItsTimeBudgetIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	cfg := stackConfig(t)
	// A budget no search can meet, against a real index: deterministic.
	cfg.SearchTimeout = time.Nanosecond
	withSearchIndex(t, cfg)
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	a := c.must(c.read("/v1/jobs?q=engineer", ""), http.StatusServiceUnavailable)
	if a.header.Get("Retry-After") != "1" || a.header.Get("Content-Type") != "application/problem+json" || !strings.Contains(a.str("detail"), "time budget") {
		t.Fatalf("answer: %v %s", a.header, a.raw)
	}
}

// TestCursorsPageEveryListAndContinueOnlyTheirQuery pages the four lists with limit=1 on a
// whole system, then sends each genuine cursor altered, to another list or with other
// parameters.
func TestCursorsPageEveryListAndContinueOnlyTheirQuery(t *testing.T) {
	t.Parallel()
	cfg := wholeSystemConfig(t)
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	company := c.must(c.do("POST", "/v1/companies", "", map[string]any{"name": "Acme", "email": uuid.NewString() + "@acme.test"}), 201)
	companyID, employer := company.str("id"), company.str("token")
	awaitProjectors(c, cfg, companyID, company.str("consistency_token"))
	word := uniqueWord()
	job1, published1 := postAndPay(c, cfg.StripeWebhookSecret, employer, "Go Engineer "+word, "standard")
	job2, published2 := postAndPay(c, cfg.StripeWebhookSecret, employer, "Rust Engineer "+word, "standard")
	// Both publications: the jobs' streams may be applied in either order (other partitions).
	published := published1 + "," + published2
	apply := func(token, jobID string) string {
		return c.must(c.do("POST", "/v1/jobs/"+jobID+"/applications", token, map[string]any{
			"resume_url": "https://cv.example.test/cv.pdf", "cover_letter": "Hello.",
		}), 201).str("consistency_token")
	}
	var ada, bob string
	for _, who := range []*string{&ada, &bob} {
		*who = c.must(c.do("POST", "/v1/candidates", "", map[string]any{"name": "Candidate", "email": uuid.NewString() + "@example.test"}), 201).str("token")
	}
	apply(ada, job1)
	apply(bob, job1)
	applied := apply(ada, job2)

	type list struct {
		name, path, token, consistency string
		want                           []string // the ids of every item, in any order
		// otherQuery is the same list with other parameters.
		otherQuery string
	}
	lists := []list{
		{"search", "/v1/jobs?q=" + word + "&sort=newest", "", published, []string{job1, job2}, "/v1/jobs?q=" + word + "&sort=salary"},
		{"company jobs", "/v1/companies/" + companyID + "/jobs?status=published", employer, published + "," + applied, []string{job1, job2},
			"/v1/companies/" + companyID + "/jobs?status=closed"},
		{"job applications", "/v1/jobs/" + job1 + "/applications?status=submitted", employer, applied, nil,
			"/v1/jobs/" + job1 + "/applications?status=reviewing"},
		{"candidate applications", "/v1/candidates/me/applications?status=submitted", ada, applied, nil,
			"/v1/candidates/me/applications?status=reviewing"},
	}
	firstCursor := map[string]string{}
	for _, l := range lists {
		var seen []string
		cursor := ""
		for page := 0; ; page++ {
			path := l.path + "&limit=1"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			a := c.must(c.read(path, l.token, l.consistency), 200)
			for _, it := range items(a) {
				seen = append(seen, it["id"].(string))
			}
			if cursor = a.str("next_cursor"); cursor == "" {
				break
			}
			if page == 0 {
				firstCursor[l.name] = cursor
			}
			if page > 3 {
				t.Fatalf("%s: more pages than items: %v", l.name, seen)
			}
		}
		if len(seen) != 2 || seen[0] == seen[1] {
			t.Errorf("%s: paged %v, want two distinct items", l.name, seen)
		}
		if l.want != nil && !slices.Equal(sorted(seen), sorted(l.want)) {
			t.Errorf("%s: paged %v, want %v", l.name, seen, l.want)
		}
	}

	for i, l := range lists {
		genuine := firstCursor[l.name]
		if genuine == "" {
			t.Fatalf("%s: no cursor", l.name)
		}
		dot := strings.LastIndexByte(genuine, '.')
		flip := func(s string, at int) string {
			b := []byte(s)
			b[at] = map[bool]byte{true: 'B', false: 'A'}[b[at] == 'A']
			return string(b)
		}
		other := lists[(i+1)%len(lists)]
		for name, path := range map[string]string{
			"tampered in its position":   l.path + "&cursor=" + flip(genuine, dot/2),
			"tampered in its signature":  l.path + "&cursor=" + flip(genuine, len(genuine)-3),
			"truncated":                  l.path + "&cursor=" + genuine[:len(genuine)-4],
			"without its signature":      l.path + "&cursor=" + genuine[:dot],
			"sent with other parameters": l.otherQuery + "&cursor=" + genuine,
			"of another list":            l.path + "&cursor=" + firstCursor[other.name],
		} {
			mustName(t, l.name+": a cursor "+name, c.read(path, l.token), "cursor")
		}
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
