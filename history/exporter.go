package history

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jobboard/jobboard/eventstore"
)

// Source reads the store in commit-safe order; *eventstore.Store is one. Build it without a
// registry so that the exporter sees stored rows as they are and upcasts only when asked
// (ExporterConfig.Upcast).
type Source interface {
	ReadAll(ctx context.Context, after eventstore.Position, limit int, filter eventstore.ReadFilter) ([]eventstore.Event, error)
}

// Index answers what the store's reads do not; *Catalog is one.
type Index interface {
	// Count returns how many stored events after a position match filter.
	Count(ctx context.Context, after eventstore.Position, filter eventstore.ReadFilter) (int64, error)
	// Last returns the position of the last committed event after a position that matches
	// filter, and false when there is none.
	Last(ctx context.Context, after eventstore.Position, filter eventstore.ReadFilter) (eventstore.Position, bool, error)
}

// DefaultBatchSize is the events read per query when ExporterConfig.BatchSize is zero.
const DefaultBatchSize = 2000

// ExporterConfig configures an Exporter.
type ExporterConfig struct {
	// Format of the output. Default FormatNDJSON.
	Format Format
	// Filter selects the events (types, stream, stream type, recorded_at range).
	Filter eventstore.ReadFilter
	// After is the commit-safe position to start after. Default the start of the store.
	After eventstore.Position
	// BatchSize is the most events read, and held in memory, at a time: the exporter writes
	// and flushes one batch before it reads the next. Default DefaultBatchSize, at most
	// eventstore.MaxReadLimit.
	BatchSize int
	// Upcast, when set, upcasts every event to its type's current schema version (a replay);
	// when nil events are written as stored (an export).
	Upcast *eventstore.Registry
	// Limit stops after this many events; 0 exports everything.
	Limit int64
	// Index, when set, makes the export complete: it looks up the last matching event
	// committed when the export starts and goes on until it has written it, waiting while
	// an older transaction still in flight (anywhere in the cluster) holds the commit-safe
	// horizon back. Without it the export stops at the horizon, which a long transaction
	// can hold far back. It also counts the events first, so Progress has a total.
	Index Index
	// HeldBackPoll is the first wait when committed events are held back; it doubles up to
	// one second. Default 20 ms.
	HeldBackPoll time.Duration
	// Progress, when set, is called after every batch written, and once more at the end
	// with Final set. It runs on the exporting goroutine: keep it quick.
	Progress func(Progress)
	// Clock tells the time for rates and ETAs. Default time.Now.
	Clock func() time.Time
}

func (c *ExporterConfig) setDefaults() {
	if c.Format == "" {
		c.Format = FormatNDJSON
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.HeldBackPoll == 0 {
		c.HeldBackPoll = 20 * time.Millisecond
	}
}

// Validate reports every problem with the configuration.
func (c ExporterConfig) Validate() error {
	var errs []error
	if _, err := ParseFormat(string(c.Format)); err != nil {
		errs = append(errs, err)
	}
	if c.BatchSize < 1 || c.BatchSize > eventstore.MaxReadLimit {
		errs = append(errs, fmt.Errorf("batch size %d is outside 1..%d", c.BatchSize, eventstore.MaxReadLimit))
	}
	if c.Limit < 0 {
		errs = append(errs, fmt.Errorf("limit %d < 0", c.Limit))
	}
	if !c.Filter.Since.IsZero() && !c.Filter.Until.IsZero() && !c.Filter.Since.Before(c.Filter.Until) {
		errs = append(errs, fmt.Errorf("since %s is not before until %s",
			c.Filter.Since.Format(time.RFC3339), c.Filter.Until.Format(time.RFC3339)))
	}
	return errors.Join(errs...)
}

// Progress is how far an export (or a seed) is.
type Progress struct {
	// Done is the number of events written so far.
	Done int64
	// Total is the estimated number of events in all; 0 when unknown. Events appended
	// during the export can make Done exceed it.
	Total int64
	// Elapsed is the time since the start.
	Elapsed time.Duration
	// Final is set on the last call, after everything is written.
	Final bool
}

// Rate is the mean throughput so far, in events per second.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Done) / p.Elapsed.Seconds()
}

