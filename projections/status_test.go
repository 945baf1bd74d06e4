package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/projections/projectionstest"
	"github.com/jobboard/jobboard/readmodels"
)

func statusOf(t *testing.T, env rebuildEnv, name string) projections.ProjectionStatus {
	t.Helper()
	all, err := projections.Status(context.Background(), env.pool, projections.StatusConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no status of %s in %+v", name, all)
	return projections.ProjectionStatus{}
}

func TestStatusAndDeadLetters(t *testing.T) {
	t.Parallel()
	env := newRebuildEnv(t, projections.RebuilderConfig{})
	ctx := ctxTimeout(t, time.Minute)
	now := time.Now().UTC()
	h := projectionstest.NewHistory(now.Add(-time.Minute))
	b := projectionstest.Board{H: h, Now: now}
	company := b.Company(t, "Acme")
	job := b.PostJob(t, company, projectionstest.DefaultJob())
	if err := projectionstest.CopyToStore(ctx, env.pool, h, 100); err != nil {
		t.Fatal(err)
	}
	// ReadAll holds back events while an older transaction of the cluster (another test)
	// is in flight.
	var stored []eventstore.Event
	projectionstest.WaitUntil(t, 20*time.Second, "the seeded events are readable", func() bool {
		var err error
		stored, err = env.store.ReadAll(ctx, eventstore.Start, 10, eventstore.ReadFilter{})
		return err == nil && len(stored) == 2
	})

	t.Run("counts the events not applied and their age", func(t *testing.T) {
		s := statusOf(t, env, readmodels.ReadTablesProjection)
		if s.Version != 1 || s.State != projections.StateLive || s.LagEvents != 2 || s.LagSeconds < 30 || s.DeadLetters != 0 {
			t.Fatalf("status = %+v, want v1 live, lag 2 events of a minute", s)
		}
	})

	tables, err := projections.NewReadTablesProjector(env.pool, projections.ReadTablesConfig{})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := projections.NewDeadLetters(env.pool)
	if err != nil {
		t.Fatal(err)
	}
	// The company's event is applied; the job's event died (as the poison queue would
	// record it).
	first, err := projections.DecodeEvent(stored[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := tables.Apply(ctx, []projections.Event{first}); err != nil {
		t.Fatal(err)
	}
	msg := projectionstest.Message(t, stored[1])
	msg.Metadata.Set(middleware.ReasonForPoisonedKey, "constraint violated")
	msg.Metadata.Set(middleware.PoisonedTopicKey, "jobboard.jobs")
	if err := dl.Record(ctx, tables.Name(), msg); err != nil {
		t.Fatal(err)
	}

	t.Run("reports dead letters and the last error", func(t *testing.T) {
		s := statusOf(t, env, readmodels.ReadTablesProjection)
		if s.LagEvents != 1 || s.DeadLetters != 1 || s.LastError != "constraint violated" {
			t.Fatalf("status = %+v, want lag 1, 1 dead letter", s)
		}
		letters, err := dl.List(ctx, tables.Name(), projections.ListDeadLettersParams{})
		if err != nil || len(letters) != 1 || letters[0].StreamID != job || letters[0].EventType != "job.posted" ||
			letters[0].Topic != "jobboard.jobs" {
			t.Fatalf("list = %+v, %v", letters, err)
		}
		got, err := dl.Get(ctx, letters[0].ID)
		if err != nil || got.MessageUUID != msg.UUID {
			t.Fatalf("get = %+v, %v", got, err)
		}
	})

	t.Run("replays dead letters through the projector", func(t *testing.T) {
		res, err := dl.Replay(ctx, tables)
		if err != nil || res.Replayed != 1 || res.Failed != 0 {
			t.Fatalf("replay = %+v, %v", res, err)
		}
		reads := env.reads
		j, err := reads.GetJob(ctx, job)
		if err != nil || j.ID != job {
			t.Fatalf("job after replay = %+v, %v", j, err)
		}
		s := statusOf(t, env, readmodels.ReadTablesProjection)
		if s.LagEvents != 0 || s.LagSeconds != 0 || s.DeadLetters != 0 || s.LastError != "" {
			t.Fatalf("status after replay = %+v", s)
		}
		if open, _ := dl.List(ctx, tables.Name(), projections.ListDeadLettersParams{}); len(open) != 0 {
			t.Fatalf("open dead letters after replay: %+v", open)
		}
	})
}
