package storedevents

import (
	"encoding/json"
	"testing"
	"time"
)

func TestUpcastJobPostedV1(t *testing.T) {
	t.Parallel()
	v1 := `{"job_id":"j1","company_id":"c1","details":{"title":"Go Engineer","description":"Build things","employment_type":"full_time","seniority":"senior","location":{"remote":true,"regions":[],"countries":[]},"tags":["go"]},"posted_at":"2026-03-01T09:00:00Z"}`

	t.Run("renames posted_at to drafted_at and keeps the rest", func(t *testing.T) {
		t.Parallel()
		v2, err := UpcastJobPostedV1(json.RawMessage(v1))
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(v2, &fields); err != nil {
			t.Fatal(err)
		}
		if _, ok := fields["posted_at"]; ok {
			t.Fatalf("v2 still has posted_at: %s", v2)
		}
		if string(fields["drafted_at"]) != `"2026-03-01T09:00:00Z"` {
			t.Fatalf("drafted_at = %s", fields["drafted_at"])
		}
		var e JobPostedV2
		if err := json.Unmarshal(v2, &e); err != nil {
			t.Fatal(err)
		}
		if e.JobID != "j1" || e.CompanyID != "c1" || e.Details.Title != "Go Engineer" ||
			!e.DraftedAt.Equal(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)) {
			t.Fatalf("decoded v2 = %+v", e)
		}
	})

	t.Run("refuses data that is not an object", func(t *testing.T) {
		t.Parallel()
		for _, bad := range []string{`[]`, `null`, `"x"`, `{`} {
			if _, err := UpcastJobPostedV1(json.RawMessage(bad)); err == nil {
				t.Errorf("UpcastJobPostedV1(%s) = nil error", bad)
			}
		}
	})
}
