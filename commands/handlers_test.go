package commands_test

// Handler tests on the in-memory store (commands/memstore, which passes the same acceptance
// suite as the PostgreSQL store) and a recording PaymentGateway: the retries and error
// translation of the write side, without engines, in milliseconds. The same handlers over
// PostgreSQL and stripe-mock are tested in repository/commands_*_test.go.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/commands/memstore"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// recordingGateway is commands' PaymentGateway port answering from memory: it records the
// intents asked for and fails with err when set. The Stripe adapter is tested against
// stripe-mock in payments/.
type recordingGateway struct {
	mu      sync.Mutex
	err     error
	intents []commands.PaymentIntentRequest
}

func (g *recordingGateway) CreatePaymentIntent(_ context.Context, req commands.PaymentIntentRequest) (commands.PaymentIntent, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return commands.PaymentIntent{}, g.err
	}
	g.intents = append(g.intents, req)
	return commands.PaymentIntent{ID: fmt.Sprintf("pi_%d", len(g.intents)), ClientSecret: "secret", Amount: req.Amount, Currency: req.Currency, Status: "requires_payment_method"}, nil
}

func (g *recordingGateway) PaymentIntent(_ context.Context, id string) (commands.PaymentIntent, error) {
	return commands.PaymentIntent{ID: id, ClientSecret: "secret", Status: "requires_payment_method"}, g.err
}

func (g *recordingGateway) CancelPaymentIntent(context.Context, string) error { return g.err }

func (g *recordingGateway) RefundPayment(_ context.Context, req commands.RefundRequest) (commands.Refund, error) {
	return commands.Refund{ID: "re_" + req.PaymentIntentID, Status: "succeeded"}, g.err
}

// fast is the write side on an in-memory store.
type fast struct {
	store   *memstore.Store
	gateway *recordingGateway
	now     time.Time
	ids     commands.IDGenerator
}

func newFast() *fast {
	return &fast{store: memstore.New(), gateway: &recordingGateway{}, now: t0, ids: commands.NewUUIDv7}
}

func (f *fast) clock() time.Time { return f.now }

// must is for setup steps, which cannot fail unless the test is broken: it panics.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func wantCode(t *testing.T, err error, want apperr.Code) {
	t.Helper()
	if got := apperr.CodeOf(err); got != want {
		t.Fatalf("error = %v (code %q), want code %q", err, got, want)
	}
}

func details() domain.JobDetailsInput {
	return domain.JobDetailsInput{
		Title: "Senior Go Engineer", Description: "Build an event-sourced job marketplace with us.",
		EmploymentType: "full_time", Seniority: "senior",
		Location: domain.LocationInput{Remote: true, Regions: []string{"EMEA"}, Countries: []string{"DE"}},
	}
}

func employer(id string) commands.Caller {
	return commands.Caller{Actor: commands.Actor{Role: commands.RoleEmployer, ID: id}}
}

var stripeCaller = commands.Caller{Actor: commands.Actor{Role: commands.RoleSystem, ID: "stripe"}}

func (f *fast) registerCompany(t *testing.T, store commands.EventStore, email string) commands.RegistrationResult {
	t.Helper()
	h := must(commands.NewRegisterCompanyHandler(store, f.clock, f.ids))
	return must(h.Handle(context.Background(), commands.RegisterCompany{Input: domain.CompanyInput{Name: "Acme", Email: email}}))
}

// publish posts a job, pays for it and confirms the payment.
func (f *fast) publish(t *testing.T, company string) string {
	t.Helper()
	ctx := context.Background()
	post := must(commands.NewPostJobHandler(f.store, f.clock, f.ids))
	pay := must(commands.NewPayForListingHandler(f.store, f.gateway, f.clock, f.ids, prices()))
	confirm := must(commands.NewConfirmListingPaymentHandler(f.store, f.gateway, f.clock, f.ids, slog.New(slog.DiscardHandler)))
	job := must(post.Handle(ctx, commands.PostJob{Caller: employer(company), Details: details()}))
	p := must(pay.Handle(ctx, commands.PayForListing{Caller: employer(company), JobID: job.ID, Plan: "standard"}))
	must(confirm.Handle(ctx, commands.ConfirmListingPayment{Caller: stripeCaller, JobID: job.ID, PaymentID: p.PaymentID, Amount: p.Amount, Currency: "eur", PaidAt: f.now}))
	return job.ID
}

