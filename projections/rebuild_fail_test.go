package projections_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/readmodels"
)

// failingProjector wraps a projector: Apply fails from call failAt on, or blocks until
// cancelled when block is set.
type failingProjector struct {
	projections.Projector
	calls  atomic.Int64
	failAt int64
	block  bool
}

func (p *failingProjector) Apply(ctx context.Context, events []projections.Event) error {
	if p.calls.Add(1) >= p.failAt {
		if p.block {
			<-ctx.Done()
			return ctx.Err()
		}
		return errors.New("disk on fire")
	}
	return p.Projector.Apply(ctx, events)
}

func TestRebuildThatDoesNotFinishLeavesTheLiveVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		block     bool
		wantState string
	}{
		{"a failed rebuild drops its version and keeps the live one", false, projections.RebuildFailed},
		{"a cancelled rebuild drops its version and keeps the live one", true, projections.RebuildCancelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var wrapped atomic.Pointer[failingProjector]
			cfg := projections.RebuilderConfig{BatchSize: 100, ProgressInterval: 20 * time.Millisecond}
			env := newRebuildEnv(t, cfg)
			defs := projections.Definitions(env.pool, env.es, 1)
			def := defs[readmodels.JobSearchProjection]
			inner := def.New
			def.New = func(tg readmodels.Target) (projections.Projector, error) {
				p, err := inner(tg)
				w := &failingProjector{Projector: p, failAt: 3, block: tc.block}
				wrapped.Store(w)
				return w, err
			}
			defs[readmodels.JobSearchProjection] = def
			cfg.Definitions, cfg.SearchAlias, cfg.IndexPrefix, cfg.Logger = defs, env.alias, env.prefix, quietLogger()
			rb, err := projections.NewRebuilder(env.pool, env.es, env.store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer rb.Close()
			env.seed(t, 2000)
			ctx := ctxTimeout(t, time.Minute)

			id, err := rb.Start(ctx, readmodels.JobSearchProjection)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rb.Start(ctx, readmodels.JobSearchProjection); !errors.Is(err, projections.ErrRebuildInProgress) {
				t.Fatalf("second Start = %v, want ErrRebuildInProgress", err)
			}
			if tc.block {
				for w := wrapped.Load(); w == nil || w.calls.Load() < 3; w = wrapped.Load() {
					time.Sleep(10 * time.Millisecond)
				}
				if err := rb.Cancel(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			var st projections.RebuildStatus
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if st, err = rb.Status(ctx, id); err != nil {
					t.Fatal(err)
				}
				if st.Finished() || time.Now().After(deadline) {
					break
				}
			}
			if st.State != tc.wantState || st.FinishedAt == nil || st.EventsDone == 0 {
				t.Fatalf("status = %+v, want %s with progress", st, tc.wantState)
			}
			if got := env.versions(t, readmodels.JobSearchProjection); got != "1:live" {
				t.Fatalf("versions = %s, want only 1:live", got)
			}
			if env.schemaExists(t, "search_v2") {
				t.Fatal("schema search_v2 left behind")
			}
			if ok, err := readmodels.IndexExists(ctx, env.es, env.prefix+"-v2"); ok || err != nil {
				t.Fatalf("index v2 left behind (%v)", err)
			}
			if idx, err := readmodels.AliasIndices(ctx, env.es, env.alias); err != nil || len(idx) != 1 || idx[0] != env.prefix+"-v1" {
				t.Fatalf("alias on %v (%v), want v1", idx, err)
			}
			statuses, err := projections.Status(ctx, env.pool, projections.StatusConfig{})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range statuses {
				if s.Name != readmodels.JobSearchProjection {
					continue
				}
				if !tc.block && (s.State != projections.StateFailed || !strings.Contains(s.LastError, "disk on fire")) {
					t.Fatalf("status after failure = %+v", s)
				}
				if tc.block && s.State != projections.StateLive {
					t.Fatalf("status after cancel = %+v", s)
				}
			}
			// A new rebuild can start again.
			if _, err := env.rb.Run(ctx, readmodels.JobSearchProjection, nil); err != nil {
				t.Fatalf("rebuild after %s: %v", st.State, err)
			}
		})
	}
}

// A rebuild whose process died (SIGKILL: no finish, no cleanup) leaves a running row whose
// heartbeat stops; the next rebuild reclaims it instead of answering "in progress" forever.
func TestAnAbandonedRebuildIsReclaimedByTheNext(t *testing.T) {
	t.Parallel()
	env := newRebuildEnv(t, projections.RebuilderConfig{})
	ctx := ctxTimeout(t, time.Minute)
	env.seed(t, 300)
	// What a killed process leaves behind: version 2 half built, its run still "running".
	if _, err := env.pool.Exec(ctx, `CREATE SCHEMA rm_v2`); err != nil {
		t.Fatal(err)
	}
	if _, err := env.pool.Exec(ctx, `INSERT INTO projection_versions (projection, version, state, pg_schema)
		VALUES ($1, 2, 'rebuilding', 'rm_v2')`, readmodels.ReadTablesProjection); err != nil {
		t.Fatal(err)
	}
	var dead string
	if err := env.pool.QueryRow(ctx, `INSERT INTO projection_rebuilds (id, projection, from_version, to_version, state, heartbeat_at)
		VALUES (gen_random_uuid(), $1, 1, 2, 'running', now() - interval '10 minutes') RETURNING id::text`,
		readmodels.ReadTablesProjection).Scan(&dead); err != nil {
		t.Fatal(err)
	}

	rb, err := projections.NewRebuilder(env.pool, env.es, env.store, projections.RebuilderConfig{
		SearchAlias: env.alias, IndexPrefix: env.prefix, Logger: quietLogger(), AbandonAfter: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	st, err := rb.Run(ctx, readmodels.ReadTablesProjection, nil)
	if err != nil {
		t.Fatalf("rebuild after an abandoned one: %v", err)
	}
	if st.State != projections.RebuildDone || st.ToVersion != 2 {
		t.Fatalf("rebuild = %+v, want done at version 2 (the abandoned version dropped and built anew)", st)
	}
	var state, reason string
	if err := env.pool.QueryRow(ctx, `SELECT state, error FROM projection_rebuilds WHERE id = $1`, dead).Scan(&state, &reason); err != nil {
		t.Fatal(err)
	}
	if state != projections.RebuildFailed || !strings.Contains(reason, "abandoned") {
		t.Fatalf("the abandoned run is %s (%q), want failed as abandoned", state, reason)
	}
}
