package history

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/eventstore"
)

// Catalog answers what the event store's API does not: how many events a filter selects
// (the progress total) and where the commit-safe head of the history is (tail --from-now).
// It reads the events table of migrations/00001_event_store.sql directly.
type Catalog struct {
	pool *pgxpool.Pool
}

// NewCatalog returns a catalog of the events table in pool's database.
func NewCatalog(pool *pgxpool.Pool) (*Catalog, error) {
	if pool == nil {
		return nil, errors.New("history: new catalog: nil pool")
	}
	return &Catalog{pool: pool}, nil
}

// Count returns the number of stored events after a position that match filter, with the
// same meaning as eventstore.Store.ReadAll (events held back by transactions in flight
// included, so it is an estimate of what an export will write).
func (c *Catalog) Count(ctx context.Context, after eventstore.Position, filter eventstore.ReadFilter) (int64, error) {
	where, args := eventstore.AfterWhere(after, filter)
	var n int64
	if err := c.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

// Last returns the position of the last committed event after a position that matches
// filter, in commit-safe order, and false when there is none.
func (c *Catalog) Last(ctx context.Context, after eventstore.Position, filter eventstore.ReadFilter) (eventstore.Position, bool, error) {
	where, args := eventstore.AfterWhere(after, filter)
	var p eventstore.Position
	err := c.pool.QueryRow(ctx, `SELECT transaction_id, global_position FROM events WHERE `+where+`
		ORDER BY transaction_id DESC, global_position DESC LIMIT 1`, args...).Scan(&p.TransactionID, &p.GlobalPosition)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.Start, false, nil
	}
	if err != nil {
		return eventstore.Start, false, fmt.Errorf("last event: %w", err)
	}
	return p, true, nil
}

// Head returns the position of the last event below the commit-safe horizon: a reader that
// starts after it sees every event committed from now on (and perhaps a few committed
// just before, if held back by an older transaction still in flight), never misses one.
func (c *Catalog) Head(ctx context.Context) (eventstore.Position, error) {
	var p eventstore.Position
	err := c.pool.QueryRow(ctx, `SELECT transaction_id, global_position FROM events
		WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY transaction_id DESC, global_position DESC LIMIT 1`).Scan(&p.TransactionID, &p.GlobalPosition)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.Start, nil
	}
	if err != nil {
		return eventstore.Start, fmt.Errorf("head of the history: %w", err)
	}
	return p, nil
}
