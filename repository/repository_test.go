package repository_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/repository"
	"github.com/jobboard/jobboard/storedevents"
)

func newStore(t *testing.T) (*repository.Store, *pgxpool.Pool) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	reg, err := storedevents.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	es, err := eventstore.NewStore(pool, eventstore.StoreConfig{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	s, err := repository.NewStore(pool, es)
	if err != nil {
		t.Fatal(err)
	}
	return s, pool
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func TestEventsRoundTripThroughTheStore(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	details, err := domain.NewJobDetails(domain.JobDetailsInput{
		Title: "Go Engineer", Description: "Twenty characters at the very least.", EmploymentType: "contract",
		Seniority: "mid", Location: domain.LocationInput{Countries: []string{"FR"}}, Tags: []string{"go"},
		Salary: &domain.SalaryInput{Min: 1, Max: 2, Currency: "EUR", Period: "month"},
	})
	if err != nil {
		t.Fatal(err)
	}
	job, err := domain.PostJob("job-1", "co-1", details, t0)
	if err != nil {
		t.Fatal(err)
	}
	price, _ := domain.NewMoney(4900, "EUR")
	if _, err := job.RequestListingPayment("co-1", domain.ListingPaymentRequest{PaymentID: "p1", PaymentIntentID: "pi_1", Plan: domain.ListingPlanStandard, Price: price, Duration: time.Hour}, t0); err != nil {
		t.Fatal(err)
	}
	if err := job.ConfirmListingPayment("p1", 4900, "eur", t0); err != nil {
		t.Fatal(err)
	}
	events := job.Changes()
	v, err := s.Append(ctx, commands.AppendRequest{StreamID: "job-1", StreamType: domain.StreamTypeJob, Events: events,
		Metadata: commands.Metadata{CorrelationID: "c", Command: "Test"}})
	if err != nil || v != int64(len(events)) {
		t.Fatalf("Append = %d, %v", v, err)
	}
	got, err := s.Load(ctx, "job-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 4 || got.Type != domain.StreamTypeJob || !reflect.DeepEqual(got.Events, events) {
		t.Fatalf("loaded %+v, want %d events %v", got, len(events), events)
	}
	if missing, err := s.Load(ctx, "nope"); err != nil || missing.Version != 0 || len(missing.Events) != 0 {
		t.Fatalf("Load of a missing stream = %+v, %v", missing, err)
	}
	_, err = s.Append(ctx, commands.AppendRequest{StreamID: "job-1", StreamType: domain.StreamTypeJob, ExpectedVersion: 2, Events: events[:1]})
	if !errors.Is(err, commands.ErrConcurrencyConflict) {
		t.Fatalf("stale append: %v", err)
	}
}

func TestClaimsAndCredentialsCommitWithTheEvents(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ctx := testCtx(t)
	creds, err := repository.NewCredentials(pool)
	if err != nil {
		t.Fatal(err)
	}
	register := func(id, token string) error {
		c, err := domain.RegisterCandidate(id, domain.CandidateInput{Name: "Ada", Email: "ada@example.com"}, t0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Append(ctx, commands.AppendRequest{
			StreamID: id, StreamType: c.StreamType(), Events: c.Changes(),
			Claims:     []commands.Claim{{Scope: commands.ClaimCandidateEmail, Key: "ada@example.com", StreamID: id}},
			Credential: &commands.Credential{TokenHash: commands.HashToken(token), Role: commands.RoleCandidate, SubjectID: id},
		})
		return err
	}
	if err := register("cand-1", "jbk_one"); err != nil {
		t.Fatal(err)
	}
	var taken *commands.ClaimTakenError
	if err := register("cand-2", "jbk_two"); !errors.As(err, &taken) {
		t.Fatalf("second claim: %v", err)
	}
	if st, _ := s.Load(ctx, "cand-2"); st.Version != 0 {
		t.Fatal("the refused registration appended events")
	}
	if _, _, found, err := creds.Lookup(ctx, "jbk_two"); found || err != nil {
		t.Fatalf("the refused registration stored its credential (%v)", err)
	}
	if role, id, found, err := creds.Lookup(ctx, "jbk_one"); !found || err != nil || role != commands.RoleCandidate || id != "cand-1" {
		t.Fatalf("Lookup = %q %q %v %v", role, id, found, err)
	}
}

func TestClaimDueListingsLeasesRows(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ctx := testCtx(t)
	for i, id := range []string{"a", "b", "c"} {
		if _, err := pool.Exec(ctx, `INSERT INTO listing_schedule (job_id, expires_at) VALUES ($1, $2)`, id, t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(90 * time.Minute) // a and b are due
	first, err := s.ClaimDueListings(ctx, now, 10, time.Minute)
	if err != nil || !reflect.DeepEqual(first, []string{"a", "b"}) {
		t.Fatalf("first claim = %v, %v", first, err)
	}
	if again, err := s.ClaimDueListings(ctx, now, 10, time.Minute); err != nil || len(again) != 0 {
		t.Fatalf("claim during the lease = %v, %v", again, err)
	}
	if after, err := s.ClaimDueListings(ctx, now.Add(2*time.Minute), 1, time.Minute); err != nil || len(after) != 1 {
		t.Fatalf("claim after the lease = %v, %v", after, err)
	}
}

// TestLookupMarksTheTokenUsedAtMostOncePerResolution: authentication writes last_used_at
// when it is unset or older than LastUsedResolution, and leaves it alone otherwise.
func TestLookupMarksTheTokenUsedAtMostOncePerResolution(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ctx := testCtx(t)
	creds, err := repository.NewCredentials(pool)
	if err != nil {
		t.Fatal(err)
	}
	c, err := domain.RegisterCompany("comp-1", domain.CompanyInput{Name: "Acme", Email: "a@acme.example"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, commands.AppendRequest{StreamID: "comp-1", StreamType: c.StreamType(), Events: c.Changes(),
		Credential: &commands.Credential{TokenHash: commands.HashToken("jbc_one"), Role: commands.RoleEmployer, SubjectID: "comp-1", IssuedAt: t0}}); err != nil {
		t.Fatal(err)
	}
	describe := func() repository.TokenInfo {
		t.Helper()
		info, found, err := creds.Describe(ctx, "jbc_one")
		if err != nil || !found {
			t.Fatalf("Describe = %v, %v", found, err)
		}
		return info
	}
	if info := describe(); info.LastUsedAt != nil || !info.CreatedAt.Equal(t0) || info.Role != commands.RoleEmployer || info.SubjectID != "comp-1" {
		t.Fatalf("before any use: %+v", info)
	}
	lookup := func() {
		t.Helper()
		if _, _, found, err := creds.Lookup(ctx, "jbc_one"); !found || err != nil {
			t.Fatalf("Lookup = %v, %v", found, err)
		}
	}
	lookup()
	first := describe().LastUsedAt
	if first == nil {
		t.Fatal("the first use was not recorded")
	}
	lookup()
	if again := describe().LastUsedAt; again == nil || !again.Equal(*first) {
		t.Fatalf("a use within %v wrote last_used_at again: %v, then %v", repository.LastUsedResolution, first, again)
	}
	if _, err := pool.Exec(ctx, `UPDATE credentials SET last_used_at = last_used_at - interval '2 minutes'`); err != nil {
		t.Fatal(err)
	}
	lookup()
	if moved := describe().LastUsedAt; moved == nil || !moved.After(first.Add(-time.Minute)) {
		t.Fatalf("a use after the resolution did not move last_used_at: %v (first %v)", moved, first)
	}
	if _, found, err := creds.Describe(ctx, "jbc_two"); found || err != nil {
		t.Fatalf("Describe(unknown) = %v, %v", found, err)
	}
}