// ETA is the estimated time left; 0 when the total or the rate is unknown.
func (p Progress) ETA() time.Duration {
	r := p.Rate()
	if p.Total <= 0 || r <= 0 || p.Done >= p.Total {
		return 0
	}
	return time.Duration(float64(p.Total-p.Done) / r * float64(time.Second))
}

// Result is what an export wrote.
type Result struct {
	// Events is the number of events written.
	Events int64
	// Last is the position of the last event written (After when none was): resume an
	// export after it.
	Last eventstore.Position
	// Elapsed is the export's duration.
	Elapsed time.Duration
}

// Exporter writes the history in commit-safe order.
type Exporter struct {
	src Source
	cfg ExporterConfig
}

// NewExporter returns an exporter reading src.
func NewExporter(src Source, cfg ExporterConfig) (*Exporter, error) {
	if src == nil {
		return nil, errors.New("history: new exporter: nil source")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("history: new exporter: %w", err)
	}
	return &Exporter{src: src, cfg: cfg}, nil
}

// Export writes every selected event after cfg.After to w, batch by batch, until it has
// caught up with the commit-safe horizon: the events of transactions still in flight when
// it gets there are left to the next export (resume after Result.Last) or to Tail. A CSV
// export starts with its header row, even when no event matches.
func (x *Exporter) Export(ctx context.Context, w io.Writer) (Result, error) {
	cfg := x.cfg
	start := cfg.Clock()
	res := Result{Last: cfg.After}
	var (
		total   int64
		target  eventstore.Position
		waitFor bool
	)
	if cfg.Index != nil {
		var err error
		if target, waitFor, err = cfg.Index.Last(ctx, cfg.After, cfg.Filter); err != nil {
			return res, fmt.Errorf("history: last event: %w", err)
		}
		if cfg.Progress != nil {
			if total, err = cfg.Index.Count(ctx, cfg.After, cfg.Filter); err != nil {
				return res, fmt.Errorf("history: count events: %w", err)
			}
			if cfg.Limit > 0 {
				total = min(total, cfg.Limit)
			}
		}
	}
	poll := cfg.HeldBackPoll
	enc, err := newEncoder(cfg.Format, w)
	if err != nil {
		return res, err
	}
	if err := enc.begin(); err != nil {
		return res, fmt.Errorf("history: write header: %w", err)
	}
	report := func(final bool) {
		res.Elapsed = cfg.Clock().Sub(start)
		if cfg.Progress != nil {
			cfg.Progress(Progress{Done: res.Events, Total: total, Elapsed: res.Elapsed, Final: final})
		}
	}
	for {
		limit := cfg.BatchSize
		if cfg.Limit > 0 {
			limit = int(min(int64(limit), cfg.Limit-res.Events))
		}
		events, err := x.src.ReadAll(ctx, res.Last, limit, cfg.Filter)
		if err != nil {
			return res, fmt.Errorf("history: read after %s: %w", res.Last, err)
		}
		// Flush every batch: the output never holds more than one batch either.
		if err := writeBatch(enc, cfg.Upcast, events); err != nil {
			return res, fmt.Errorf("history: %w", err)
		}
		if len(events) > 0 {
			res.Events += int64(len(events))
			res.Last = events[len(events)-1].Position()
			report(false)
		}
		if cfg.Limit > 0 && res.Events >= cfg.Limit {
			break
		}
		if len(events) == limit {
			poll = cfg.HeldBackPoll
			continue
		}
		if !waitFor || !res.Last.Less(target) {
			break
		}
		// Caught up with the horizon but not with the target: an older transaction still in
		// flight holds committed events back. Wait for it to end.
		if err := sleep(ctx, poll); err != nil {
			return res, err
		}
		poll = min(2*poll, time.Second)
	}
	report(true)
	return res, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// writeBatch writes events, upcast by up when it is set, and flushes them.
func writeBatch(enc encoder, up *eventstore.Registry, events []eventstore.Event) error {
	for _, e := range events {
		if up != nil {
			var err error
			if e, err = up.Upcast(e); err != nil {
				return err
			}
		}
		if err := enc.encode(e); err != nil {
			return fmt.Errorf("write event %d: %w", e.GlobalPosition, err)
		}
	}
	if err := enc.flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
