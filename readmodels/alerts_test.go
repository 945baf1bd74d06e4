package readmodels_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/readmodels"
)

// The vocabulary of the random jobs and alerts: small, so that filters and words often
// match, and with near spellings (go/golang, data/date) so typo tolerance is exercised.
var (
	propWords     = []string{"go", "golang", "python", "rust", "engineer", "engineers", "developer", "senior", "data", "date", "backend", "frontend", "platform", "kafka"}
	propTags      = []string{"go", "python", "rust", "kafka", "sql", "react"}
	propRegions   = []string{"EMEA", "APAC", "Americas"}
	propCountries = []string{"DE", "FR", "US", "GB"}
	propTypes     = []string{"full_time", "part_time", "contract", "internship"}
	propLevels    = []string{"junior", "mid", "senior", "lead", "principal"}
	propCompanies = []readmodels.CompanyRef{
		{ID: "c0000000-0000-4000-8000-000000000001", Name: "Acme Robotics"},
		{ID: "c0000000-0000-4000-8000-000000000002", Name: "Globex"},
		{ID: "c0000000-0000-4000-8000-000000000003", Name: "Initech Data"},
	}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func some[T comparable](r *rand.Rand, xs []T, n int) []T {
	var out []T
	for range r.IntN(n + 1) {
		if x := pick(r, xs); !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func randomJob(r *rand.Rand, i int, now time.Time) readmodels.JobDocument {
	published := now.Add(-time.Duration(r.IntN(48)) * time.Hour)
	expires := published.Add(30 * 24 * time.Hour)
	title := strings.Join(some(r, propWords, 4), " ")
	if title == "" {
		title = "engineer"
	}
	d := readmodels.JobDocument{
		ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Title: title,
		Description: strings.Join(some(r, propWords, 6), " ") + " and more",
		Company:     pick(r, propCompanies),
		Location: readmodels.Location{Remote: r.IntN(2) == 0, Regions: some(r, propRegions, 2),
			Countries: some(r, propCountries, 2)},
		Tags: some(r, propTags, 3), EmploymentType: pick(r, propTypes), Seniority: pick(r, propLevels),
		Featured: r.IntN(5) == 0, Status: readmodels.StatusPublished, PostedAt: published,
		PublishedAt: &published, ExpiresAt: &expires,
	}
	if r.IntN(3) > 0 {
		lo := int64(r.IntN(100)+1) * 1000
		s := readmodels.Salary{Min: lo, Max: lo + int64(r.IntN(50))*1000, Currency: pick(r, []string{"EUR", "USD"}),
			Period: pick(r, []string{"year", "month", "hour"})}
		y := s.Yearly()
		d.Salary, d.SalaryYearly = &s, &y
	}
	d.DescriptionLength = len(d.Description)
	return d
}

// typo changes one letter of a word of four or more letters (within AUTO fuzziness).
func typo(r *rand.Rand, w string) string {
	if len(w) < 4 {
		return w
	}
	i := 1 + r.IntN(len(w)-1)
	return w[:i] + "x" + w[i+1:]
}

func randomAlert(r *rand.Rand) readmodels.SearchParams {
	var p readmodels.SearchParams
	maybe := func() bool { return r.IntN(4) == 0 }
	if r.IntN(16) < 7 { // as likely as maybe() || maybe()
		words := some(r, propWords, 2)
		for i, w := range words {
			if r.IntN(3) == 0 {
				words[i] = typo(r, w)
			}
		}
		p.Q = strings.Join(words, " ")
	}
	if maybe() {
		p.Tags = some(r, propTags, 2)
	}
	if maybe() {
		b := r.IntN(2) == 0
		p.Remote = &b
	}
	if maybe() {
		p.Region = pick(r, propRegions)
	}
	if maybe() {
		p.Country = pick(r, propCountries)
	}
	if maybe() {
		p.EmploymentType = pick(r, propTypes)
	}
	if maybe() {
		p.Seniority = pick(r, propLevels)
	}
	if maybe() {
		p.SalaryMin = int64(r.IntN(150)) * 1000
	}
	if maybe() {
		p.Currency = pick(r, []string{"EUR", "USD"})
	}
	if maybe() {
		p.CompanyID = pick(r, propCompanies).ID
	}
	p.Sort = pick(r, []string{"", "relevance", "newest", "salary"})
	return p
}

// bulkIndex writes docs (id → body) to index and refreshes it.
func bulkIndex(t *testing.T, es *elasticsearch.Client, index string, docs map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	for id, d := range docs {
		meta, _ := json.Marshal(map[string]any{"index": map[string]any{"_index": index, "_id": id}})
		body, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(meta)
		buf.WriteByte('\n')
		buf.Write(body)
		buf.WriteByte('\n')
	}
	res, err := es.Bulk(bytes.NewReader(buf.Bytes()), es.Bulk.WithRefresh("true"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var br struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Error any `json:"error"`
		} `json:"items"`
	}
	if err := json.NewDecoder(res.Body).Decode(&br); err != nil || res.IsError() || br.Errors {
		for _, it := range br.Items {
			for _, v := range it {
				if v.Error != nil {
					t.Fatalf("bulk %s: %v", index, v.Error)
				}
			}
		}
		t.Fatalf("bulk %s: %s %v", index, res.Status(), err)
	}
}

// TestAlertMatchesExactlyWhatTheSearchLists is the property of job alerts: for random jobs
// (some closed or expired) and random alerts (seeded; every filter of GET /v1/jobs,
// full-text words with typos, every sort), the jobs MatchAlerts finds for an alert in a
// scope are exactly the jobs of that scope the alert's search (Store.Search, what
// GET /v1/jobs answers) lists — for a scope of just-published ids (instant alerts) and
// (all of them) and for a period of publication (digests), whose first MaxAlertJobs come in the order of
// sort=newest.
func TestAlertMatchesExactlyWhatTheSearchLists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{testenv.ElasticsearchURL(t)}})
	if err != nil {
		t.Fatal(err)
	}
	const rounds, jobsPerRound, alertsPerRound = 4, 90, 200
	for round := range rounds {
		seed := uint64(time.Now().UnixNano())
		t.Run(fmt.Sprintf("round %d seed %d", round, seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, uint64(round)))
			sfx := testenv.RandomSuffix()
			index, alias := "test-prop-jobs-v1-"+sfx, "test-prop-jobs-"+sfx
			if err := readmodels.EnsureSearchIndex(ctx, es, index, alias, readmodels.IndexSettings{}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = readmodels.DeleteIndex(context.Background(), es, index) })
			now := time.Now().UTC()
			jobs := make([]readmodels.JobDocument, jobsPerRound)
			docs := map[string]any{}
			published := map[string]time.Time{}
			for i := range jobs {
				jobs[i] = randomJob(r, i, now)
				switch r.IntN(10) {
				case 0:
					jobs[i].Status = readmodels.StatusClosed
				case 1:
					past := now.Add(-time.Hour)
					jobs[i].ExpiresAt = &past
				}
				docs[jobs[i].ID] = jobs[i]
				published[jobs[i].ID] = *jobs[i].PublishedAt
			}
			bulkIndex(t, es, index, docs)
			alerts := make([]readmodels.Alert, alertsPerRound)
			for i := range alerts {
				p := randomAlert(r)
				alerts[i] = readmodels.Alert{ID: fmt.Sprintf("a%04d", i), Active: true, Frequency: "instant",
					Criteria: readmodels.AlertCriteria{Q: p.Q, Tags: p.Tags, Remote: p.Remote, Region: p.Region, Country: p.Country,
						EmploymentType: p.EmploymentType, Seniority: p.Seniority, SalaryMin: p.SalaryMin, Currency: p.Currency,
						CompanyID: p.CompanyID, Sort: p.Sort}}
			}
			store, err := readmodels.NewStore(pool, es, readmodels.StoreConfig{SearchAlias: alias})
			if err != nil {
				t.Fatal(err)
			}
			// What GET /v1/jobs lists for each alert: every page of its search.
			listed := map[string][]readmodels.SearchItem{}
			for _, a := range alerts {
				p := a.Criteria.SearchParams()
				p.Sort, p.Limit = readmodels.SortNewest, readmodels.MaxSearchLimit
				res, err := store.Search(ctx, p)
				if err != nil {
					t.Fatalf("search %+v: %v", p, err)
				}
				if res.NextCursor != "" {
					t.Fatalf("more than one page for %+v", p)
				}
				listed[a.ID] = res.Items
			}

			var ids []string
			for _, j := range jobs {
				if r.IntN(3) == 0 { // about 30: more than MaxAlertJobs, all announced
					ids = append(ids, j.ID)
				}
			}
			instant, err := store.MatchAlerts(ctx, alerts, readmodels.JobScope{IDs: ids})
			if err != nil {
				t.Fatal(err)
			}
			from, until := now.Add(-30*time.Hour), now.Add(-6*time.Hour)
			digest, err := store.MatchAlerts(ctx, alerts, readmodels.JobScope{PublishedFrom: from, PublishedUntil: until})
			if err != nil {
				t.Fatal(err)
			}
			matched := 0
			for _, a := range alerts {
				var wantIDs, wantPeriod []string
				for _, it := range listed[a.ID] {
					if slices.Contains(ids, it.ID) {
						wantIDs = append(wantIDs, it.ID)
					}
					if at := published[it.ID]; !at.Before(from) && at.Before(until) {
						wantPeriod = append(wantPeriod, it.ID)
					}
				}
				gotIDs := jobIDs(instant[a.ID].Jobs)
				slices.Sort(wantIDs)
				slices.Sort(gotIDs)
				if !slices.Equal(wantIDs, gotIDs) || instant[a.ID].Total != int64(len(wantIDs)) {
					t.Errorf("alert %+v, just published %v: GET /v1/jobs lists %v, the match found %v (total %d)",
						a.Criteria, ids, wantIDs, gotIDs, instant[a.ID].Total)
				}
				total := len(wantPeriod)
				wantPeriod = wantPeriod[:min(len(wantPeriod), readmodels.MaxAlertJobs)]
				if got := jobIDs(digest[a.ID].Jobs); !slices.Equal(wantPeriod, got) || digest[a.ID].Total != int64(total) {
					t.Errorf("alert %+v, period: GET /v1/jobs lists %d, newest %v; the match found %d, %v",
						a.Criteria, total, wantPeriod, digest[a.ID].Total, got)
				}
				if total > 0 {
					matched++
				}
			}
			// The property says little if hardly anything matched.
			if matched < alertsPerRound/5 {
				t.Errorf("only %d of %d alerts matched any job of the period: the generator is too narrow", matched, alertsPerRound)
			}
			t.Logf("%d alerts: %d match jobs of the period, %d match just-published jobs", alertsPerRound, matched, len(instant))
		})
	}
}

