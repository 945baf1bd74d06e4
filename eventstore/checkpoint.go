package eventstore

import (
	"context"
	"errors"
	"fmt"
)

// Checkpoint returns the position saved under name in the checkpoints table, Start if none.
func (s *Store) Checkpoint(ctx context.Context, name string) (Position, error) {
	p, err := loadCheckpoint(ctx, s.pool, name)
	if err != nil {
		return Position{}, fmt.Errorf("load checkpoint %q: %w", name, err)
	}
	return p, nil
}

func loadCheckpoint(ctx context.Context, q querier, name string) (Position, error) {
	if name == "" {
		return Position{}, errors.New("empty checkpoint name")
	}
	var p Position
	err := q.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING
			RETURNING transaction_id, global_position
		)
		SELECT transaction_id, global_position FROM ins
		UNION ALL
		SELECT transaction_id, global_position FROM checkpoints WHERE name = $1`, name).
		Scan(&p.TransactionID, &p.GlobalPosition)
	return p, err
}

func saveCheckpoint(ctx context.Context, q querier, name string, pos Position) error {
	rows, err := q.Query(ctx, `
		INSERT INTO checkpoints AS c (name, transaction_id, global_position) VALUES ($1, $2::xid8, $3::bigint)
		ON CONFLICT (name) DO UPDATE
		SET transaction_id = excluded.transaction_id, global_position = excluded.global_position, updated_at = now()
		WHERE (c.transaction_id, c.global_position) < (excluded.transaction_id, excluded.global_position)`,
		name, pos.TransactionID, pos.GlobalPosition)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}
