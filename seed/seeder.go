package seed

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/eventstore"
)

// ErrAlreadySeeded: the history of this seed (and end time) is already in the database.
var ErrAlreadySeeded = errors.New("seed: this seed's history is already stored (use another seed)")

// Result is what a seed wrote.
type Result struct {
	// Events and Streams written.
	Events, Streams int64
	// Counts is the number of events written per event type.
	Counts map[string]int
	// Elapsed is the seed's duration.
	Elapsed time.Duration
}

// Seeder writes a synthetic history into the event store.
type Seeder struct {
	pool  *pgxpool.Pool
	store *eventstore.Store
	cfg   Config
}

// NewSeeder returns a seeder appending to store; pool must be store's database, where the
// side rows (e-mail claims, listing schedule) are written in the same transactions.
func NewSeeder(pool *pgxpool.Pool, store *eventstore.Store, cfg Config) (*Seeder, error) {
	if pool == nil || store == nil {
		return nil, errors.New("seed: new seeder: nil pool or store")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("seed: new seeder: %w", err)
	}
	return &Seeder{pool: pool, store: store, cfg: cfg}, nil
}

// Run writes the history: first every candidate, then company after company with its jobs
// and the applications to them, cfg.Writers transactions at a time. Each transaction holds
// whole streams, so a failed or cancelled run leaves only complete, valid streams behind
// (fewer than asked: run another seed to top up).
func (s *Seeder) Run(ctx context.Context) (Result, error) {
	g := newGenerator(s.cfg)
	start := time.Now()
	first, _, _ := g.candidate(0)
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE stream_id = $1)`, first).Scan(&exists); err != nil {
		return Result{}, fmt.Errorf("seed: %w", err)
	}
	if exists {
		return Result{}, fmt.Errorf("%w: seed %d, end %s", ErrAlreadySeeded, s.cfg.Seed, s.cfg.End.Format(time.RFC3339))
	}
	p := &progress{cfg: s.cfg, start: start, total: int64(s.cfg.Events)}
	var res Result
	for _, phase := range []func(func(batch) error) error{g.candidatesPhase, g.companiesPhase} {
		if err := s.runPhase(ctx, phase, p, &res); err != nil {
			return res, err
		}
	}
	s.store.Notify(ctx)
	res.Counts = maps.Clone(g.counts)
	res.Elapsed = time.Since(start)
	p.report(0, true)
	return res, nil
}

type progress struct {
	cfg   Config
	start time.Time
	total int64
	mu    sync.Mutex
	done  int64
}

func (p *progress) report(n int, final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += int64(n)
	if p.cfg.Progress != nil {
		p.cfg.Progress(Progress{Done: p.done, Total: p.total, Elapsed: time.Since(p.start), Final: final})
	}
}

// runPhase generates batches on one goroutine and writes them on cfg.Writers others.
func (s *Seeder) runPhase(ctx context.Context, phase func(func(batch) error) error, p *progress, res *Result) error {
	eg, ctx := errgroup.WithContext(ctx)
	batches := make(chan batch, s.cfg.Writers)
	eg.Go(func() error {
		defer close(batches)
		return phase(func(b batch) error {
			select {
			case batches <- b:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	})
	var mu sync.Mutex
	for range s.cfg.Writers {
		eg.Go(func() error {
			for b := range batches {
				if err := s.write(ctx, b); err != nil {
					return err
				}
				mu.Lock()
				res.Events += int64(b.events)
				res.Streams += int64(len(b.segments))
				mu.Unlock()
				p.report(b.events, false)
			}
			return nil
		})
	}
	return eg.Wait()
}

// write appends a batch's streams and side rows in one transaction.
func (s *Seeder) write(ctx context.Context, b batch) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("seed: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	for _, seg := range b.segments {
		if _, err := s.store.AppendTx(ctx, tx, seg.streamID, seg.streamType, eventstore.NoStream, seg.events); err != nil {
			if errors.Is(err, eventstore.ErrConcurrencyConflict) {
				return fmt.Errorf("%w: stream %s exists", ErrAlreadySeeded, seg.streamID)
			}
			return fmt.Errorf("seed: %w", err)
		}
	}
	if err := insertClaims(ctx, tx, b.claims); err != nil {
		return err
	}
	if err := insertSchedules(ctx, tx, b.schedules); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("seed: commit: %w", err)
	}
	return nil
}

func insertClaims(ctx context.Context, tx pgx.Tx, claims []commands.Claim) error {
	if len(claims) == 0 {
		return nil
	}
	scopes, keys, ids := make([]string, len(claims)), make([]string, len(claims)), make([]string, len(claims))
	for i, c := range claims {
		scopes[i], keys[i], ids[i] = c.Scope, c.Key, c.StreamID
	}
	tag, err := tx.Exec(ctx, `INSERT INTO unique_claims (scope, key, stream_id)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT (scope, key) DO NOTHING`, scopes, keys, ids)
	if err != nil {
		return fmt.Errorf("seed: claim e-mail addresses: %w", err)
	}
	if n := tag.RowsAffected(); n != int64(len(claims)) {
		return fmt.Errorf("%w: %d of %d e-mail addresses are already claimed", ErrAlreadySeeded, int64(len(claims))-n, len(claims))
	}
	return nil
}

func insertSchedules(ctx context.Context, tx pgx.Tx, rows []commands.ListingSchedule) error {
	if len(rows) == 0 {
		return nil
	}
	ids, at := make([]string, len(rows)), make([]time.Time, len(rows))
	for i, r := range rows {
		ids[i], at[i] = r.JobID, r.ExpiresAt
	}
	if _, err := tx.Exec(ctx, `INSERT INTO listing_schedule (job_id, expires_at)
		SELECT * FROM unnest($1::text[], $2::timestamptz[])`, ids, at); err != nil {
		return fmt.Errorf("seed: schedule listings: %w", err)
	}
	return nil
}

// batcher cuts the generated units into transactions and the history at exactly the
// budget: the unit that crosses it keeps a prefix of its streams, in causal order, and each
// stream kept keeps a prefix of its events, which is a valid history too.
type batcher struct {
	g         *generator
	size      int
	remaining int
	cur       batch
	emit      func(batch) error
}

func (b *batcher) add(segs []segment, claims []commands.Claim) error {
	kept := map[string]bool{}
	for _, seg := range segs {
		if b.remaining == 0 {
			break
		}
		if len(seg.events) > b.remaining {
			seg.events, seg.domainEvents = seg.events[:b.remaining], seg.domainEvents[:b.remaining]
		}
		b.remaining -= len(seg.events)
		b.cur.events += len(seg.events)
		for _, e := range seg.events {
			b.g.counts[e.Type]++
		}
		// A job still published at the end of its (kept) history is scheduled to expire.
		if sc := commands.ListingScheduleOf(seg.streamID, seg.domainEvents); sc != nil && !sc.Remove {
			b.cur.schedules = append(b.cur.schedules, *sc)
		}
		b.cur.segments = append(b.cur.segments, seg)
		kept[seg.streamID] = true
	}
	for _, c := range claims {
		if kept[c.StreamID] {
			b.cur.claims = append(b.cur.claims, c)
		}
	}
	if b.cur.events >= b.size {
		return b.flush()
	}
	return nil
}

func (b *batcher) flush() error {
	if b.cur.events == 0 {
		return nil
	}
	out := b.cur
	b.cur = batch{}
	return b.emit(out)
}

// candidatesPhase registers every candidate (some rotate their token too); it may use the
// whole budget, and records in g.candidateEvents what it used.
func (g *generator) candidatesPhase(emit func(batch) error) error {
	b := &batcher{g: g, size: g.cfg.BatchEvents, remaining: g.cfg.Events, emit: emit}
	for i := 0; i < g.candidates; i++ {
		segs, claims, err := g.candidateUnit(i)
		if err != nil {
			return err
		}
		if err := b.add(segs, claims); err != nil {
			return err
		}
	}
	g.candidateEvents = g.cfg.Events - b.remaining
	return b.flush()
}

// companiesPhase fills the rest of the budget with companies' lives.
func (g *generator) companiesPhase(emit func(batch) error) error {
	budget := g.cfg.Events - g.candidateEvents
	b := &batcher{g: g, size: g.cfg.BatchEvents, remaining: budget, emit: emit}
	for u := 0; b.remaining > 0; u++ {
		segs, claims, err := g.companyUnit(u, float64(budget-b.remaining)/float64(max(budget, 1)))
		if err != nil {
			return err
		}
		if err := b.add(segs, claims); err != nil {
			return err
		}
	}
	return b.flush()
}
