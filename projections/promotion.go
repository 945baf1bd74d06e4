package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jobboard/jobboard/readmodels"
)

// promote applies the last events under the exclusive promotion lock and swaps: version
// N+1 becomes live, N is retired, and the search alias moves to N+1's index.
func (r *Rebuilder) promote(ctx context.Context, run *rebuildRun, rp *replay) error {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin promotion: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, promotionLockKey(run.to.Projection)); err != nil {
		return fmt.Errorf("take promotion lock: %w", err)
	}
	if err := rp.drain(ctx, run.log); err != nil {
		return err
	}
	if run.to.Index != "" {
		// The final catch-up wrote without refresh; the settings are restored already.
		if err := readmodels.RefreshIndex(ctx, r.es, run.to.Index); err != nil {
			return err
		}
	}
	if err := r.versions.promote(ctx, tx, run.from, run.to); err != nil {
		return err
	}
	var previous []string
	if run.to.Index != "" {
		if previous, err = readmodels.AliasIndices(ctx, r.es, r.cfg.SearchAlias); err != nil {
			return err
		}
		if err := r.moveAlias(ctx, previous, run.to.Index); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		if run.to.Index != "" && len(previous) > 0 {
			// Put the alias back on the version that stays live.
			if berr := r.moveAlias(context.WithoutCancel(ctx), []string{run.to.Index}, previous[0]); berr != nil {
				r.log.Error("move alias back after a failed promotion", "err", berr)
			}
		}
		return fmt.Errorf("commit promotion: %w", err)
	}
	run.log.promoted()
	return nil
}

// moveAlias points the search alias at to only. With one index on the alias (the normal
// case) it is one _aliases request that removes and adds atomically.
func (r *Rebuilder) moveAlias(ctx context.Context, from []string, to string) error {
	moved := false
	for _, f := range from {
		if f == to {
			continue
		}
		if err := readmodels.SwapAlias(ctx, r.es, r.cfg.SearchAlias, f, to); err != nil {
			return err
		}
		moved = true
	}
	if !moved {
		return readmodels.SwapAlias(ctx, r.es, r.cfg.SearchAlias, "", to)
	}
	return nil
}

// Prune drops the retired versions of projection (every projection if "") that were
// retired more than grace ago: their schemas, indices and rows. It returns what it dropped.
func (r *Rebuilder) Prune(ctx context.Context, projection string, grace time.Duration) ([]readmodels.Target, error) {
	targets, err := r.versions.retired(ctx, projection, grace)
	if err != nil {
		return nil, err
	}
	var dropped []readmodels.Target
	for _, t := range targets {
		if err := r.dropVersion(ctx, t); err != nil {
			return dropped, err
		}
		dropped = append(dropped, t)
	}
	return dropped, nil
}

// dropVersion removes a version that is not live: its index, schema and row.
func (r *Rebuilder) dropVersion(ctx context.Context, t readmodels.Target) error {
	var errs []error
	if t.Index != "" && r.es != nil {
		errs = append(errs, readmodels.DeleteIndex(ctx, r.es, t.Index))
	}
	if readmodels.ValidSchemaName(t.Schema) {
		if _, err := r.pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+t.Schema+` CASCADE`); err != nil {
			errs = append(errs, fmt.Errorf("drop schema %s: %w", t.Schema, err))
		}
	}
	if err := r.versions.forget(ctx, t); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
