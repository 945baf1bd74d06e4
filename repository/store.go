package repository

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/storedevents"
)

// Store implements commands.EventStore and commands.DueListings over the PostgreSQL event
// store (eventstore.Store). commands.EventStore is the one port called EventStore; this is
// its PostgreSQL implementation, commands/memstore its in-memory one.
type Store struct {
	pool  *pgxpool.Pool
	store *eventstore.Store
}

var (
	_ commands.EventStore  = (*Store)(nil)
	_ commands.DueListings = (*Store)(nil)
)

// NewStore returns the adapter. Events are encoded and decoded by storedevents; pool must be
// the database store appends to.
func NewStore(pool *pgxpool.Pool, store *eventstore.Store) (*Store, error) {
	if pool == nil || store == nil {
		return nil, errors.New("repository: new event store: nil pool or store")
	}
	return &Store{pool: pool, store: store}, nil
}

// Load returns a stream's decoded history.
func (s *Store) Load(ctx context.Context, streamID string) (commands.Stream, error) {
	stored, err := s.store.LoadStream(ctx, streamID, eventstore.LoadOptions{})
	if err != nil {
		return commands.Stream{}, err
	}
	out := commands.Stream{ID: streamID, Events: make([]domain.Event, 0, len(stored))}
	for _, e := range stored {
		de, err := storedevents.Decode(e)
		if err != nil {
			return commands.Stream{}, fmt.Errorf("load stream %s: %w", streamID, err)
		}
		out.Events = append(out.Events, de)
		out.Version, out.Type = e.StreamVersion, e.StreamType
	}
	return out, nil
}

// Append writes the events and their side rows in one transaction.
func (s *Store) Append(ctx context.Context, req commands.AppendRequest) (int64, error) {
	meta := eventstore.Metadata{
		CorrelationID:  req.Metadata.CorrelationID,
		CausationID:    req.Metadata.CausationID,
		Actor:          req.Metadata.Actor,
		Command:        req.Metadata.Command,
		IdempotencyKey: req.Metadata.IdempotencyKey,
		TraceParent:    req.Metadata.TraceParent,
	}
	events := make([]eventstore.EventData, len(req.Events))
	for i, e := range req.Events {
		ed, err := storedevents.Encode(e, meta)
		if err != nil {
			return 0, err
		}
		events[i] = ed
	}
	if req.ExpectedVersion < 0 {
		return 0, fmt.Errorf("append to %s: expected version %d < 0", req.StreamID, req.ExpectedVersion)
	}

	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("append to %s: begin: %w", req.StreamID, err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	// Claims first: a racing duplicate waits here for the winner's commit and then finds
	// the key taken, before it appends anything.
	for _, c := range req.Claims {
		if err := claim(ctx, tx, c); err != nil {
			return 0, err
		}
	}
	res, err := s.store.AppendTx(ctx, tx, req.StreamID, req.StreamType, eventstore.Exact(req.ExpectedVersion), events)
	if errors.Is(err, eventstore.ErrConcurrencyConflict) {
		return 0, fmt.Errorf("%w: %w", commands.ErrConcurrencyConflict, err)
	}
	if err != nil {
		return 0, err
	}
	// The credential after the events: of two racing rotations the second waits on the
	// first's stream version and retries as a concurrency conflict, instead of tripping
	// over the first's new row.
	if c := req.Credential; c != nil {
		if err := storeCredential(ctx, tx, *c); err != nil {
			return 0, err
		}
	}
	if sc := req.Schedule; sc != nil {
		if err := schedule(ctx, tx, *sc); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("append to %s: commit: %w", req.StreamID, err)
	}
	s.store.Notify(ctx) // wake the relay now rather than at its next poll
	return res.StreamVersion, nil
}

func claim(ctx context.Context, tx pgx.Tx, c commands.Claim) error {
	var claimed bool
	err := tx.QueryRow(ctx, `INSERT INTO unique_claims (scope, key, stream_id) VALUES ($1, $2, $3)
		ON CONFLICT (scope, key) DO NOTHING RETURNING true`, c.Scope, c.Key, c.StreamID).Scan(&claimed)
	if errors.Is(err, pgx.ErrNoRows) {
		return &commands.ClaimTakenError{Scope: c.Scope, Key: c.Key}
	}
	if err != nil {
		return fmt.Errorf("claim %s: %w", c.Scope, err)
	}
	return nil
}

// storeCredential replaces the subject's token (none at registration) with c.
func storeCredential(ctx context.Context, tx pgx.Tx, c commands.Credential) error {
	if _, err := tx.Exec(ctx, `DELETE FROM credentials WHERE role = $1 AND subject_id = $2`, string(c.Role), c.SubjectID); err != nil {
		return fmt.Errorf("replace credential of %s %s: %w", c.Role, c.SubjectID, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO credentials (token_hash, role, subject_id, created_at) VALUES ($1, $2, $3, $4)`,
		c.TokenHash, string(c.Role), c.SubjectID, c.IssuedAt); err != nil {
		return fmt.Errorf("store credential of %s %s: %w", c.Role, c.SubjectID, err)
	}
	return nil
}

func schedule(ctx context.Context, tx pgx.Tx, sc commands.ListingSchedule) error {
	var err error
	if sc.Remove {
		_, err = tx.Exec(ctx, `DELETE FROM listing_schedule WHERE job_id = $1`, sc.JobID)
	} else {
		_, err = tx.Exec(ctx, `INSERT INTO listing_schedule (job_id, expires_at) VALUES ($1, $2)
			ON CONFLICT (job_id) DO UPDATE SET expires_at = EXCLUDED.expires_at, leased_until = NULL, updated_at = now()`,
			sc.JobID, sc.ExpiresAt)
	}
	if err != nil {
		return fmt.Errorf("schedule listing of job %s: %w", sc.JobID, err)
	}
	return nil
}

// ClaimDueListings claims up to limit jobs due at now that no other scheduler holds. Rows
// locked by a concurrent claim are skipped (SKIP LOCKED), and claimed rows are leased until
// now+lease, so concurrent schedulers never get the same job while a lease lasts.
func (s *Store) ClaimDueListings(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]string, error) {
	rows, err := s.pool.Query(ctx, `UPDATE listing_schedule SET leased_until = $2, updated_at = now()
		WHERE job_id IN (
			SELECT job_id FROM listing_schedule
			WHERE expires_at <= $1 AND (leased_until IS NULL OR leased_until <= $1)
			ORDER BY expires_at
			LIMIT $3
			FOR UPDATE SKIP LOCKED)
		RETURNING job_id`, now, now.Add(lease), limit)
	if err != nil {
		return nil, fmt.Errorf("claim due listings: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("claim due listings: %w", err)
	}
	return ids, nil
}

// ClaimHolder is the stream holding the unique claim (scope, key): the account registered
// with an e-mail address (commands.AccountLookup).
func (s *Store) ClaimHolder(ctx context.Context, scope, key string) (string, bool, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT stream_id FROM unique_claims WHERE scope = $1 AND key = $2`, scope, key).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("claim holder %s: %w", scope, err)
	}
	return id, true, nil
}
