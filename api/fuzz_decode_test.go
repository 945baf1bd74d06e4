package api

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

// The decoding and validation of every command body, fuzzed: whatever the bytes, the
// decoder must not panic and must answer either success or a client error (400 naming at
// least one field, or 413) — never something that would become a 500. Seeds live in
// testdata/fuzz/<target>/ and run as ordinary tests in `go test`.

// checkDecodeError asserts err is a client error that names a field.
func checkDecodeError(t *testing.T, body []byte, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("body %q: a non-application error %T: %v", body, err, err)
	}
	switch ae.Code {
	case apperr.TooLarge:
	case apperr.Invalid:
		if len(ae.Fields) == 0 {
			t.Fatalf("body %q: an invalid-input error naming no field: %v", body, err)
		}
		for _, f := range ae.Fields {
			if f.Field == "" || f.Message == "" {
				t.Fatalf("body %q: a field error without field or message: %+v", body, f)
			}
		}
	default:
		t.Fatalf("body %q: code %s, want invalid or too_large: %v", body, ae.Code, err)
	}
}

func fuzzRequest(body []byte) (*httptest.ResponseRecorder, *http.Request) {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return httptest.NewRecorder(), req
}

func addSeeds(f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
}

var commonSeeds = []string{``, `{}`, `null`, `[]`, `"x"`, `{"a":1}`, `{"title":`, `{} {}`, "\x00", `{"name":1e999}`}

func FuzzDecodeRegisterCompany(f *testing.F) {
	addSeeds(f, commonSeeds...)
	addSeeds(f, `{"name":"Acme","email":"jobs@acme.test","website":"https://acme.test","description":"We make things."}`,
		`{"name":"","email":"nope","website":"ftp://x"}`, `{"name":"A\u0000","email":"a@b.c"}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		w, r := fuzzRequest(body)
		_, err := decodeRegisterCompany(w, r)
		checkDecodeError(t, body, err)
	})
}

func FuzzDecodeRegisterCandidate(f *testing.F) {
	addSeeds(f, commonSeeds...)
	addSeeds(f, `{"name":"Ada","email":"ada@example.com"}`, `{"name":true,"email":[]}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		w, r := fuzzRequest(body)
		_, err := decodeRegisterCandidate(w, r)
		checkDecodeError(t, body, err)
	})
}

const validJob = `{"title":"Senior Go Engineer","description":"Build an event-sourced job marketplace.","employment_type":"full_time","seniority":"senior","location":{"remote":true,"regions":["EMEA"],"countries":["DE"],"timezones":{"min_utc_offset":-1,"max_utc_offset":3}},"salary":{"min":1,"max":2,"currency":"EUR","period":"year"},"tags":["go"],"apply_url":"https://acme.test/apply"}`

func FuzzDecodePostJob(f *testing.F) {
	addSeeds(f, commonSeeds...)
	addSeeds(f, validJob,
		`{"title":"x","salary":{"min":5,"max":1,"currency":"eur","period":"week"},"location":{"countries":["de","ZZ"],"timezones":{"min_utc_offset":5.3,"max_utc_offset":99}}}`,
		`{"salary":{"min":"lots"}}`, `{"tags":[1]}`, `{"location":{"timezones":{"min_utc_offset":1e400}}}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		w, r := fuzzRequest(body)
		_, err := decodePostJob(w, r)
		checkDecodeError(t, body, err)
	})
}

func FuzzDecodeUpdateJob(f *testing.F) {
	addSeeds(f, commonSeeds...)
	addSeeds(f, `{"title":"A new title"}`, `{"salary":null}`, `{"salary":null,"title":null}`, `{"salary":{"min":1,"max":2,"currency":"EUR","period":"month"}}`,
		`{"location":{"remote":false,"bogus":1}}`, `{"tags":["a","b"],"apply_url":""}`, `{"tags":null}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		w, r := fuzzRequest(body)
		_, err := decodeUpdateJob(w, r)
		checkDecodeError(t, body, err)
	})
}

func FuzzDecodePayForListing(f *testing.F) {
	addSeeds(f, commonSeeds...)
	addSeeds(f, `{"plan":"standard"}`, `{"plan":"featured"}`, `{"plan":"gold"}`, `{"plan":7}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		w, r := fuzzRequest(body)
		_, err := decodePayForListing(w, r)
		checkDecodeError(t, body, err)
	})
}

func FuzzDecodeApply(f *testing.F) {
	addSeeds(f, commonSeeds...)
	addSeeds(f, `{"resume_url":"https://cv.test/ada.pdf","cover_letter":"Hello"}`, `{"resume_url":""}`, `{"cover_letter":"\ud800"}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		w, r := fuzzRequest(body)
		_, err := decodeApply(w, r)
		checkDecodeError(t, body, err)
	})
}

func FuzzDecodeChangeApplicationStatus(f *testing.F) {
	addSeeds(f, commonSeeds...)
	addSeeds(f, `{"status":"reviewing"}`, `{"status":"withdrawn"}`, `{"status":"submitted"}`, `{"status":""}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		w, r := fuzzRequest(body)
		_, err := decodeChangeApplicationStatus(w, r)
		checkDecodeError(t, body, err)
	})
}

func FuzzDecodeEmptyBody(f *testing.F) {
	addSeeds(f, commonSeeds...)
	f.Fuzz(func(t *testing.T, body []byte) {
		w, r := fuzzRequest(body)
		checkDecodeError(t, body, decodeEmpty(w, r))
	})
}

// FuzzDecodeAlert: the body of POST /v1/candidates/me/alerts is refused only with fields
// named, and what the search's reader accepts the domain accepts too (the two checks agree).
func FuzzDecodeAlert(f *testing.F) {
	addSeeds(f, commonSeeds...)
	addSeeds(f, `{"q":"go","tags":["Go","kafka,sql"],"remote":true,"country":"de","frequency":"daily"}`,
		`{"salary_min":-1,"currency":"eur","frequency":"instant"}`, `{"q":"`+strings.Repeat("w ", 17)+`","frequency":"weekly"}`,
		`{"tags":["`+strings.Repeat("t", 41)+`"],"frequency":"hourly"}`, `{"company_id":"not-a-uuid","sort":"newest","frequency":"daily"}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		w, r := fuzzRequest(body)
		in, err := decodeAlert(w, r)
		checkDecodeError(t, body, err)
		if err != nil {
			return
		}
		if _, err := domain.CreateAlert("a1000000-0000-4000-8000-000000000001", "k1", in, time.Now()); err != nil {
			t.Fatalf("body %q: the API accepted what the domain refuses: %v", body, err)
		}
	})
}
