package application

import (
	"context"
	"errors"

	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/projections"
)

// The dead letters of the projectors, for operators: the events a projector gave up on,
// listed per projection, shown one at a time and fed back through the live projector once
// the cause is fixed (the same store and replay as `jobboard projections dlq`).

// ListDeadLetters names a projection; Replayed lists the replayed letters too.
type ListDeadLetters struct {
	Projection string
	Replayed   bool
	Limit      int
}

// GetDeadLetter names one dead letter of one projection.
type GetDeadLetter struct {
	Projection string
	ID         int64
}

// ReplayDeadLetters names the open dead letters of a projection to replay (all when IDs is
// empty).
type ReplayDeadLetters struct {
	Projection string
	IDs        []int64
}

// DeadLetter is one event a projector gave up on.
type DeadLetter = projections.DeadLetter

// ReplayResult counts the letters a replay applied and those that failed again.
type ReplayResult = projections.ReplayResult

// deadLetters builds the three handlers; liveProjector gives the projector replays go through.
func deadLetters(store *projections.DeadLetters, liveProjector func(string) (projections.Projector, error)) (
	Handler[ListDeadLetters, []DeadLetter], Handler[GetDeadLetter, DeadLetter], Handler[ReplayDeadLetters, ReplayResult],
) {
	known := func(name string) error {
		for _, n := range projections.Names() {
			if n == name {
				return nil
			}
		}
		return apperr.New(apperr.NotFound, "no projection named %q", name)
	}
	list := HandlerFunc[ListDeadLetters, []DeadLetter](func(ctx context.Context, q ListDeadLetters) ([]DeadLetter, error) {
		if err := known(q.Projection); err != nil {
			return nil, err
		}
		return store.List(ctx, q.Projection, projections.ListDeadLettersParams{IncludeReplayed: q.Replayed, Limit: q.Limit})
	})
	get := HandlerFunc[GetDeadLetter, DeadLetter](func(ctx context.Context, q GetDeadLetter) (DeadLetter, error) {
		dl, err := store.Get(ctx, q.ID)
		if errors.Is(err, projections.ErrDeadLetterNotFound) || (err == nil && dl.Projection != q.Projection) {
			return DeadLetter{}, apperr.New(apperr.NotFound, "no dead letter %d of projection %q", q.ID, q.Projection)
		}
		return dl, err
	})
	replay := HandlerFunc[ReplayDeadLetters, ReplayResult](func(ctx context.Context, q ReplayDeadLetters) (ReplayResult, error) {
		if err := known(q.Projection); err != nil {
			return ReplayResult{}, err
		}
		p, err := liveProjector(q.Projection)
		if errors.Is(err, projections.ErrUnknownProjection) {
			return ReplayResult{}, apperr.Wrap(apperr.NotFound, err, "no live projector of %q", q.Projection)
		}
		if err != nil {
			return ReplayResult{}, err
		}
		return store.Replay(ctx, p, q.IDs...)
	})
	return list, get, replay
}
