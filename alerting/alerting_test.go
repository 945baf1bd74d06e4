package alerting_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/alerting"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/internal/unsubscribe"
	"github.com/jobboard/jobboard/notifier"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/projections/projectionstest"
	"github.com/jobboard/jobboard/readmodels"
)

const signingKey = "signing-key-for-alerting-tests-0123456789"

// board is a database and search index with the projections applied as the events come.
type board struct {
	t      testing.TB
	pool   *pgxpool.Pool
	store  *readmodels.Store
	h      *projectionstest.History
	b      projectionstest.Board
	search *projections.JobSearchProjector
	alerts *projections.AlertsProjector
	done   int // events of h already projected
}

func newBoard(t testing.TB, start time.Time) *board {
	t.Helper()
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
	sfx := testenv.RandomSuffix()
	index, alias := "test-alerting-jobs-v1-"+sfx, "test-alerting-jobs-"+sfx
	if err := readmodels.EnsureSearchIndex(ctx, es, index, alias, readmodels.IndexSettings{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = readmodels.DeleteIndex(context.Background(), es, index) })
	search, err := projections.NewJobSearchProjector(pool, es, projections.JobSearchConfig{Index: index, Refresh: "true"})
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := projections.NewAlertsProjector(pool, projections.AlertsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	store, err := readmodels.NewStore(pool, es, readmodels.StoreConfig{SearchAlias: alias, WaitPollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h := projectionstest.NewHistory(start)
	return &board{t: t, pool: pool, store: store, h: h, b: projectionstest.Board{H: h, Now: start}, search: search, alerts: alerts}
}

// project applies the events added since the last call and returns them.
func (b *board) project() []projections.Event {
	b.t.Helper()
	var evs []projections.Event
	for _, e := range b.h.Events[b.done:] {
		d, err := projections.DecodeEvent(e)
		if err != nil {
			b.t.Fatal(err)
		}
		evs = append(evs, d)
	}
	b.done = len(b.h.Events)
	for _, p := range []projections.Projector{b.search, b.alerts} {
		if err := p.Apply(context.Background(), evs); err != nil {
			b.t.Fatal(err)
		}
	}
	return evs
}

func (b *board) alert(candidate, frequency string, c domain.AlertCriteria, at time.Time) string {
	b.t.Helper()
	id := uuid.NewString()
	b.h.Add(b.t, id, &domain.AlertCreated{AlertID: id, CandidateID: candidate, Criteria: c, Frequency: mustFrequency(b.t, frequency), CreatedAt: at})
	return id
}

func mustFrequency(t testing.TB, s string) domain.AlertFrequency {
	f, err := domain.ParseAlertFrequency(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

type outboxRow struct {
	key, recipient string
	data           map[string]any
	headers        map[string]string
}

func (b *board) outbox() []outboxRow {
	b.t.Helper()
	rows, err := b.pool.Query(context.Background(), `SELECT key, recipient, data, headers FROM notifier_outbox WHERE template = 'job_alert' ORDER BY key`)
	if err != nil {
		b.t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		var data, headers []byte
		if err := rows.Scan(&r.key, &r.recipient, &data, &headers); err != nil {
			b.t.Fatal(err)
		}
		_ = json.Unmarshal(data, &r.data)
		_ = json.Unmarshal(headers, &r.headers)
		out = append(out, r)
	}
	return out
}

func config(now func() time.Time) alerting.Config {
	return alerting.Config{BaseURL: "https://jobs.example.com", SigningKey: []byte(signingKey), SearchWait: 5 * time.Second, Now: now}
}

// TestInstantAlerts: a publication e-mails every instant alert whose search lists the job,
// once, with a working one-click unsubscribe link; other alerts, digests and candidates who
// turned alerts off get nothing.
func TestInstantAlerts(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Millisecond)
	b := newBoard(t, now.Add(-time.Hour))
	acme := b.b.Company(t, "Acme Robotics")
	ada, bob, cy := b.b.Candidate(t, "Ada"), b.b.Candidate(t, "Bob"), b.b.Candidate(t, "Cy")
	goRemote := b.alert(ada, "instant", domain.AlertCriteria{Q: "golang engineer", Tags: []string{"go"}}, now.Add(-time.Hour))
	b.alert(bob, "instant", domain.AlertCriteria{Q: "python"}, now.Add(-time.Hour))         // does not match
	b.alert(bob, "daily", domain.AlertCriteria{Tags: []string{"go"}}, now.Add(-time.Hour))  // a digest, not instant
	b.alert(cy, "instant", domain.AlertCriteria{Tags: []string{"go"}}, now.Add(-time.Hour)) // turned off below
	b.h.Add(t, cy, &domain.CandidateEmailPreferencesSet{CandidateID: cy, Off: []domain.EmailCategory{domain.EmailJobAlerts}, SetAt: now})
	job := b.b.PostJob(t, acme, domain.JobDetailsInput{Title: "Senior Golang Engineer", Tags: []string{"go", "kafka"}})
	b.project()
	b.b.Publish(t, job, acme, false, now)
	published := b.project()

	m, err := alerting.NewMatcher(b.pool, b.store, config(time.Now))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a redelivered batch enqueues nothing new
		if err := m.Apply(context.Background(), published); err != nil {
			t.Fatal(err)
		}
	}
	out := b.outbox()
	if len(out) != 1 || out[0].recipient != "candidate:"+ada || !strings.HasSuffix(out[0].key, "/job_alert/"+goRemote) {
		t.Fatalf("outbox %+v, want one e-mail to %s for alert %s", out, ada, goRemote)
	}
	if h := out[0].headers; h["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" || !strings.HasPrefix(h["List-Unsubscribe"], "<https://jobs.example.com/v1/unsubscribe?token=") {
		t.Fatalf("headers %v", h)
	}
	link := strings.Trim(out[0].headers["List-Unsubscribe"], "<>")
	token := link[strings.Index(link, "token=")+len("token="):]
	token = strings.ReplaceAll(token, "%3D", "=")
	signer, _ := unsubscribe.NewSigner([]byte(signingKey))
	if target, err := signer.Parse(token); err != nil || target.Kind != unsubscribe.KindAlert || target.ID != goRemote {
		t.Fatalf("the link names %+v (%v), want alert %s", target, err, goRemote)
	}
	jobs, _ := out[0].data["Jobs"].([]any)
	if len(jobs) != 1 || jobs[0].(map[string]any)["ID"] != job || out[0].data["Digest"] != false {
		t.Fatalf("data %v", out[0].data)
	}
}

// TestDailyDigest: one e-mail per alert with the jobs of the day its search lists, none for
// an alert that matched nothing, and a second run of the same day sends nothing.
func TestDailyDigest(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	end := alerting.PeriodEnd(domain.AlertFrequencyDaily, now)
	dayStart := end.Add(-24 * time.Hour)
	b := newBoard(t, dayStart.Add(-48*time.Hour))
	acme := b.b.Company(t, "Acme Robotics")
	ada, bob := b.b.Candidate(t, "Ada"), b.b.Candidate(t, "Bob")
	goAlert := b.alert(ada, "daily", domain.AlertCriteria{Tags: []string{"go"}}, dayStart.Add(-time.Hour))
	b.alert(bob, "daily", domain.AlertCriteria{Q: "haskell"}, dayStart.Add(-time.Hour))
	b.alert(bob, "weekly", domain.AlertCriteria{Tags: []string{"go"}}, dayStart.Add(-time.Hour))
	var todays []string
	for i, at := range []time.Time{dayStart.Add(-time.Hour), dayStart.Add(time.Hour), dayStart.Add(5 * time.Hour), end.Add(time.Minute)} {
		id := b.b.PostJob(t, acme, domain.JobDetailsInput{Title: "Go Engineer " + string(rune('A'+i)), Tags: []string{"go"}})
		b.b.Publish(t, id, acme, false, at)
		if !at.Before(dayStart) && at.Before(end) {
			todays = append(todays, id)
		}
	}
	b.project()
	d, err := alerting.NewDigests(b.pool, b.store, config(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.RunDue(context.Background(), domain.AlertFrequencyDaily)
	if err != nil || !res.Ran || res.Emails != 1 || res.Alerts != 2 || !res.PeriodStart.Equal(dayStart) {
		t.Fatalf("run %+v, %v", res, err)
	}
	again, err := d.RunDue(context.Background(), domain.AlertFrequencyDaily)
	if err != nil || again.Ran {
		t.Fatalf("second run %+v, %v: a finished day runs once", again, err)
	}
	out := b.outbox()
	if len(out) != 1 || out[0].recipient != "candidate:"+ada || !strings.HasSuffix(out[0].key, "/job_alert/"+goAlert) {
		t.Fatalf("outbox %+v", out)
	}
	jobs, _ := out[0].data["Jobs"].([]any)
	var got []string
	for _, j := range jobs {
		got = append(got, j.(map[string]any)["ID"].(string))
	}
	if len(got) != len(todays) || out[0].data["Total"] != float64(len(todays)) || out[0].data["Digest"] != true {
		t.Fatalf("digest of %v (total %v), want the day's %v", got, out[0].data["Total"], todays)
	}
	for _, id := range todays {
		if !strings.Contains(strings.Join(got, " "), id) {
			t.Fatalf("digest %v lacks %s", got, id)
		}
	}
}

// TestSuppressedHonoursPreferences: the sender cancels a non-essential message whose
// recipient turned its category off, never an essential one.
func TestSuppressedHonoursPreferences(t *testing.T) {
	t.Parallel()
	b := newBoard(t, time.Now().Add(-time.Hour))
	acme, globex := b.b.Company(t, "Acme"), b.b.Company(t, "Globex")
	b.h.Add(t, acme, &domain.CompanyEmailPreferencesSet{CompanyID: acme, Off: []domain.EmailCategory{domain.EmailListingNotices}, SetAt: time.Now()})
	b.project()
	off := alerting.Suppressed(b.store)
	for _, c := range []struct {
		p    notifier.SuppressParams
		want bool
	}{
		{notifier.SuppressParams{Template: notifier.TemplateListingPublished, Recipient: notifier.CompanyRef(acme)}, true},
		{notifier.SuppressParams{Template: notifier.TemplateListingExpiring, Recipient: notifier.CompanyRef(acme)}, true},
		{notifier.SuppressParams{Template: notifier.TemplateApplicationReceived, Recipient: notifier.CompanyRef(acme)}, false},
		{notifier.SuppressParams{Template: notifier.TemplatePaymentReceipt, Recipient: notifier.CompanyRef(acme), Essential: true}, false},
		{notifier.SuppressParams{Template: notifier.TemplateListingPublished, Recipient: notifier.CompanyRef(globex)}, false},
	} {
		got, err := off(context.Background(), c.p)
		if err != nil || got != c.want {
			t.Errorf("%+v: suppressed = %v, %v; want %v", c.p, got, err, c.want)
		}
	}
}
