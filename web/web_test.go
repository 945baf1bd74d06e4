package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jobboard/jobboard/application"
)

// TestOwnErrorPages: a handler that panics is our 500 page, an unknown path our 404 page
// and a method a page does not take our 405 page — all HTML, none cached. The application
// here has no handlers at all, so any page that calls one panics.
func TestOwnErrorPages(t *testing.T) {
	t.Parallel()
	s, err := NewServer(Config{
		App:        application.Application{Commands: &application.Commands{}, Queries: &application.Queries{}, Tokens: &application.Tokens{}},
		SigningKey: []byte("a-signing-key-of-at-least-32-bytes!!"),
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		status       int
		text         string
	}{
		{http.MethodGet, "/", http.StatusInternalServerError, "Something went wrong"},
		{http.MethodGet, "/no/such/page", http.StatusNotFound, "Page not found"},
		{http.MethodGet, "/jobs/not-an-id", http.StatusNotFound, "Page not found"},
		{http.MethodDelete, "/", http.StatusMethodNotAllowed, "Method not allowed"},
	} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		body := rec.Body.String()
		if rec.Code != c.status || !strings.Contains(body, c.text) || !strings.Contains(body, `<html lang="en">`) ||
			rec.Header().Get("Cache-Control") != "no-store" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Errorf("%s %s = %d %q %q\n%.300s", c.method, c.path, rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"), body)
		}
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/robots.txt", nil))
	if !strings.Contains(rec.Body.String(), "Disallow: /me/") || !strings.Contains(rec.Body.String(), "Sitemap: http://example.com/sitemap.xml") {
		t.Errorf("robots.txt:\n%s", rec.Body.String())
	}
}
