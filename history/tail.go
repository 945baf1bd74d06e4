package history

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jobboard/jobboard/eventstore"
)

// Follower follows live events; *eventstore.Store is one.
type Follower interface {
	Tail(ctx context.Context, cfg eventstore.TailConfig, handle eventstore.TailHandler) error
}

// TailConfig configures Tail.
type TailConfig struct {
	// After is the position to start after; Catalog.Head is "from now". Default the start.
	After eventstore.Position
	// Filter selects the events.
	Filter eventstore.ReadFilter
	// Upcast, when set, upcasts events to the current schema versions.
	Upcast *eventstore.Registry
	// BatchSize is the most events read at a time. Default eventstore.DefaultReadLimit.
	BatchSize int
	// PollInterval is how long to wait for a notification before reading anyway. Default 1 s.
	PollInterval time.Duration
}

// Tail writes every selected event after cfg.After to w as NDJSON, then every event
// committed later, flushing after each batch so a pipe sees events as they come, until ctx
// is done (it then returns ctx's error) or a write fails.
func Tail(ctx context.Context, src Follower, w io.Writer, cfg TailConfig) error {
	if src == nil || w == nil {
		return errors.New("history: tail: nil source or writer")
	}
	enc, err := newEncoder(FormatNDJSON, w)
	if err != nil {
		return err
	}
	tc := eventstore.TailConfig{After: cfg.After, Filter: cfg.Filter, BatchSize: cfg.BatchSize, PollInterval: cfg.PollInterval}
	return src.Tail(ctx, tc, func(_ context.Context, b eventstore.TailBatch) error {
		if err := writeBatch(enc, cfg.Upcast, b.Events); err != nil {
			return fmt.Errorf("history: tail: %w", err)
		}
		return nil
	})
}
