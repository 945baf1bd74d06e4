package domain

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

const (
	testJobID       = "8f8b8a4e-0d6a-4a59-9d47-3a2b5c1d0e01"
	testCompanyID   = "c0000000-0000-4000-8000-000000000001"
	otherCompanyID  = "c0000000-0000-4000-8000-000000000002"
	testCandidateID = "d0000000-0000-4000-8000-000000000001"
	otherCandidate  = "d0000000-0000-4000-8000-000000000002"
	listingDays     = 30
)

var (
	t0      = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	listing = listingDays * 24 * time.Hour
)

func at(d time.Duration) time.Time { return t0.Add(d) }

func validDetailsInput() JobDetailsInput {
	return JobDetailsInput{
		Title:          "Senior Go Engineer",
		Description:    "Build an event-sourced job marketplace with us.",
		EmploymentType: "full_time",
		Seniority:      "senior",
		Location: LocationInput{
			Remote:    true,
			Regions:   []string{"EMEA"},
			Countries: []string{"DE", "FR"},
			Timezones: &TimezonesInput{MinUTCOffset: -1, MaxUTCOffset: 3},
		},
		Salary:   &SalaryInput{Min: 80_000_00, Max: 110_000_00, Currency: "EUR", Period: "year"},
		Tags:     []string{"go", "postgresql"},
		ApplyURL: "https://example.com/jobs/1",
	}
}

func mustDetails(tb testing.TB, in JobDetailsInput) JobDetails {
	tb.Helper()
	d, err := NewJobDetails(in)
	if err != nil {
		tb.Fatalf("NewJobDetails: %v", err)
	}
	return d
}

func mustMoney(tb testing.TB, amount int64, currency string) Money {
	tb.Helper()
	m, err := NewMoney(amount, currency)
	if err != nil {
		tb.Fatalf("NewMoney: %v", err)
	}
	return m
}

var euro = Currency{code: "EUR"}

func jobPosted(tb testing.TB) *JobPosted {
	tb.Helper()
	return &JobPosted{JobID: testJobID, CompanyID: testCompanyID, Details: mustDetails(tb, validDetailsInput()), PostedAt: t0}
}

func paymentRequested(id string, plan ListingPlan, when time.Time) *ListingPaymentRequested {
	return &ListingPaymentRequested{
		JobID: testJobID, CompanyID: testCompanyID, PaymentID: id, Plan: plan,
		Amount: priceOf(plan), Currency: euro, DurationSeconds: int64(listing / time.Second), RequestedAt: when,
	}
}

func priceOf(plan ListingPlan) int64 {
	if plan == ListingPlanFeatured {
		return 9900
	}
	return 4900
}

func listingPaid(id string, plan ListingPlan, when time.Time) *ListingPaid {
	return &ListingPaid{JobID: testJobID, CompanyID: testCompanyID, PaymentID: id, Plan: plan, Amount: priceOf(plan), Currency: euro, PaidAt: when}
}

func paymentFailed(id string, when time.Time) *ListingPaymentFailed {
	return &ListingPaymentFailed{JobID: testJobID, CompanyID: testCompanyID, PaymentID: id, Reason: "card_declined", FailedAt: when}
}

func paymentCanceled(id, intent, replacedBy string, when time.Time) *ListingPaymentCanceled {
	return &ListingPaymentCanceled{JobID: testJobID, CompanyID: testCompanyID, PaymentID: id, PaymentIntentID: intent, ReplacedBy: replacedBy, CanceledAt: when}
}

func paymentRefunded(id string, plan ListingPlan, reason string, paidAt, refundedAt time.Time) *ListingPaymentRefunded {
	return &ListingPaymentRefunded{
		JobID: testJobID, CompanyID: testCompanyID, PaymentID: id, RefundID: "re_1", Amount: priceOf(plan), Currency: euro,
		Reason: reason, PaidAt: paidAt, RefundedAt: refundedAt,
	}
}

func jobPublished(id string, plan ListingPlan, when time.Time) *JobPublished {
	return &JobPublished{
		JobID: testJobID, CompanyID: testCompanyID, PaymentID: id, Plan: plan,
		Featured: plan == ListingPlanFeatured, PublishedAt: when, ExpiresAt: when.Add(listing),
	}
}

func jobClosed(when time.Time) *JobClosed {
	return &JobClosed{JobID: testJobID, CompanyID: testCompanyID, ClosedAt: when}
}

func jobExpired(when time.Time) *JobExpired {
	return &JobExpired{JobID: testJobID, CompanyID: testCompanyID, ExpiresAt: when, ExpiredAt: when}
}

// thenEvents checks the outcome of a command: the error (errors.Is wantErr, nil for none)
// and the recorded changes; a refused command records nothing. (That events survive their
// stored shape is storedevents' test.)
func thenEvents(t *testing.T, err error, wantErr error, got, want []Event) {
	t.Helper()
	switch {
	case wantErr == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case wantErr != nil && !errors.Is(err, wantErr):
		t.Fatalf("error = %v, want %v", err, wantErr)
	case wantErr != nil && len(got) != 0:
		t.Fatalf("refused command recorded %d events", len(got))
	}
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events differ\n got: %s\nwant: %s", dump(got), dump(want))
	}
}

func dump(events []Event) string {
	out := "["
	for _, e := range events {
		out += fmt.Sprintf("\n  %s %+v", e.EventType(), e)
	}
	return out + "\n]"
}

// fieldsOf returns the field paths of a *ValidationError, failing the test otherwise.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v, want *ValidationError", err)
	}
	if !errors.Is(err, ErrValidation) {
		t.Fatalf("errors.Is(%v, ErrValidation) = false", err)
	}
	out := make([]string, len(ve.Fields))
	for i, f := range ve.Fields {
		if f.Message == "" {
			t.Errorf("field %s has no message", f.Field)
		}
		out[i] = f.Field
	}
	return out
}

func wantFields(t *testing.T, err error, want ...string) {
	t.Helper()
	if got := fieldsOf(t, err); !slices.Equal(got, want) {
		t.Fatalf("fields at fault = %q, want %q (%v)", got, want, err)
	}
}

func ptr[T any](v T) *T { return &v }
