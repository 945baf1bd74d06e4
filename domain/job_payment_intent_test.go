package domain

import (
	"testing"
	"time"
)

func TestRequestListingPayment(t *testing.T) {
	t.Parallel()
	std := mustMoney(t, 4900, "EUR")
	withIntent := func(e *ListingPaymentRequested, intent string) *ListingPaymentRequested {
		e.PaymentIntentID = intent
		return e
	}
	runJobCases(t, []jobCase{
		{
			name:  "records the provider's payment intent id with the request",
			given: []Event{jobPosted(t)},
			when: func(j *Job) error {
				return j.RequestListingPayment(testCompanyID, ListingPaymentRequest{
					PaymentID: "p1", PaymentIntentID: "pi_123", Plan: ListingPlanStandard, Price: std, Duration: listing,
				}, t0)
			},
			then: []Event{withIntent(paymentRequested("p1", ListingPlanStandard, t0), "pi_123")},
			check: func(t *testing.T, j *Job, _ error) {
				if p, ok := j.Payment("p1"); !ok || p.IntentID != "pi_123" {
					t.Errorf("payment = %+v, %v; want intent pi_123", p, ok)
				}
			},
		},
		{
			name:  "is a no-op when repeated with another intent id but the same terms",
			given: []Event{jobPosted(t), withIntent(paymentRequested("p1", ListingPlanStandard, t0), "pi_123")},
			when: func(j *Job) error {
				return j.RequestListingPayment(testCompanyID, ListingPaymentRequest{
					PaymentID: "p1", PaymentIntentID: "pi_456", Plan: ListingPlanStandard, Price: std, Duration: listing,
				}, at(time.Hour))
			},
			check: func(t *testing.T, j *Job, _ error) {
				if p, _ := j.Payment("p1"); p.IntentID != "pi_123" {
					t.Errorf("intent = %q, want the first one", p.IntentID)
				}
			},
		},
	})
}
