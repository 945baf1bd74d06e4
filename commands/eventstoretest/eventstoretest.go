// Package eventstoretest is the acceptance suite of the commands.EventStore and
// commands.DueListings ports, run against every implementation: repository's PostgreSQL
// store (with the stack) and commands/memstore (without), so that handler tests on the
// in-memory store say something about the program (eventhorizon's eventstore acceptance
// test). It imports commands and domain only.
package eventstoretest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
)

// Harness is one fresh, empty store under test.
type Harness struct {
	Store commands.EventStore
	Due   commands.DueListings
	// Lookup returns whom a bearer token authenticates, from the credentials appends stored.
	Lookup func(ctx context.Context, token string) (role commands.Role, subjectID string, found bool, err error)
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Run runs the suite; newHarness returns an empty store for each subtest.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	for _, tc := range []struct {
		name string
		test func(t *testing.T, ctx context.Context, h Harness)
	}{
		{"a missing stream is at version 0 with no events", missingStream},
		{"appends at the expected version and loads in order", appendsInOrder},
		{"refuses a stale expected version and writes nothing", staleVersion},
		{"refuses a negative expected version", negativeVersion},
		{"a taken claim fails the whole append", claimTaken},
		{"a failed append keeps none of its claims", failedAppendKeepsNoClaim},
		{"a credential replaces the subject's previous one", credentialReplaced},
		{"due listings are leased, earliest first, until the lease lapses", dueListingsLeased},
		{"a removed or rescheduled listing is not due", listingRemoved},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tc.test(t, ctx, newHarness(t))
		})
	}
}

// jobEvents are the four events of a job posted, paid for and published.
func jobEvents(t *testing.T, id string) []domain.Event {
	t.Helper()
	details, err := domain.NewJobDetails(domain.JobDetailsInput{
		Title: "Go Engineer", Description: "Twenty characters at the very least.", EmploymentType: "contract",
		Seniority: "mid", Location: domain.LocationInput{Countries: []string{"FR"}}, Tags: []string{"go"},
		Salary: &domain.SalaryInput{Min: 1, Max: 2, Currency: "EUR", Period: "month"},
	})
	if err != nil {
		t.Fatal(err)
	}
	job, err := domain.PostJob(id, "co-1", details, t0)
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
	return job.Changes()
}

