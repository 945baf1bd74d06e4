package projections_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/projections/projectionstest"
	"github.com/jobboard/jobboard/readmodels"
)

// board builds a history touching every read model: two companies, two candidates, jobs
// in every status, applications moved through their statuses.
func board(t *testing.T) (*projectionstest.History, map[string]string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	h := projectionstest.NewHistory(now.Add(-time.Hour))
	b := projectionstest.Board{H: h, Now: now.Add(-time.Hour)}
	ids := map[string]string{}
	ids["acme"] = b.Company(t, "Acme Robotics")
	ids["globex"] = b.Company(t, "Globex")
	ids["ann"] = b.Candidate(t, "Ann Example")
	ids["bob"] = b.Candidate(t, "Bob Example")
	ids["open"] = b.PostJob(t, ids["acme"], domain.JobDetailsInput{Title: "Senior Go Engineer", Tags: []string{"go", "kafka"},
		Location: domain.LocationInput{Remote: true, Regions: []string{"EMEA"}, Countries: []string{"DE"}}})
	b.Publish(t, ids["open"], ids["acme"], true, now.Add(-time.Hour))
	h.Add(t, ids["open"], &domain.JobDetailsChanged{JobID: ids["open"], CompanyID: ids["acme"],
		Details: projectionstest.Details(t, domain.JobDetailsInput{Title: "Staff Go Engineer", Tags: []string{"go"},
			Location: domain.LocationInput{Remote: true, Regions: []string{"EMEA"}}}),
		ChangedFields: []string{"title", "tags", "location"}, ChangedAt: now})
	ids["closed"] = b.PostJob(t, ids["acme"], domain.JobDetailsInput{Title: "Rust Developer", Tags: []string{"rust"}})
	b.Publish(t, ids["closed"], ids["acme"], false, now.Add(-time.Hour))
	b.Close(t, ids["closed"], ids["acme"])
	ids["draft"] = b.PostJob(t, ids["globex"], domain.JobDetailsInput{Title: "Data Analyst"})
	// A job whose standard payment was replaced by a featured one, then succeeded anyway and
	// was refunded; the featured one awaits payment.
	ids["paying"] = b.PostJob(t, ids["globex"], domain.JobDetailsInput{Title: "Data Engineer"})
	eur, err := domain.ParseCurrency("EUR")
	if err != nil {
		t.Fatal(err)
	}
	h.Add(t, ids["paying"], &domain.ListingPaymentRequested{JobID: ids["paying"], CompanyID: ids["globex"], PaymentID: "pay-std",
		Plan: domain.ListingPlanStandard, Amount: 4900, Currency: eur, DurationSeconds: 86400, RequestedAt: now.Add(-time.Minute)})
	h.Add(t, ids["paying"], &domain.ListingPaymentCanceled{JobID: ids["paying"], CompanyID: ids["globex"], PaymentID: "pay-std",
		ReplacedBy: "pay-feat", CanceledAt: now})
	h.Add(t, ids["paying"], &domain.ListingPaymentRequested{JobID: ids["paying"], CompanyID: ids["globex"], PaymentID: "pay-feat",
		Plan: domain.ListingPlanFeatured, Amount: 9900, Currency: eur, DurationSeconds: 86400, RequestedAt: now})
	h.Add(t, ids["paying"], &domain.ListingPaymentRefunded{JobID: ids["paying"], CompanyID: ids["globex"], PaymentID: "pay-std",
		RefundID: "re_1", Amount: 4900, Currency: eur, Reason: domain.RefundReasonCanceled, PaidAt: now, RefundedAt: now})
	ids["app1"] = b.Apply(t, ids["open"], ids["acme"], ids["ann"])
	ids["app2"] = b.Apply(t, ids["open"], ids["acme"], ids["bob"])
	h.Add(t, ids["app1"], &domain.ApplicationStatusChanged{ApplicationID: ids["app1"], JobID: ids["open"], CompanyID: ids["acme"],
		CandidateID: ids["ann"], From: domain.ApplicationStatusSubmitted, To: domain.ApplicationStatusInterviewing, ChangedAt: now})
	h.Add(t, ids["app2"], &domain.ApplicationWithdrawn{ApplicationID: ids["app2"], JobID: ids["open"], CompanyID: ids["acme"],
		CandidateID: ids["bob"], From: domain.ApplicationStatusSubmitted, WithdrawnAt: now})
	return h, ids
}

