package domain

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestEventRegistry(t *testing.T) {
	t.Parallel()
	types := EventTypes()
	if len(types) != 17 {
		t.Fatalf("%d event types: %q", len(types), types)
	}
	for _, name := range types {
		e, ok := NewEvent(name)
		if !ok || e.EventType() != name || e.SchemaVersion() < 1 {
			t.Errorf("NewEvent(%q) = %#v, %v", name, e, ok)
			continue
		}
		st, ok := StreamTypeOf(name)
		if !ok || !strings.HasPrefix(name, st+".") {
			t.Errorf("StreamTypeOf(%q) = %q", name, st)
		}
		if again, _ := NewEvent(name); again == e {
			t.Errorf("NewEvent(%q) shares its value", name)
		}
	}
	if _, ok := NewEvent("job.updated"); ok {
		t.Error("unknown type known")
	}
}

// TestStoredShapes pins the JSON that is stored: changing it breaks stored history and
// every projector, so it needs a new schema version and an upcaster instead.
func TestStoredShapes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		event Event
		want  string
	}{
		{paymentRequested("p1", ListingPlanFeatured, t0),
			`{"job_id":"8f8b8a4e-0d6a-4a59-9d47-3a2b5c1d0e01","company_id":"c0000000-0000-4000-8000-000000000001","payment_id":"p1","plan":"featured","amount":9900,"currency":"EUR","duration_seconds":2592000,"requested_at":"2026-03-01T09:00:00Z"}`},
		{listingPaid("p1", ListingPlanStandard, t0),
			`{"job_id":"8f8b8a4e-0d6a-4a59-9d47-3a2b5c1d0e01","company_id":"c0000000-0000-4000-8000-000000000001","payment_id":"p1","plan":"standard","amount":4900,"currency":"EUR","paid_at":"2026-03-01T09:00:00Z"}`},
		{jobPublished("p1", ListingPlanFeatured, t0),
			`{"job_id":"8f8b8a4e-0d6a-4a59-9d47-3a2b5c1d0e01","company_id":"c0000000-0000-4000-8000-000000000001","payment_id":"p1","plan":"featured","featured":true,"published_at":"2026-03-01T09:00:00Z","expires_at":"2026-03-31T09:00:00Z"}`},
		{paymentCanceled("p1", "pi_1", "p2", t0),
			`{"job_id":"8f8b8a4e-0d6a-4a59-9d47-3a2b5c1d0e01","company_id":"c0000000-0000-4000-8000-000000000001","payment_id":"p1","payment_intent_id":"pi_1","replaced_by":"p2","canceled_at":"2026-03-01T09:00:00Z"}`},
		{paymentRefunded("p1", ListingPlanStandard, RefundReasonAlreadyPaid, t0, t0),
			`{"job_id":"8f8b8a4e-0d6a-4a59-9d47-3a2b5c1d0e01","company_id":"c0000000-0000-4000-8000-000000000001","payment_id":"p1","refund_id":"re_1","amount":4900,"currency":"EUR","reason":"already_paid","paid_at":"2026-03-01T09:00:00Z","refunded_at":"2026-03-01T09:00:00Z"}`},
		{jobExpired(t0),
			`{"job_id":"8f8b8a4e-0d6a-4a59-9d47-3a2b5c1d0e01","company_id":"c0000000-0000-4000-8000-000000000001","expires_at":"2026-03-01T09:00:00Z","expired_at":"2026-03-01T09:00:00Z"}`},
		{&CompanyTokenRotated{CompanyID: testCompanyID, RotatedAt: t0},
			`{"company_id":"c0000000-0000-4000-8000-000000000001","rotated_at":"2026-03-01T09:00:00Z"}`},
		{&CandidateTokenRotated{CandidateID: testCandidateID, RotatedAt: t0},
			`{"candidate_id":"d0000000-0000-4000-8000-000000000001","rotated_at":"2026-03-01T09:00:00Z"}`},
		{statusChanged(ApplicationStatusSubmitted, ApplicationStatusReviewing, t0.Add(time.Second)),
			`{"application_id":"` + testApplicationID + `","job_id":"8f8b8a4e-0d6a-4a59-9d47-3a2b5c1d0e01","company_id":"c0000000-0000-4000-8000-000000000001","candidate_id":"d0000000-0000-4000-8000-000000000001","from":"submitted","to":"reviewing","changed_at":"2026-03-01T09:00:01Z"}`},
	}
	for _, c := range cases {
		t.Run(c.event.EventType(), func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(c.event)
			if err != nil || string(b) != c.want {
				t.Fatalf("%s stored as\n%s (%v)\nwant\n%s", c.event.EventType(), b, err, c.want)
			}
			roundTrip(t, c.event)
		})
	}
	t.Run("job.posted nests the details", func(t *testing.T) {
		t.Parallel()
		b, err := json.Marshal(jobPosted(t))
		if err != nil || !strings.HasPrefix(string(b), `{"job_id":"`+testJobID+`","company_id":"`+testCompanyID+`","details":{"title":"Senior Go Engineer",`) ||
			!strings.HasSuffix(string(b), `},"drafted_at":"2026-03-01T09:00:00Z"}`) {
			t.Fatalf("job.posted stored as %s (%v)", b, err)
		}
		roundTrip(t, jobPosted(t))
	})
}

func TestApplicationKey(t *testing.T) {
	t.Parallel()
	key := ApplicationKey(testJobID, testCandidateID)
	if key != ApplicationKey(testJobID, testCandidateID) {
		t.Fatal("not deterministic")
	}
	for _, other := range []string{
		ApplicationKey(testJobID, otherCandidate),
		ApplicationKey(testCandidateID, testJobID),
	} {
		if other == key {
			t.Fatalf("collision: %s", other)
		}
	}
}