func candidateEvents(t *testing.T, id string) []domain.Event {
	t.Helper()
	c, err := domain.RegisterCandidate(id, domain.CandidateInput{Name: "Ada", Email: "ada@example.com"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	return c.Changes()
}

func mustLoad(t *testing.T, ctx context.Context, s commands.EventStore, id string) commands.Stream {
	t.Helper()
	st, err := s.Load(ctx, id)
	if err != nil {
		t.Fatalf("Load(%s): %v", id, err)
	}
	return st
}

func missingStream(t *testing.T, ctx context.Context, h Harness) {
	if st := mustLoad(t, ctx, h.Store, "nope"); st.Version != 0 || len(st.Events) != 0 || st.Type != "" {
		t.Fatalf("Load of a missing stream = %+v", st)
	}
}

func appendsInOrder(t *testing.T, ctx context.Context, h Harness) {
	events := jobEvents(t, "job-1")
	v, err := h.Store.Append(ctx, commands.AppendRequest{StreamID: "job-1", StreamType: domain.StreamTypeJob, Events: events[:2],
		Metadata: commands.Metadata{CorrelationID: "c", Command: "Test"}})
	if err != nil || v != 2 {
		t.Fatalf("first Append = %d, %v; want 2", v, err)
	}
	v, err = h.Store.Append(ctx, commands.AppendRequest{StreamID: "job-1", StreamType: domain.StreamTypeJob, ExpectedVersion: 2, Events: events[2:]})
	if err != nil || v != int64(len(events)) {
		t.Fatalf("second Append = %d, %v; want %d", v, err, len(events))
	}
	got := mustLoad(t, ctx, h.Store, "job-1")
	if got.ID != "job-1" || got.Version != int64(len(events)) || got.Type != domain.StreamTypeJob || !reflect.DeepEqual(got.Events, events) {
		t.Fatalf("loaded %+v, want %d events %v", got, len(events), events)
	}
}

func staleVersion(t *testing.T, ctx context.Context, h Harness) {
	events := jobEvents(t, "job-1")
	if _, err := h.Store.Append(ctx, commands.AppendRequest{StreamID: "job-1", StreamType: domain.StreamTypeJob, Events: events[:3]}); err != nil {
		t.Fatal(err)
	}
	for _, expected := range []int64{0, 2, 4} {
		_, err := h.Store.Append(ctx, commands.AppendRequest{StreamID: "job-1", StreamType: domain.StreamTypeJob, ExpectedVersion: expected, Events: events[3:]})
		if !errors.Is(err, commands.ErrConcurrencyConflict) {
			t.Errorf("append at expected version %d of a stream at 3: %v, want ErrConcurrencyConflict", expected, err)
		}
	}
	if got := mustLoad(t, ctx, h.Store, "job-1"); got.Version != 3 || len(got.Events) != 3 {
		t.Fatalf("after refused appends the stream is at %d with %d events, want 3", got.Version, len(got.Events))
	}
}

func negativeVersion(t *testing.T, ctx context.Context, h Harness) {
	_, err := h.Store.Append(ctx, commands.AppendRequest{StreamID: "cand-1", StreamType: domain.StreamTypeCandidate, ExpectedVersion: -1, Events: candidateEvents(t, "cand-1")})
	if err == nil {
		t.Fatal("append at expected version -1 succeeded")
	}
	if got := mustLoad(t, ctx, h.Store, "cand-1"); got.Version != 0 {
		t.Fatalf("the refused append wrote: %+v", got)
	}
}

// register appends a candidate's registration with an e-mail claim and a credential.
func register(t *testing.T, ctx context.Context, h Harness, id, email, token string, expected int64) error {
	t.Helper()
	_, err := h.Store.Append(ctx, commands.AppendRequest{
		StreamID: id, StreamType: domain.StreamTypeCandidate, ExpectedVersion: expected, Events: candidateEvents(t, id),
		Claims:     []commands.Claim{{Scope: commands.ClaimCandidateEmail, Key: email, StreamID: id}},
		Credential: &commands.Credential{TokenHash: commands.HashToken(token), Role: commands.RoleCandidate, SubjectID: id, IssuedAt: t0},
	})
	return err
}

func claimTaken(t *testing.T, ctx context.Context, h Harness) {
	if err := register(t, ctx, h, "cand-1", "ada@example.com", "jbk_one", 0); err != nil {
		t.Fatal(err)
	}
	var taken *commands.ClaimTakenError
	if err := register(t, ctx, h, "cand-2", "ada@example.com", "jbk_two", 0); !errors.As(err, &taken) ||
		taken.Scope != commands.ClaimCandidateEmail || taken.Key != "ada@example.com" {
		t.Fatalf("second claim: %v, want a *ClaimTakenError for the e-mail", err)
	}
	if st := mustLoad(t, ctx, h.Store, "cand-2"); st.Version != 0 {
		t.Fatal("the refused registration appended events")
	}
	if _, _, found, err := h.Lookup(ctx, "jbk_two"); found || err != nil {
		t.Fatalf("the refused registration stored its credential (%v)", err)
	}
	if role, id, found, err := h.Lookup(ctx, "jbk_one"); !found || err != nil || role != commands.RoleCandidate || id != "cand-1" {
		t.Fatalf("Lookup = %q %q %v %v", role, id, found, err)
	}
}

func failedAppendKeepsNoClaim(t *testing.T, ctx context.Context, h Harness) {
	// cand-1 does not exist, so expected version 1 conflicts after the claim was checked.
	if err := register(t, ctx, h, "cand-1", "ada@example.com", "jbk_one", 1); !errors.Is(err, commands.ErrConcurrencyConflict) {
		t.Fatalf("append at a wrong version: %v, want ErrConcurrencyConflict", err)
	}
	if _, _, found, err := h.Lookup(ctx, "jbk_one"); found || err != nil {
		t.Fatalf("the failed append stored its credential (%v)", err)
	}
	if err := register(t, ctx, h, "cand-2", "ada@example.com", "jbk_two", 0); err != nil {
		t.Fatalf("the e-mail is still claimed after the failed append: %v", err)
	}
}

func credentialReplaced(t *testing.T, ctx context.Context, h Harness) {
	if err := register(t, ctx, h, "cand-1", "ada@example.com", "jbk_one", 0); err != nil {
		t.Fatal(err)
	}
	c, err := domain.RegisterCandidate("cand-1", domain.CandidateInput{Name: "Ada", Email: "ada@example.com"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store.Append(ctx, commands.AppendRequest{StreamID: "cand-1", StreamType: domain.StreamTypeCandidate, ExpectedVersion: 1, Events: c.Changes(),
		Credential: &commands.Credential{TokenHash: commands.HashToken("jbk_new"), Role: commands.RoleCandidate, SubjectID: "cand-1", IssuedAt: t0.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if _, _, found, err := h.Lookup(ctx, "jbk_one"); found || err != nil {
		t.Fatalf("the replaced token still authenticates (%v)", err)
	}
	if role, id, found, err := h.Lookup(ctx, "jbk_new"); !found || err != nil || role != commands.RoleCandidate || id != "cand-1" {
		t.Fatalf("Lookup(new token) = %q %q %v %v", role, id, found, err)
	}
}

// schedule appends a candidate registration to stream id carrying a listing schedule change
// for job: the schedule commits with any append.
func schedule(t *testing.T, ctx context.Context, h Harness, id string, expected int64, sc commands.ListingSchedule) {
	t.Helper()
	if _, err := h.Store.Append(ctx, commands.AppendRequest{StreamID: id, StreamType: domain.StreamTypeCandidate, ExpectedVersion: expected,
		Events: candidateEvents(t, id), Schedule: &sc}); err != nil {
		t.Fatalf("append with schedule %+v: %v", sc, err)
	}
}

func claimDue(t *testing.T, ctx context.Context, h Harness, now time.Time, limit int, lease time.Duration) []string {
	t.Helper()
	ids, err := h.Due.ClaimDueListings(ctx, now, limit, lease)
	if err != nil {
		t.Fatalf("ClaimDueListings: %v", err)
	}
	slices.Sort(ids)
	return ids
}

func dueListingsLeased(t *testing.T, ctx context.Context, h Harness) {
	for i, job := range []string{"a", "b", "c"} {
		schedule(t, ctx, h, "s-"+job, 0, commands.ListingSchedule{JobID: job, ExpiresAt: t0.Add(time.Duration(i) * time.Hour)})
	}
	now := t0.Add(90 * time.Minute)
	if got := claimDue(t, ctx, h, now, 1, time.Minute); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("first claim with limit 1 = %v, want the earliest [a]", got)
	}
	if got := claimDue(t, ctx, h, now, 10, time.Minute); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("second claim = %v, want [b] (a is leased, c not due)", got)
	}
	if got := claimDue(t, ctx, h, now, 10, time.Minute); len(got) != 0 {
		t.Fatalf("third claim = %v, want none while the leases last", got)
	}
	if got := claimDue(t, ctx, h, now.Add(2*time.Minute), 10, time.Minute); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("claim after the leases lapsed = %v, want [a b]", got)
	}
}

func listingRemoved(t *testing.T, ctx context.Context, h Harness) {
	schedule(t, ctx, h, "s-a", 0, commands.ListingSchedule{JobID: "a", ExpiresAt: t0})
	schedule(t, ctx, h, "s-b", 0, commands.ListingSchedule{JobID: "b", ExpiresAt: t0})
	schedule(t, ctx, h, "s-a2", 0, commands.ListingSchedule{JobID: "a", Remove: true})
	schedule(t, ctx, h, "s-b2", 0, commands.ListingSchedule{JobID: "b", ExpiresAt: t0.Add(48 * time.Hour)})
	if got := claimDue(t, ctx, h, t0.Add(time.Hour), 10, time.Minute); len(got) != 0 {
		t.Fatalf("claim = %v, want none: a was removed, b rescheduled to later", got)
	}
	if got := claimDue(t, ctx, h, t0.Add(49*time.Hour), 10, time.Minute); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("claim after b's new expiry = %v, want [b]", got)
	}
}