func TestReadTablesProjector(t *testing.T) {
	t.Parallel()
	h, ids := board(t)

	inOrder := newPool(t)
	applyAll(t, newReadTables(t, inOrder), h.Events)
	want := tablesSnapshot(t, inOrder, readmodels.DefaultReadTablesSchema)

	t.Run("gives the same tables for shuffled, redelivered and batched events", func(t *testing.T) {
		for seed := uint64(1); seed <= 3; seed++ {
			pool := newPool(t)
			p := newReadTables(t, pool)
			applyAll(t, p, projectionstest.Shuffled(h.Events, seed, true), 1, 7, 3, 16)
			if got := tablesSnapshot(t, pool, readmodels.DefaultReadTablesSchema); got != want {
				t.Fatalf("seed %d: tables differ\n got: %s\nwant: %s", seed, got, want)
			}
			applyAll(t, p, h.Events, 50) // everything again
			if got := tablesSnapshot(t, pool, readmodels.DefaultReadTablesSchema); got != want {
				t.Fatalf("seed %d: a full redelivery changed the tables", seed)
			}
		}
	})

	t.Run("answers the queries", func(t *testing.T) {
		si := newSearchIndex(t)
		store := newStore(t, inOrder, si)
		ctx := context.Background()

		c, err := store.GetCompany(ctx, ids["acme"])
		if err != nil || c.Name != "Acme Robotics" || c.OpenJobs != 1 {
			t.Fatalf("GetCompany = %+v, %v; want Acme Robotics with 1 open job", c, err)
		}
		j, err := store.GetJob(ctx, ids["open"])
		if err != nil || j.Title != "Staff Go Engineer" || j.Status != readmodels.StatusPublished ||
			!j.Featured || j.Company.Name != "Acme Robotics" || !reflect.DeepEqual(j.Tags, []string{"go"}) || j.Version != 5 {
			t.Fatalf("GetJob(open) = %+v, %v", j, err)
		}
		if j, err := store.GetJob(ctx, ids["draft"]); err != nil || j.Status != readmodels.StatusAwaitingPayment {
			t.Fatalf("GetJob(draft) = %+v, %v", j, err)
		}
		paying, err := store.GetJob(ctx, ids["paying"])
		wantPayments := []readmodels.JobPayment{
			{PaymentID: "pay-std", Plan: "standard", Amount: 4900, Currency: "EUR", Status: "refunded"},
			{PaymentID: "pay-feat", Plan: "featured", Amount: 9900, Currency: "EUR", Status: "requested"},
		}
		if err != nil || paying.Version != 5 || len(paying.Payments) != 2 {
			t.Fatalf("GetJob(paying) = %+v, %v", paying, err)
		}
		for i, p := range paying.Payments {
			w := wantPayments[i]
			if p.PaymentID != w.PaymentID || p.Plan != w.Plan || p.Amount != w.Amount || p.Currency != w.Currency || p.Status != w.Status {
				t.Errorf("payment %d = %+v, want %+v", i, p, w)
			}
		}
		if _, err := store.GetJob(ctx, "nope"); err == nil {
			t.Fatal("GetJob of an unknown id: no error")
		}
		jobs, err := store.CompanyJobs(ctx, ids["acme"], readmodels.ListParams{Status: readmodels.StatusClosed})
		if err != nil || len(jobs.Items) != 1 || jobs.Items[0].ID != ids["closed"] {
			t.Fatalf("CompanyJobs(closed) = %+v, %v", jobs, err)
		}
		all, err := store.CompanyJobs(ctx, ids["acme"], readmodels.ListParams{Limit: 1})
		if err != nil || len(all.Items) != 1 || all.NextCursor == "" {
			t.Fatalf("CompanyJobs page 1 = %+v, %v", all, err)
		}
		next, err := store.CompanyJobs(ctx, ids["acme"], readmodels.ListParams{Limit: 1, Cursor: all.NextCursor})
		if err != nil || len(next.Items) != 1 || next.NextCursor != "" || next.Items[0].ID == all.Items[0].ID {
			t.Fatalf("CompanyJobs page 2 = %+v, %v", next, err)
		}
		apps, err := store.JobApplications(ctx, ids["open"], readmodels.ListParams{})
		if err != nil || len(apps.Items) != 2 {
			t.Fatalf("JobApplications = %+v, %v", apps, err)
		}
		statuses := map[string]string{}
		for _, a := range apps.Items {
			statuses[a.Candidate.Name] = a.Status
		}
		if statuses["Ann Example"] != "interviewing" || statuses["Bob Example"] != "withdrawn" {
			t.Fatalf("application statuses = %v", statuses)
		}
		interviewing, err := store.JobApplications(ctx, ids["open"], readmodels.ListParams{Status: "interviewing"})
		if err != nil || len(interviewing.Items) != 1 {
			t.Fatalf("JobApplications(interviewing) = %+v, %v", interviewing, err)
		}
		mine, err := store.CandidateApplications(ctx, ids["ann"], readmodels.ListParams{})
		if err != nil || len(mine.Items) != 1 || mine.Items[0].Job.Title != "Staff Go Engineer" ||
			mine.Items[0].Job.Company.Name != "Acme Robotics" || mine.Items[0].Status != "interviewing" {
			t.Fatalf("CandidateApplications = %+v, %v", mine, err)
		}
	})
}

