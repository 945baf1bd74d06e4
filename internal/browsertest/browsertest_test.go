package browsertest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jobboard/jobboard/internal/browsertest"
)

const goodPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Search</title></head>
<body><main><h1>Search</h1><form action="/result" method="get">
<label for="q">Query</label><input id="q" name="q"><button type="submit">Search</button></form></main></body></html>`

// badPage has an image without alternative text and an unlabelled input: axe calls both
// critical.
const badPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bad</title></head>
<body><main><h1>Bad</h1><img src="/x.png"><input id="nolabel"></main></body></html>`

func server(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, goodPage) })
	mux.HandleFunc("/bad", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, badPage) })
	mux.HandleFunc("/result", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>R</title></head><body><main><h1>R</h1><p id="got">%s</p></main></body></html>`,
			strings.ReplaceAll(r.URL.Query().Get("q"), "<", "&lt;"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// The helper fills a form, submits it, reads the page it leads to with its status, and axe
// finds nothing serious on a well-made page.
func TestBrowserFillsSubmitsAndChecksAccessibility(t *testing.T) {
	srv := server(t)
	b := browsertest.New(t)
	if status := b.Open(srv.URL); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if v := b.CheckAccessibility("good page"); len(v) != 0 {
		t.Errorf("violations on a clean page: %+v", v)
	}
	b.Fill(map[string]string{"#q": "golang remote"})
	if status := b.Submit("button[type=submit]"); status != http.StatusTeapot {
		t.Fatalf("status after submit %d, want 418", status)
	}
	if got := b.Text("#got"); got != "golang remote" {
		t.Errorf("text %q", got)
	}
	if !strings.Contains(b.Location(), "/result?q=golang+remote") {
		t.Errorf("location %s", b.Location())
	}
}

// recorder is a testing.TB that keeps the errors instead of failing the real test, so the
// failure of CheckAccessibility can itself be asserted.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

// A page with critical violations fails the check, and the failure names the rules and the
// elements at fault.
func TestAccessibilityCheckFailsOnCriticalViolationsNamingThem(t *testing.T) {
	srv := server(t)
	rec := &recorder{TB: t}
	b := browsertest.New(rec)
	b.Open(srv.URL + "/bad")
	b.CheckAccessibility("bad page")
	if len(rec.errors) != 1 {
		t.Fatalf("errors %v, want one", rec.errors)
	}
	for _, want := range []string{"image-alt", "label", "#nolabel", "<img src=\"/x.png\">", "critical"} {
		if !strings.Contains(rec.errors[0], want) {
			t.Errorf("the failure does not name %q:\n%s", want, rec.errors[0])
		}
	}
}
