package projections

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/jobboard/jobboard/readmodels"
)

// target is where one Apply writes.
type target struct {
	schema string
	index  string
}

// resolveTarget returns fixed, or with follow the live version of projection read from
// projection_versions under a shared advisory lock held until tx ends. A promotion takes the
// lock exclusively (see Rebuilder), so every write lands either in the old version before
// the promotion's final catch-up read, or in the new version after it: none is lost.
func resolveTarget(ctx context.Context, tx pgx.Tx, projection string, follow bool, fixed target) (target, error) {
	if !follow {
		return fixed, nil
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, promotionLockKey(projection)); err != nil {
		return target{}, fmt.Errorf("lock live version: %w", classifyPG(err))
	}
	t, err := readmodels.LiveTarget(ctx, tx, projection)
	if err != nil {
		return target{}, classifyPG(err)
	}
	return target{schema: t.Schema, index: t.Index}, nil
}

// promotionLockKey is the advisory lock key that orders writes of a projection's live
// version against its promotion.
func promotionLockKey(projection string) int64 {
	// FNV-1a, 64 bit: stable across processes and releases.
	h := uint64(14695981039346656037)
	for _, c := range []byte("jobboard.projection." + projection) {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return int64(h)
}

// freshEvents locks the applied_streams rows of every stream of events (creating missing
// rows at version 0), and returns the events newer than what is applied, in order, and the
// statements that record the newest version of each stream and announce it on
// readmodels.AppliedChannel. Two round trips per batch
// instead of one per event: the caller queues the fresh events' statements after it.
func freshEvents(ctx context.Context, tx pgx.Tx, schema string, events []Event) ([]Event, *pgx.Batch, error) {
	ids := make([]string, 0, len(events))
	seen := map[string]bool{}
	for _, ev := range events {
		if !seen[ev.StreamID] {
			seen[ev.StreamID] = true
			ids = append(ids, ev.StreamID)
		}
	}
	sort.Strings(ids) // one lock order for every writer
	b := &pgx.Batch{}
	b.Queue(fmt.Sprintf(`INSERT INTO %s.applied_streams (stream_id, version, global_position)
		SELECT id, 0, 0 FROM unnest($1::text[]) AS id ORDER BY id ON CONFLICT (stream_id) DO NOTHING`, schema), ids)
	applied := make(map[string]int64, len(ids))
	b.Queue(fmt.Sprintf(`SELECT stream_id, version FROM %s.applied_streams WHERE stream_id = ANY($1)
		ORDER BY stream_id FOR UPDATE`, schema), ids).Query(func(rows pgx.Rows) error {
		var (
			id string
			v  int64
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &v}, func() error {
			applied[id] = v
			return nil
		})
		return err
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, fmt.Errorf("lock applied versions: %w", classifyPG(err))
	}
	var (
		fresh           []Event
		upIDs           []string
		upVers, upPoses []int64
		last            = map[string]int{}
	)
	for _, ev := range events {
		if ev.StreamVersion <= applied[ev.StreamID] {
			continue // a redelivery
		}
		applied[ev.StreamID] = ev.StreamVersion
		fresh = append(fresh, ev)
		if i, ok := last[ev.StreamID]; ok {
			upVers[i], upPoses[i] = ev.StreamVersion, ev.GlobalPosition
			continue
		}
		last[ev.StreamID] = len(upIDs)
		upIDs = append(upIDs, ev.StreamID)
		upVers = append(upVers, ev.StreamVersion)
		upPoses = append(upPoses, ev.GlobalPosition)
	}
	out := &pgx.Batch{}
	if len(upIDs) > 0 {
		out.Queue(fmt.Sprintf(`UPDATE %s.applied_streams a SET version = u.version, global_position = u.pos, applied_at = now()
			FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(stream_id, version, pos)
			WHERE a.stream_id = u.stream_id`, schema), upIDs, upVers, upPoses)
		// Delivered at commit: wakes the requests waiting on this schema (readmodels
		// ListenApplied), which then see the versions just recorded.
		out.Queue(`SELECT pg_notify($1, $2)`, readmodels.AppliedChannel, schema)
	}
	return fresh, out, nil
}

// applyFresh queues, with queue, the statements of every event of events newer than what
// schema has applied (see freshEvents), and sends them with the applied versions in one
// pipelined round trip inside tx.
func applyFresh(ctx context.Context, tx pgx.Tx, schema string, events []Event, queue func(*pgx.Batch, Event) error) error {
	fresh, b, err := freshEvents(ctx, tx, schema, events)
	if err != nil {
		return err
	}
	queued := make([]Event, b.Len()) // the event of each statement
	for _, ev := range fresh {
		if ev.Payload == nil {
			continue
		}
		if err := queue(b, ev); err != nil {
			return fmt.Errorf("apply %s %s v%d: %w", ev.Type, ev.StreamID, ev.StreamVersion, err)
		}
		for len(queued) < b.Len() {
			queued = append(queued, ev)
		}
	}
	return sendBatch(ctx, tx, b, func(i int) string {
		if ev := queued[i]; ev.Payload != nil {
			return fmt.Sprintf("apply %s %s v%d", ev.Type, ev.StreamID, ev.StreamVersion)
		}
		return "record applied versions"
	})
}
