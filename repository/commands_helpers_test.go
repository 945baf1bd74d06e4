package repository_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/payments"
	"github.com/jobboard/jobboard/repository"
	"github.com/jobboard/jobboard/storedevents"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// world is the write side wired on a fresh database and stripe-mock.
type world struct {
	pool    *pgxpool.Pool
	store   *repository.Store
	creds   *repository.Credentials
	clock   *testClock
	prices  commands.ListingPrices
	gateway commands.PaymentGateway

	registerCompany   *commands.RegisterCompanyHandler
	registerCandidate *commands.RegisterCandidateHandler
	postJob           *commands.PostJobHandler
	updateJob         *commands.UpdateJobHandler
	payForListing     *commands.PayForListingHandler
	confirmPayment    *commands.ConfirmListingPaymentHandler
	failPayment       *commands.FailListingPaymentHandler
	closeJob          *commands.CloseJobHandler
	expireJob         *commands.ExpireJobHandler
	apply             *commands.ApplyHandler
	withdraw          *commands.WithdrawApplicationHandler
	changeStatus      *commands.ChangeApplicationStatusHandler
	rotateToken       *commands.RotateTokenHandler
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newWorld(t *testing.T) *world {
	t.Helper()
	dsn := testenv.NewDatabase(t)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 20
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	reg, err := storedevents.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	es, err := eventstore.NewStore(pool, eventstore.StoreConfig{Registry: reg, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{pool: pool, clock: &testClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}}
	if w.store, err = repository.NewStore(pool, es); err != nil {
		t.Fatal(err)
	}
	if w.creds, err = repository.NewCredentials(pool); err != nil {
		t.Fatal(err)
	}
	if w.gateway, err = payments.NewStripeGateway(payments.StripeConfig{SecretKey: "sk_test_123", APIBase: testenv.StripeAPIBase(t), Logger: quietLogger()}); err != nil {
		t.Fatal(err)
	}
	std, _ := domain.NewMoney(4900, "EUR")
	feat, _ := domain.NewMoney(9900, "EUR")
	w.prices = commands.ListingPrices{Standard: std, Featured: feat, Duration: 30 * 24 * time.Hour}
	clock, ids := commands.Clock(w.clock.Now), commands.IDGenerator(commands.NewUUIDv7)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	w.registerCompany, err = commands.NewRegisterCompanyHandler(w.store, clock, ids)
	must(err)
	w.registerCandidate, err = commands.NewRegisterCandidateHandler(w.store, clock, ids)
	must(err)
	w.postJob, err = commands.NewPostJobHandler(w.store, clock, ids)
	must(err)
	w.updateJob, err = commands.NewUpdateJobHandler(w.store, clock, ids)
	must(err)
	w.payForListing, err = commands.NewPayForListingHandler(w.store, w.gateway, clock, ids, w.prices)
	must(err)
	w.confirmPayment, err = commands.NewConfirmListingPaymentHandler(w.store, w.gateway, clock, ids, quietLogger())
	must(err)
	w.failPayment, err = commands.NewFailListingPaymentHandler(w.store, clock, ids)
	must(err)
	w.closeJob, err = commands.NewCloseJobHandler(w.store, clock, ids)
	must(err)
	w.expireJob, err = commands.NewExpireJobHandler(w.store, clock, ids)
	must(err)
	w.apply, err = commands.NewApplyHandler(w.store, clock, ids)
	must(err)
	w.withdraw, err = commands.NewWithdrawApplicationHandler(w.store, clock, ids)
	must(err)
	w.changeStatus, err = commands.NewChangeApplicationStatusHandler(w.store, clock, ids)
	must(err)
	w.rotateToken, err = commands.NewRotateTokenHandler(w.store, clock, ids)
	must(err)
	return w
}

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func employer(id string) commands.Caller {
	return commands.Caller{Actor: commands.Actor{Role: commands.RoleEmployer, ID: id}, CorrelationID: "corr-" + id}
}

func candidate(id string) commands.Caller {
	return commands.Caller{Actor: commands.Actor{Role: commands.RoleCandidate, ID: id}}
}

var stripeCaller = commands.Caller{Actor: commands.Actor{Role: commands.RoleSystem, ID: "stripe"}}

func detailsInput() domain.JobDetailsInput {
	return domain.JobDetailsInput{
		Title:          "Senior Go Engineer",
		Description:    "Build an event-sourced job marketplace with us.",
		EmploymentType: "full_time",
		Seniority:      "senior",
		Location:       domain.LocationInput{Remote: true, Regions: []string{"EMEA"}, Countries: []string{"DE"}},
		Tags:           []string{"go"},
	}
}

func (w *world) mustRegisterCompany(t *testing.T, email string) commands.RegistrationResult {
	t.Helper()
	res, err := w.registerCompany.Handle(ctxFor(t), commands.RegisterCompany{Input: domain.CompanyInput{Name: "Acme", Email: email}})
	if err != nil {
		t.Fatalf("RegisterCompany(%s): %v", email, err)
	}
	return res
}

func (w *world) mustRegisterCandidate(t *testing.T, email string) commands.RegistrationResult {
	t.Helper()
	res, err := w.registerCandidate.Handle(ctxFor(t), commands.RegisterCandidate{Input: domain.CandidateInput{Name: "Ada", Email: email}})
	if err != nil {
		t.Fatalf("RegisterCandidate(%s): %v", email, err)
	}
	return res
}

func (w *world) mustPostJob(t *testing.T, companyID string) commands.Result {
	t.Helper()
	res, err := w.postJob.Handle(ctxFor(t), commands.PostJob{Caller: employer(companyID), Details: detailsInput()})
	if err != nil {
		t.Fatalf("PostJob: %v", err)
	}
	return res
}

// mustPublishJob posts a job, pays for it and confirms the payment.
func (w *world) mustPublishJob(t *testing.T, companyID string) string {
	t.Helper()
	job := w.mustPostJob(t, companyID)
	pay, err := w.payForListing.Handle(ctxFor(t), commands.PayForListing{Caller: employer(companyID), JobID: job.ID, Plan: "standard"})
	if err != nil {
		t.Fatalf("PayForListing: %v", err)
	}
	if _, err := w.confirmPayment.Handle(ctxFor(t), commands.ConfirmListingPayment{
		Caller: stripeCaller, JobID: job.ID, PaymentID: pay.PaymentID, Amount: pay.Amount, Currency: "eur", PaidAt: w.clock.Now(),
	}); err != nil {
		t.Fatalf("ConfirmListingPayment: %v", err)
	}
	return job.ID
}

// countEvents counts stored events of a type, in one stream or ("" stream) everywhere.
func (w *world) countEvents(t *testing.T, eventType, streamID string) int {
	t.Helper()
	var n int
	if err := w.pool.QueryRow(ctxFor(t), `SELECT count(*) FROM events WHERE event_type = $1 AND ($2 = '' OR stream_id = $2)`,
		eventType, streamID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantCode(t *testing.T, err error, want apperr.Code) {
	t.Helper()
	if got := apperr.CodeOf(err); got != want {
		t.Fatalf("error = %v (code %q), want code %q", err, got, want)
	}
}

func ptr[T any](v T) *T { return &v }