func prices() commands.ListingPrices {
	std, _ := domain.NewMoney(4900, "EUR")
	feat, _ := domain.NewMoney(9900, "EUR")
	return commands.ListingPrices{Standard: std, Featured: feat, Duration: 30 * 24 * time.Hour}
}

func TestRegistrationStoresTheCredentialAndClaimsTheAddress(t *testing.T) {
	t.Parallel()
	f := newFast()
	res := f.registerCompany(t, f.store, "jobs@acme.example")
	if role, subject, found, err := f.store.Lookup(context.Background(), res.Token); err != nil || !found || role != commands.RoleEmployer || subject != res.ID {
		t.Fatalf("Lookup = %q %q %v %v", role, subject, found, err)
	}
	if md := f.store.Metadata(res.ID); len(md) != 1 || md[0].Command != "RegisterCompany" || md[0].CorrelationID == "" {
		t.Fatalf("metadata = %+v", md)
	}
	h := must(commands.NewRegisterCompanyHandler(f.store, f.clock, f.ids))
	_, err := h.Handle(context.Background(), commands.RegisterCompany{Input: domain.CompanyInput{Name: "Other", Email: "Jobs@Acme.example"}})
	wantCode(t, err, apperr.Conflict)
	if n := f.store.Credentials(commands.RoleEmployer); n != 1 {
		t.Fatalf("%d employer credentials, want 1", n)
	}
}

func TestPublishingPaysThroughTheGatewayAndSchedulesTheExpiry(t *testing.T) {
	t.Parallel()
	f := newFast()
	job := f.publish(t, f.registerCompany(t, f.store, "acme@example.com").ID)
	if len(f.gateway.intents) != 1 || f.gateway.intents[0].Amount != 4900 || f.gateway.intents[0].IdempotencyKey == "" ||
		f.gateway.intents[0].Metadata["job_id"] != job {
		t.Fatalf("intents asked for = %+v", f.gateway.intents)
	}
	if n := f.store.CountEvents(domain.EventJobPublished, job); n != 1 {
		t.Fatalf("%d job.published events, want 1", n)
	}
	if at, ok := f.store.Scheduled(job); !ok || !at.Equal(t0.Add(30*24*time.Hour)) {
		t.Fatalf("scheduled = %v %v, want %v", at, ok, t0.Add(30*24*time.Hour))
	}
}

func TestGatewayErrorsReachTheCallerWithTheirCode(t *testing.T) {
	t.Parallel()
	f := newFast()
	company := f.registerCompany(t, f.store, "acme@example.com").ID
	job := must(must(commands.NewPostJobHandler(f.store, f.clock, f.ids)).Handle(context.Background(), commands.PostJob{Caller: employer(company), Details: details()}))
	f.gateway.err = apperr.New(apperr.Unavailable, "the payment provider cannot be reached")
	pay := must(commands.NewPayForListingHandler(f.store, f.gateway, f.clock, f.ids, prices()))
	_, err := pay.Handle(context.Background(), commands.PayForListing{Caller: employer(company), JobID: job.ID, Plan: "standard"})
	wantCode(t, err, apperr.Unavailable)
	if n := f.store.CountEvents(domain.EventListingPaymentRequested, job.ID); n != 0 {
		t.Fatalf("%d payment requests recorded after the gateway failed", n)
	}
}

