package storedevents_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jobboard/jobboard/domain"
)

// fixedEvents is one domain event of every stored type (and every optional field both set
// and left out), with fixed values: the goldens in testdata/golden are their encodings.
func fixedEvents(t testing.TB) []domain.Event {
	t.Helper()
	at := time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC)
	later := at.Add(90 * time.Minute)
	salaryFrom, salaryTo := int64(6_500_000), int64(8_000_000)
	full, err := domain.NewJobDetails(domain.JobDetailsInput{
		Title: "Senior Go engineer", Description: "Event sourcing, Kafka and PostgreSQL.",
		EmploymentType: "full_time", Seniority: "senior",
		Location: domain.LocationInput{Remote: true, Regions: []string{"EMEA"}, Countries: []string{"DE", "FR"},
			Timezones: &domain.TimezonesInput{MinUTCOffset: -1, MaxUTCOffset: 5.75}},
		Salary:   &domain.SalaryInput{Min: salaryFrom, Max: salaryTo, Currency: "EUR", Period: "year"},
		Tags:     []string{"go", "kafka"},
		ApplyURL: "https://jobs.example.com/42",
	})
	if err != nil {
		t.Fatal(err)
	}
	bare, err := domain.NewJobDetails(domain.JobDetailsInput{
		Title: "Barista", Description: "Coffee, milk and a smile.", EmploymentType: "part_time", Seniority: "junior",
		Location: domain.LocationInput{Countries: []string{"IT"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	const (
		company   = "0195a1b2-0000-7000-8000-000000000001"
		candidate = "0195a1b2-0000-7000-8000-000000000002"
		job       = "0195a1b2-0000-7000-8000-000000000003"
		app       = "0195a1b2-0000-7000-8000-000000000004"
		alert     = "0195a1b2-0000-7000-8000-000000000005"
	)
	remote := true
	return []domain.Event{
		&domain.CompanyRegistered{CompanyID: company, Name: "Acme", Email: "jobs@acme.example", Website: "https://acme.example", Description: "Anvils.", RegisteredAt: at},
		&domain.CompanyRegistered{CompanyID: company, Name: "Acme", Email: "jobs@acme.example", RegisteredAt: at},
		&domain.CandidateRegistered{CandidateID: candidate, Name: "Ada", Email: "ada@example.com", RegisteredAt: at},
		&domain.CompanyTokenRotated{CompanyID: company, RotatedAt: later},
		&domain.CandidateTokenRotated{CandidateID: candidate, RotatedAt: later},
		&domain.JobPosted{JobID: job, CompanyID: company, Details: full, PostedAt: at},
		&domain.JobPosted{JobID: job, CompanyID: company, Details: bare, PostedAt: at},
		&domain.JobDetailsChanged{JobID: job, CompanyID: company, Details: full, ChangedFields: []string{"title", "salary"}, ChangedAt: later},
		&domain.ListingPaymentRequested{JobID: job, CompanyID: company, PaymentID: "pay-1", Plan: domain.ListingPlanFeatured,
			Amount: 9900, Currency: mustCurrency(t, "EUR"), DurationSeconds: 2_592_000, RequestedAt: at, PaymentIntentID: "pi_123"},
		&domain.ListingPaymentRequested{JobID: job, CompanyID: company, PaymentID: "pay-1", Plan: domain.ListingPlanStandard,
			Amount: 4900, Currency: mustCurrency(t, "USD"), DurationSeconds: 2_592_000, RequestedAt: at},
		&domain.ListingPaid{JobID: job, CompanyID: company, PaymentID: "pay-1", Plan: domain.ListingPlanFeatured, Amount: 9900, Currency: mustCurrency(t, "EUR"), PaidAt: later},
		&domain.ListingPaymentFailed{JobID: job, CompanyID: company, PaymentID: "pay-1", Reason: "card_declined", FailedAt: later},
		&domain.ListingPaymentFailed{JobID: job, CompanyID: company, PaymentID: "pay-1", FailedAt: later},
		&domain.ListingPaymentCanceled{JobID: job, CompanyID: company, PaymentID: "pay-1", PaymentIntentID: "pi_123", ReplacedBy: "pay-2", CanceledAt: later},
		&domain.ListingPaymentCanceled{JobID: job, CompanyID: company, PaymentID: "pay-1", ReplacedBy: "pay-2", CanceledAt: later},
		&domain.ListingPaymentRefunded{JobID: job, CompanyID: company, PaymentID: "pay-1", PaymentIntentID: "pi_123", RefundID: "re_1",
			Amount: 9900, Currency: mustCurrency(t, "EUR"), Reason: "already_paid", PaidAt: at, RefundedAt: later},
		&domain.ListingPaymentRefunded{JobID: job, CompanyID: company, PaymentID: "pay-1", RefundID: "re_1",
			Amount: 4900, Currency: mustCurrency(t, "EUR"), Reason: "canceled", PaidAt: at, RefundedAt: later},
		&domain.JobPublished{JobID: job, CompanyID: company, PaymentID: "pay-1", Plan: domain.ListingPlanFeatured, Featured: true, PublishedAt: at, ExpiresAt: later},
		&domain.JobClosed{JobID: job, CompanyID: company, ClosedAt: later},
		&domain.JobExpired{JobID: job, CompanyID: company, ExpiresAt: at, ExpiredAt: later},
		&domain.ApplicationSubmitted{ApplicationID: app, JobID: job, CompanyID: company, CandidateID: candidate, ResumeURL: "https://cv.example/ada.pdf", CoverLetter: "Hello.", SubmittedAt: at},
		&domain.ApplicationSubmitted{ApplicationID: app, JobID: job, CompanyID: company, CandidateID: candidate, ResumeURL: "https://cv.example/ada.pdf", SubmittedAt: at},
		&domain.ApplicationStatusChanged{ApplicationID: app, JobID: job, CompanyID: company, CandidateID: candidate,
			From: domain.ApplicationStatusSubmitted, To: domain.ApplicationStatusReviewing, ChangedAt: later},
		&domain.ApplicationWithdrawn{ApplicationID: app, JobID: job, CompanyID: company, CandidateID: candidate, From: domain.ApplicationStatusReviewing, WithdrawnAt: later},
		&domain.SignInLinkRequested{LinkID: "0195a1b2-0000-7000-8000-000000000005", Role: domain.SignInRoleCandidate, AccountID: candidate, Email: "ada@example.com", RequestedAt: at, ExpiresAt: later},
		&domain.SignInLinkUsed{LinkID: "0195a1b2-0000-7000-8000-000000000005", UsedAt: at},
		&domain.AlertCreated{AlertID: alert, CandidateID: candidate, Criteria: domain.AlertCriteria{Q: "go engineer", Tags: []string{"go", "kafka"},
			Remote: &remote, Region: "EMEA", Country: "DE", EmploymentType: "full_time", Seniority: "senior", SalaryMin: 6_000_000,
			Currency: "EUR", CompanyID: company, Sort: "newest"}, Frequency: domain.AlertFrequencyDaily, CreatedAt: at},
		&domain.AlertCreated{AlertID: alert, CandidateID: candidate, Frequency: domain.AlertFrequencyInstant, CreatedAt: at},
		&domain.AlertDeleted{AlertID: alert, CandidateID: candidate, Reason: domain.AlertUnsubscribed, DeletedAt: later},
		&domain.CandidateEmailPreferencesSet{CandidateID: candidate, Off: []domain.EmailCategory{domain.EmailJobAlerts}, SetAt: later},
		&domain.CandidateEmailPreferencesSet{CandidateID: candidate, Off: []domain.EmailCategory{}, SetAt: later},
		&domain.CompanyEmailPreferencesSet{CompanyID: company, Off: []domain.EmailCategory{domain.EmailApplicationsReceived, domain.EmailListingNotices}, SetAt: later},
	}
}

func mustCurrency(t testing.TB, code string) domain.Currency {
	t.Helper()
	c, err := domain.ParseCurrency(code)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// describeAggregate folds one stream's decoded history into its aggregate and describes its
// state through the aggregate's own accessors, in a text that does not depend on JSON.
func describeAggregate(streamType, id string, history []domain.Event) (string, error) {
	switch streamType {
	case domain.StreamTypeCompany:
		c, err := domain.LoadCompany(id, history)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("company %s v%d name=%q email=%q website=%q description=%q registered=%s token=%s",
			c.ID(), c.Version(), c.Name(), c.Email(), c.Website(), c.Description(), c.RegisteredAt(), c.TokenIssuedAt()), nil
	case domain.StreamTypeCandidate:
		c, err := domain.LoadCandidate(id, history)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("candidate %s v%d name=%q email=%q registered=%s token=%s",
			c.ID(), c.Version(), c.Name(), c.Email(), c.RegisteredAt(), c.TokenIssuedAt()), nil
	case domain.StreamTypeJob:
		j, err := domain.LoadJob(id, history)
		if err != nil {
			return "", err
		}
		open, hasOpen := j.OpenPayment()
		return fmt.Sprintf("job %s v%d company=%s status=%s details=%s posted=%s plan=%s published=%s expires=%s closed=%s expired=%s payments=%+v open=%t/%+v",
			j.ID(), j.Version(), j.CompanyID(), j.Status(), detailsText(j.Details().Input()), j.PostedAt(), j.Plan(), j.PublishedAt(), j.ExpiresAt(),
			j.ClosedAt(), j.ExpiredAt(), j.Payments(), hasOpen, open), nil
	case domain.StreamTypeApplication:
		a, err := domain.LoadApplication(id, history)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("application %s v%d job=%s company=%s candidate=%s status=%s resume=%q letter=%q submitted=%s",
			a.ID(), a.Version(), a.JobID(), a.CompanyID(), a.CandidateID(), a.Status(), a.ResumeURL(), a.CoverLetter(), a.SubmittedAt()), nil
	}
	return "", fmt.Errorf("stream type %q", streamType)
}

// detailsText is in without the addresses %+v would print for its pointers.
func detailsText(in domain.JobDetailsInput) string {
	salary, timezones := "none", "none"
	if in.Salary != nil {
		salary = fmt.Sprintf("%+v", *in.Salary)
	}
	if in.Location.Timezones != nil {
		timezones = fmt.Sprintf("%+v", *in.Location.Timezones)
	}
	in.Salary, in.Location.Timezones = nil, nil
	return fmt.Sprintf("%+v salary=%s timezones=%s", in, salary, timezones)
}
