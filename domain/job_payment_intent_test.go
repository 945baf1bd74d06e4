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
				_, err := j.RequestListingPayment(testCompanyID, ListingPaymentRequest{
					PaymentID: "p1", PaymentIntentID: "pi_123", Plan: ListingPlanStandard, Price: std, Duration: listing,
				}, t0)
				return err
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
				_, err := j.RequestListingPayment(testCompanyID, ListingPaymentRequest{
					PaymentID: "p1", PaymentIntentID: "pi_456", Plan: ListingPlanStandard, Price: std, Duration: listing,
				}, at(time.Hour))
				return err
			},
			check: func(t *testing.T, j *Job, _ error) {
				if p, _ := j.Payment("p1"); p.IntentID != "pi_123" {
					t.Errorf("intent = %q, want the first one", p.IntentID)
				}
			},
		},
		{
			name:  "returns the open payment of the same plan and records nothing",
			given: []Event{jobPosted(t), withIntent(paymentRequested("p1", ListingPlanStandard, t0), "pi_123")},
			when: func(j *Job) error {
				open, err := j.RequestListingPayment(testCompanyID, ListingPaymentRequest{
					PaymentID: "p2", Plan: ListingPlanStandard, Price: std, Duration: listing,
				}, at(time.Hour))
				if open.ID != "p1" || open.IntentID != "pi_123" {
					t.Errorf("open payment = %+v, want p1", open)
				}
				return err
			},
		},
		{
			name:  "cancels the open payment of another plan and opens the new one",
			given: []Event{jobPosted(t), withIntent(paymentRequested("p1", ListingPlanStandard, t0), "pi_123")},
			when: func(j *Job) error {
				open, err := j.RequestListingPayment(testCompanyID, ListingPaymentRequest{
					PaymentID: "p2", PaymentIntentID: "pi_456", Plan: ListingPlanFeatured, Price: mustMoney(t, 9900, "EUR"), Duration: listing,
				}, at(time.Hour))
				if open.ID != "p2" || open.Status != PaymentStatusRequested {
					t.Errorf("open payment = %+v, want p2", open)
				}
				return err
			},
			then: []Event{paymentCanceled("p1", "pi_123", "p2", at(time.Hour)), withIntent(paymentRequested("p2", ListingPlanFeatured, at(time.Hour)), "pi_456")},
			check: func(t *testing.T, j *Job, _ error) {
				if p, _ := j.Payment("p1"); p.Status != PaymentStatusCanceled || !p.CanceledAt.Equal(at(time.Hour)) {
					t.Errorf("p1 = %+v, want canceled", p)
				}
				if open, ok := j.OpenPayment(); !ok || open.ID != "p2" {
					t.Errorf("open payment = %+v, %v", open, ok)
				}
			},
		},
		{
			name: "a renewal cancels a payment left open before the close",
			given: []Event{jobPosted(t), withIntent(paymentRequested("p1", ListingPlanStandard, t0), "pi_123"),
				jobClosed(at(time.Minute))},
			when: func(j *Job) error {
				if _, ok := j.OpenPayment(); ok {
					t.Error("a payment of an ended period is open")
				}
				_, err := j.RequestListingPayment(testCompanyID, ListingPaymentRequest{
					PaymentID: "p2", Plan: ListingPlanStandard, Price: std, Duration: listing,
				}, at(time.Hour))
				return err
			},
			then:  []Event{paymentCanceled("p1", "pi_123", "p2", at(time.Hour)), paymentRequested("p2", ListingPlanStandard, at(time.Hour))},
			check: wantStatus(JobStatusAwaitingPayment),
		},
	})
}