// TestConcurrentUpdatesAreRetried: writers racing on one stream lose appends to each other
// and retry; every one of them lands.
func TestConcurrentUpdatesAreRetried(t *testing.T) {
	t.Parallel()
	f := newFast()
	company := f.registerCompany(t, f.store, "acme@example.com").ID
	job := must(must(commands.NewPostJobHandler(f.store, f.clock, f.ids)).Handle(context.Background(), commands.PostJob{Caller: employer(company), Details: details()}))
	update := must(commands.NewUpdateJobHandler(f.store, f.clock, f.ids))
	const writers = 6
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			title := fmt.Sprintf("Senior Go Engineer %d", i)
			if _, err := update.Handle(context.Background(), commands.UpdateJob{Caller: employer(company), JobID: job.ID, Patch: domain.JobDetailsPatch{Title: &title}}); err != nil {
				t.Errorf("UpdateJob %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if n := f.store.CountEvents(domain.EventJobDetailsChanged, job.ID); n != writers {
		t.Fatalf("%d job.details_changed events, want %d", n, writers)
	}
}

// conflictingStore loses every append to a concurrent writer.
type conflictingStore struct {
	*memstore.Store
	appends int
}

func (s *conflictingStore) Append(context.Context, commands.AppendRequest) (int64, error) {
	s.appends++
	return 0, fmt.Errorf("append: %w", commands.ErrConcurrencyConflict)
}

// failingStore cannot load.
type failingStore struct{ *memstore.Store }

func (failingStore) Load(context.Context, string) (commands.Stream, error) {
	return commands.Stream{}, errors.New("connection refused")
}

func TestStoreErrorsAreTranslated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("an append that keeps losing races ends as a conflict after bounded retries", func(t *testing.T) {
		t.Parallel()
		f := newFast()
		store := &conflictingStore{Store: f.store}
		h := must(commands.NewRegisterCompanyHandler(store, f.clock, f.ids))
		_, err := h.Handle(ctx, commands.RegisterCompany{Input: domain.CompanyInput{Name: "Acme", Email: "acme@example.com"}})
		wantCode(t, err, apperr.Conflict)
		if store.appends < 2 || store.appends > 8 {
			t.Fatalf("%d appends, want a few retries and a bound", store.appends)
		}
	})
	t.Run("a version the client pinned is not retried", func(t *testing.T) {
		t.Parallel()
		f := newFast()
		company := f.registerCompany(t, f.store, "acme@example.com").ID
		job := must(must(commands.NewPostJobHandler(f.store, f.clock, f.ids)).Handle(ctx, commands.PostJob{Caller: employer(company), Details: details()}))
		update := must(commands.NewUpdateJobHandler(f.store, f.clock, f.ids))
		title := "Staff Go Engineer"
		_, err := update.Handle(ctx, commands.UpdateJob{Caller: employer(company), JobID: job.ID, Patch: domain.JobDetailsPatch{Title: &title}, ExpectedVersion: new(int64(job.Version + 1))})
		wantCode(t, err, apperr.VersionMismatch)
		if n := f.store.CountEvents(domain.EventJobDetailsChanged, job.ID); n != 0 {
			t.Fatalf("%d changes appended against a stale pinned version", n)
		}
	})
	t.Run("a store that cannot load is an internal error", func(t *testing.T) {
		t.Parallel()
		f := newFast()
		h := must(commands.NewRegisterCompanyHandler(failingStore{f.store}, f.clock, f.ids))
		_, err := h.Handle(ctx, commands.RegisterCompany{Input: domain.CompanyInput{Name: "Acme", Email: "acme@example.com"}})
		wantCode(t, err, apperr.Internal)
	})
}

func TestExpirySchedulerExpiresDueListings(t *testing.T) {
	t.Parallel()
	f := newFast()
	company := f.registerCompany(t, f.store, "acme@example.com").ID
	job := f.publish(t, company)
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	expire := must(commands.NewExpireJobHandler(f.store, clock, f.ids))
	s := must(commands.NewExpiryScheduler(f.store, expire, clock, commands.ExpirySchedulerConfig{Logger: slog.New(slog.DiscardHandler)}))
	if n, err := s.RunOnce(context.Background()); err != nil || n != 0 {
		t.Fatalf("before expiry: RunOnce = %d, %v", n, err)
	}
	mu.Lock()
	now = t0.Add(31 * 24 * time.Hour)
	mu.Unlock()
	if n, err := s.RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("after expiry: RunOnce = %d, %v", n, err)
	}
	if n := f.store.CountEvents(domain.EventJobExpired, job); n != 1 {
		t.Fatalf("%d job.expired events, want 1", n)
	}
	if _, ok := f.store.Scheduled(job); ok {
		t.Fatal("the expired job is still scheduled")
	}
}
