package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/projections/projectionstest"
	"github.com/jobboard/jobboard/readmodels"
)

// TestAlertsProjectionRebuilds: the alerts projection is rebuilt from the history like the
// others: version 2 in a schema of its own, promoted, and the queries read it.
func TestAlertsProjectionRebuilds(t *testing.T) {
	t.Parallel()
	env := newRebuildEnv(t, projections.RebuilderConfig{BatchSize: 500})
	ctx := ctxTimeout(t, 2*time.Minute)
	now := time.Now().UTC().Truncate(time.Millisecond)
	h := projectionstest.NewHistory(now.Add(-time.Hour))
	b := projectionstest.Board{H: h, Now: now.Add(-time.Hour)}
	ada := b.Candidate(t, "Ada")
	var live, ended string
	for i := range 30 {
		id := uuid.NewString()
		h.Add(t, id, &domain.AlertCreated{AlertID: id, CandidateID: ada, Frequency: domain.AlertFrequencyDaily,
			Criteria: domain.AlertCriteria{Q: "go"}, CreatedAt: now})
		if i == 0 {
			h.Add(t, id, &domain.AlertDeleted{AlertID: id, CandidateID: ada, Reason: domain.AlertDeletedByCandidate, DeletedAt: now})
			ended = id
		} else {
			live = id
		}
	}
	h.Add(t, ada, &domain.CandidateEmailPreferencesSet{CandidateID: ada, Off: []domain.EmailCategory{domain.EmailApplicationUpdates}, SetAt: now})
	if err := projectionstest.CopyToStore(ctx, env.pool, h, 1000); err != nil {
		t.Fatal(err)
	}
	// Readers see committed events once no older transaction of the cluster is in flight
	// (the commit-safe order); on the shared stack that may take a moment.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		evs, err := env.store.ReadAll(ctx, eventstore.Start, len(h.Events)+1, eventstore.ReadFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == len(h.Events) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events readable", len(evs), len(h.Events))
		}
	}
	st, err := env.rb.Run(ctx, readmodels.AlertsProjection, nil)
	if err != nil || st.State != projections.RebuildDone || st.ToVersion != 2 {
		t.Fatalf("rebuild %+v, %v", st, err)
	}
	if v := env.versions(t, readmodels.AlertsProjection); v != "1:retired,2:live" {
		t.Fatalf("versions %s", v)
	}
	time.Sleep(300 * time.Millisecond) // the store's cached live version (TargetTTL)
	if n, err := env.reads.LiveAlerts(ctx, ada); err != nil || n != 29 {
		t.Fatalf("live alerts %d, %v", n, err)
	}
	if a, err := env.reads.GetAlert(ctx, ended); err != nil || a.Active {
		t.Fatalf("ended alert %+v, %v", a, err)
	}
	if a, err := env.reads.GetAlert(ctx, live); err != nil || !a.Active || a.Criteria.Q != "go" {
		t.Fatalf("live alert %+v, %v", a, err)
	}
	if p, err := env.reads.GetEmailPreferences(context.Background(), ada); err != nil || len(p.Off) != 1 {
		t.Fatalf("preferences %+v, %v", p, err)
	}
}