func jobIDs(items []readmodels.SearchItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

// TestAlertsProjection: the projector keeps the live alerts and the e-mail preferences, and
// a redelivered or stale event changes nothing.
func TestAlertsProjection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{testenv.ElasticsearchURL(t)}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := projections.NewAlertsProjector(pool, projections.AlertsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	const alert, ada = "a1000000-0000-4000-8000-000000000001", "d0000000-0000-4000-8000-00000000000a"
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ev := func(stream string, v int64, e domain.Event) projections.Event {
		st, _ := domain.StreamTypeOf(e.EventType())
		return projections.Event{Event: eventstore.Event{StreamID: stream, StreamType: st, StreamVersion: v, Type: e.EventType(),
			SchemaVersion: e.SchemaVersion(), RecordedAt: at, GlobalPosition: v}, Payload: e}
	}
	created := ev(alert, 1, &domain.AlertCreated{AlertID: alert, CandidateID: ada, Frequency: domain.AlertFrequencyDaily,
		Criteria: domain.AlertCriteria{Q: "go", Tags: []string{"go"}}, CreatedAt: at})
	prefs := ev(ada, 2, &domain.CandidateEmailPreferencesSet{CandidateID: ada, Off: []domain.EmailCategory{domain.EmailJobAlerts}, SetAt: at})
	if err := p.Apply(ctx, []projections.Event{created, prefs}); err != nil {
		t.Fatal(err)
	}
	store, err := readmodels.NewStore(pool, es, readmodels.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.GetAlert(ctx, alert)
	if err != nil || !got.Active || got.Criteria.Q != "go" || got.Frequency != "daily" || got.CandidateID != ada {
		t.Fatalf("alert %+v, %v", got, err)
	}
	if n, err := store.LiveAlerts(ctx, ada); err != nil || n != 1 {
		t.Fatalf("live alerts %d, %v", n, err)
	}
	if pr, err := store.GetEmailPreferences(ctx, ada); err != nil || len(pr.Off) != 1 || pr.Off[0] != "job_alerts" {
		t.Fatalf("preferences %+v, %v", pr, err)
	}
	deleted := ev(alert, 2, &domain.AlertDeleted{AlertID: alert, CandidateID: ada, Reason: domain.AlertUnsubscribed, DeletedAt: at})
	if err := p.Apply(ctx, []projections.Event{deleted, created}); err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(ctx, []projections.Event{created}); err != nil { // a stale redelivery
		t.Fatal(err)
	}
	if list, err := store.CandidateAlerts(ctx, ada); err != nil || len(list) != 0 {
		t.Fatalf("after deletion: %+v, %v", list, err)
	}
	if got, err := store.GetAlert(ctx, alert); err != nil || got.Active || got.Version != 2 {
		t.Fatalf("deleted alert %+v, %v", got, err)
	}
}