func TestJobSearchProjector(t *testing.T) {
	t.Parallel()
	h, ids := board(t)

	poolA, siA := newPool(t), newSearchIndex(t)
	applyAll(t, newJobSearch(t, poolA, siA), h.Events)
	want := searchDocs(t, siA, siA.index)
	if len(want) != 2 {
		t.Fatalf("documents after the history: %d, want 2 (the open and the closed job)", len(want))
	}
	if want[ids["open"]].Source["status"] != "published" || want[ids["closed"]].Source["status"] != "closed" {
		t.Fatalf("statuses: %v / %v", want[ids["open"]].Source["status"], want[ids["closed"]].Source["status"])
	}

	t.Run("gives the same documents for shuffled, redelivered and batched events", func(t *testing.T) {
		for seed := uint64(1); seed <= 3; seed++ {
			pool, si := newPool(t), newSearchIndex(t)
			applyAll(t, newJobSearch(t, pool, si), projectionstest.Shuffled(h.Events, seed, true), 1, 5, 16)
			if got := searchDocs(t, si, si.index); !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d: documents differ\n got: %v\nwant: %v", seed, got, want)
			}
		}
	})

	t.Run("puts a company name that arrives after the job's events into the document", func(t *testing.T) {
		pool, si := newPool(t), newSearchIndex(t)
		p := newJobSearch(t, pool, si)
		applyAll(t, p, h.Events[1:]) // everything but acme's registration
		if name := searchDocs(t, si, si.index)[ids["open"]].Source["company"].(map[string]any)["name"]; name != "" {
			t.Fatalf("company name before registration = %q", name)
		}
		applyAll(t, p, h.Events[:1])
		if got := searchDocs(t, si, si.index); !reflect.DeepEqual(got[ids["open"]].Source, want[ids["open"]].Source) {
			t.Fatalf("document after late company = %v, want %v", got[ids["open"]].Source, want[ids["open"]].Source)
		}
	})

	t.Run("keeps a closed job out of search when a stale job.published is redelivered", func(t *testing.T) {
		store := newStore(t, poolA, siA)
		var published []eventstore.Event
		for _, e := range h.Events {
			if e.StreamID == ids["closed"] && e.Type == domain.EventJobPublished {
				published = append(published, e)
			}
		}
		applyAll(t, newJobSearch(t, poolA, siA), published)
		res, err := store.Search(context.Background(), readmodels.SearchParams{Q: "rust"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != 0 {
			t.Fatalf("closed job found again: %+v", res.Items)
		}
		if got := searchDocs(t, siA, siA.index)[ids["closed"]]; got.Source["status"] != "closed" {
			t.Fatalf("closed job's document: %v", got)
		}
	})
}

// A catch-up's batch makes its documents searchable by refreshing at once: ApplyBacklog does
// not wait for a scheduled refresh, which an index with refreshes off never makes (Apply,
// waiting for one, would not return).
func TestJobSearchApplyBacklogRefreshesAtOnce(t *testing.T) {
	t.Parallel()
	h, ids := board(t)
	pool, si := newPool(t), newSearchIndex(t)
	res, err := si.es.Indices.PutSettings(strings.NewReader(`{"index":{"refresh_interval":"-1"}}`), si.es.Indices.PutSettings.WithIndex(si.index))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.IsError() {
		t.Fatalf("refreshes off: %s", res.Status())
	}
	decoded := make([]projections.Event, len(h.Events))
	for i, e := range h.Events {
		if decoded[i], err = projections.DecodeEvent(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := newJobSearch(t, pool, si).ApplyBacklog(ctxTimeout(t, 20*time.Second), decoded); err != nil {
		t.Fatalf("apply backlog: %v", err)
	}
	found, err := newStore(t, pool, si).Search(context.Background(), readmodels.SearchParams{Q: "enginer"})
	if err != nil {
		t.Fatal(err)
	}
	if found.Total != 1 || found.Items[0].ID != ids["open"] {
		t.Fatalf("search right after ApplyBacklog = %+v, want the open job", found)
	}
}
