// Package commandstest is what the tests of the command handlers share, whichever event store
// and payment gateway they run on: the in-memory ones in commands/, PostgreSQL and stripe-mock
// in repository/. It wires every handler over a store and gateway, and offers the callers,
// inputs and shortcuts those tests repeat. It imports commands/ and domain/ only.
package commandstest

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

// Clock is a clock tests move by hand.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock at 2026-03-01 09:00 UTC.
func NewClock() *Clock { return &Clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Prices are the listing prices the tests pay: 49 EUR standard, 99 EUR featured, 30 days.
func Prices() commands.ListingPrices {
	std, _ := domain.NewMoney(4900, "EUR")
	feat, _ := domain.NewMoney(9900, "EUR")
	return commands.ListingPrices{Standard: std, Featured: feat, Duration: 30 * 24 * time.Hour}
}

// Handlers are every command handler over one store and gateway.
type Handlers struct {
	RegisterCompany   *commands.RegisterCompanyHandler
	RegisterCandidate *commands.RegisterCandidateHandler
	PostJob           *commands.PostJobHandler
	UpdateJob         *commands.UpdateJobHandler
	PayForListing     *commands.PayForListingHandler
	ConfirmPayment    *commands.ConfirmListingPaymentHandler
	FailPayment       *commands.FailListingPaymentHandler
	CloseJob          *commands.CloseJobHandler
	ExpireJob         *commands.ExpireJobHandler
	Apply             *commands.ApplyHandler
	Withdraw          *commands.WithdrawApplicationHandler
	ChangeStatus      *commands.ChangeApplicationStatusHandler
	RotateToken       *commands.RotateTokenHandler

	now func() time.Time
}

// NewHandlers builds every handler over store and gateway, with clock's time, UUIDv7 ids
// and prices.
func NewHandlers(t testing.TB, store commands.EventStore, gateway commands.PaymentGateway, clock *Clock, prices commands.ListingPrices) *Handlers {
	t.Helper()
	h := &Handlers{now: clock.Now}
	now, ids := commands.Clock(clock.Now), commands.IDGenerator(commands.NewUUIDv7)
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	h.RegisterCompany, err = commands.NewRegisterCompanyHandler(store, now, ids)
	must(err)
	h.RegisterCandidate, err = commands.NewRegisterCandidateHandler(store, now, ids)
	must(err)
	h.PostJob, err = commands.NewPostJobHandler(store, now, ids)
	must(err)
	h.UpdateJob, err = commands.NewUpdateJobHandler(store, now, ids)
	must(err)
	h.PayForListing, err = commands.NewPayForListingHandler(store, gateway, now, ids, prices)
	must(err)
	h.ConfirmPayment, err = commands.NewConfirmListingPaymentHandler(store, gateway, now, ids, QuietLogger())
	must(err)
	h.FailPayment, err = commands.NewFailListingPaymentHandler(store, now, ids)
	must(err)
	h.CloseJob, err = commands.NewCloseJobHandler(store, now, ids)
	must(err)
	h.ExpireJob, err = commands.NewExpireJobHandler(store, now, ids)
	must(err)
	h.Apply, err = commands.NewApplyHandler(store, now, ids)
	must(err)
	h.Withdraw, err = commands.NewWithdrawApplicationHandler(store, now, ids)
	must(err)
	h.ChangeStatus, err = commands.NewChangeApplicationStatusHandler(store, now, ids)
	must(err)
	h.RotateToken, err = commands.NewRotateTokenHandler(store, now, ids)
	must(err)
	return h
}

// QuietLogger discards everything.
func QuietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Ctx is a context of 30 s, cancelled when the test ends.
func Ctx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Employer is the caller of company id.
func Employer(id string) commands.Caller {
	return commands.Caller{Actor: commands.Actor{Role: commands.RoleEmployer, ID: id}, CorrelationID: "corr-" + id}
}

// Candidate is the caller of candidate id.
func Candidate(id string) commands.Caller {
	return commands.Caller{Actor: commands.Actor{Role: commands.RoleCandidate, ID: id}}
}

// StripeCaller is the payment provider's webhook.
var StripeCaller = commands.Caller{Actor: commands.Actor{Role: commands.RoleSystem, ID: "stripe"}}

// DetailsInput is a valid job.
func DetailsInput() domain.JobDetailsInput {
	return domain.JobDetailsInput{
		Title:          "Senior Go Engineer",
		Description:    "Build an event-sourced job marketplace with us.",
		EmploymentType: "full_time",
		Seniority:      "senior",
		Location:       domain.LocationInput{Remote: true, Regions: []string{"EMEA"}, Countries: []string{"DE"}},
		Tags:           []string{"go"},
	}
}

// MustRegisterCompany registers a company with email.
func (h *Handlers) MustRegisterCompany(t testing.TB, email string) commands.RegistrationResult {
	t.Helper()
	res, err := h.RegisterCompany.Handle(Ctx(t), commands.RegisterCompany{Input: domain.CompanyInput{Name: "Acme", Email: email}})
	if err != nil {
		t.Fatalf("RegisterCompany(%s): %v", email, err)
	}
	return res
}

// MustRegisterCandidate registers a candidate with email.
func (h *Handlers) MustRegisterCandidate(t testing.TB, email string) commands.RegistrationResult {
	t.Helper()
	res, err := h.RegisterCandidate.Handle(Ctx(t), commands.RegisterCandidate{Input: domain.CandidateInput{Name: "Ada", Email: email}})
	if err != nil {
		t.Fatalf("RegisterCandidate(%s): %v", email, err)
	}
	return res
}

// MustPostJob posts DetailsInput for companyID.
func (h *Handlers) MustPostJob(t testing.TB, companyID string) commands.Result {
	t.Helper()
	res, err := h.PostJob.Handle(Ctx(t), commands.PostJob{Caller: Employer(companyID), Details: DetailsInput()})
	if err != nil {
		t.Fatalf("PostJob: %v", err)
	}
	return res
}

// MustPublishJob posts a job, pays for it and confirms the payment; it returns the job's id.
func (h *Handlers) MustPublishJob(t testing.TB, companyID string) string {
	t.Helper()
	job := h.MustPostJob(t, companyID)
	pay, err := h.PayForListing.Handle(Ctx(t), commands.PayForListing{Caller: Employer(companyID), JobID: job.ID, Plan: "standard"})
	if err != nil {
		t.Fatalf("PayForListing: %v", err)
	}
	if _, err := h.ConfirmPayment.Handle(Ctx(t), commands.ConfirmListingPayment{
		Caller: StripeCaller, JobID: job.ID, PaymentID: pay.PaymentID, Amount: pay.Amount, Currency: "eur", PaidAt: h.now(),
	}); err != nil {
		t.Fatalf("ConfirmListingPayment: %v", err)
	}
	return job.ID
}

// WantCode fails the test unless err carries the application error code want.
func WantCode(t testing.TB, err error, want apperr.Code) {
	t.Helper()
	if got := apperr.CodeOf(err); got != want {
		t.Fatalf("error = %v (code %q), want code %q", err, got, want)
	}
}
