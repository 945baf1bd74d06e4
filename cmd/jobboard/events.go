package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/history"
	"github.com/jobboard/jobboard/internal/app"
)

func newEventsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Export, replay or follow the event history (analysts)",
	}
	cmd.AddCommand(newEventsExportCommand(false), newEventsExportCommand(true), newEventsTailCommand())
	return cmd
}

// filterFlags are the selection flags shared by export, replay and tail.
type filterFlags struct {
	since, until       string
	types              []string
	stream, streamType string
	after              int64
}

func (f *filterFlags) add(cmd *cobra.Command, withTimes bool) {
	fs := cmd.Flags()
	if withTimes {
		fs.StringVar(&f.since, "since", "", "only events recorded at or after this time: RFC 3339, a date (2006-01-02, UTC) or a duration ago (72h)")
		fs.StringVar(&f.until, "until", "", "only events recorded before this time (same forms as --since)")
	}
	fs.StringSliceVar(&f.types, "type", nil, "only events of these types (repeat the flag or give a comma list), e.g. job.published")
	fs.StringVar(&f.stream, "stream", "", "only the events of this stream id")
	fs.StringVar(&f.streamType, "stream-type", "", "only events of streams of this type: company, candidate, job, application")
	fs.Int64Var(&f.after, "after", 0, "start after the event at this global position, in commit-safe order (resume a previous run)")
}

func (f *filterFlags) filter(now time.Time) (eventstore.ReadFilter, error) {
	var errs []error
	rf := eventstore.ReadFilter{Types: f.types, StreamID: f.stream, StreamType: f.streamType}
	var err error
	if rf.Since, err = parseTime(f.since, now); err != nil {
		errs = append(errs, fmt.Errorf("--since: %w", err))
	}
	if rf.Until, err = parseTime(f.until, now); err != nil {
		errs = append(errs, fmt.Errorf("--until: %w", err))
	}
	if f.after < 0 {
		errs = append(errs, fmt.Errorf("--after %d < 0", f.after))
	}
	return rf, errors.Join(errs...)
}

// warnUnknown tells about types and stream types this version does not know: probably a
// typo (the export would be empty), or history older than the code.
func (f *filterFlags) warnUnknown(w io.Writer) {
	for _, t := range f.types {
		if _, ok := domain.NewEvent(t); !ok {
			fmt.Fprintf(w, "warning: event type %q is unknown to this version (known: %s)\n", t, strings.Join(domain.EventTypes(), ", "))
		}
	}
	switch f.streamType {
	case "", domain.StreamTypeCompany, domain.StreamTypeCandidate, domain.StreamTypeJob, domain.StreamTypeApplication,
		domain.StreamTypeAlert:
	default:
		fmt.Fprintf(w, "warning: stream type %q is unknown to this version\n", f.streamType)
	}
}

// parseTime accepts "", RFC 3339, a date (UTC midnight) or a duration before now.
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not RFC 3339 (2006-01-02T15:04:05Z), a date (2006-01-02) or a duration ago (72h)", s)
}

// historyDeps is what the events commands use, from the program's adapters (app.Open): a
// store that reads rows as stored (no registry), the registry to upcast with, and the
// catalog.
type historyDeps struct {
	*app.Adapters
	stored  *eventstore.Store
	catalog *history.Catalog
}

func openHistory(cmd *cobra.Command) (*historyDeps, error) {
	cfg, log, err := config(cmd)
	if err != nil {
		return nil, err
	}
	a, err := app.Open(cmd.Context(), cfg, log)
	if err != nil {
		return nil, err
	}
	d := &historyDeps{Adapters: a}
	if d.stored, err = a.StoredEvents(); err != nil {
		a.Close()
		return nil, err
	}
	d.catalog, _ = history.NewCatalog(a.Pool())
	return d, nil
}

func (d *historyDeps) after(ctx context.Context, globalPosition int64) (eventstore.Position, error) {
	p, err := d.stored.PositionOf(ctx, globalPosition)
	if err != nil {
		return p, fmt.Errorf("--after: %w", err)
	}
	return p, nil
}

func newEventsExportCommand(replay bool) *cobra.Command {
	var (
		f        filterFlags
		format   string
		out      string
		batch    int
		limit    int64
		progress string
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the stored events, as they are, in commit-safe order (NDJSON or CSV)",
		Long: `Export writes the selected events exactly as stored (each with the schema version it was
written with) in commit-safe order, to stdout or --out. It reads in batches of --batch-size
events and writes each batch before reading the next, so memory stays constant whatever
the history's size. Progress (events done of the estimated total, events/s, ETA) goes to
stderr: a bar on a terminal, a line every few seconds otherwise.

NDJSON lines are the event envelope the relay publishes to Kafka (global_position,
transaction_id, stream_id, stream_type, stream_version, event_id, event_type,
schema_version, data, metadata, recorded_at). CSV has a header row: global_position,
stream_id, stream_type, version, type, schema_version, recorded_at, data (JSON), metadata
(JSON), event_id, transaction_id.

--since/--until select by recorded_at, the time the store appended the event (not the
time inside the event's data). --after N resumes after the event at global position N in
commit-safe order (the last global_position of a previous run). With --out the file is
written beside as FILE.partial and renamed when the export is complete.

Use "events replay" to read the events upcast to the current schema versions.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runExport(cmd, replay, f, format, out, batch, limit, progress)
		},
	}
	if replay {
		cmd.Use = "replay"
		cmd.Short = "Stream the history upcast to the current event schemas, in commit-safe order (NDJSON or CSV)"
		cmd.Long = `Replay streams the selected events in commit-safe order — the order projections see —
upcast to the current schema version of each event type, as the application reads them:
feed it to analysis tools (jq, DuckDB, pandas) without caring about old event shapes.
Export, by contrast, writes the stored rows as they are (for archives and audits).

Flags, formats, batching, progress and --out behave as for "events export"; the default
format is NDJSON (the relay's envelope, one event per line).`
	}
	f.add(cmd, true)
	fs := cmd.Flags()
	fs.StringVar(&format, "format", "ndjson", "output format: ndjson or csv")
	fs.StringVarP(&out, "out", "o", "", "write to this file instead of stdout")
	fs.IntVar(&batch, "batch-size", history.DefaultBatchSize, fmt.Sprintf("events read and held in memory at a time (1..%d)", eventstore.MaxReadLimit))
	fs.Int64Var(&limit, "limit", 0, "stop after this many events (0: all)")
	fs.StringVar(&progress, "progress", "auto", "progress on stderr: auto (a bar on a terminal, lines otherwise), bar, lines or off")
	return cmd
}

func runExport(cmd *cobra.Command, replay bool, f filterFlags, format, out string, batch int, limit int64, progress string) error {
	ctx := cmd.Context()
	fm, err := history.ParseFormat(format)
	if err != nil {
		return err
	}
	filter, err := f.filter(time.Now())
	if err != nil {
		return err
	}
	pp, err := newProgressPrinter(cmd.ErrOrStderr(), progress, cmd.Name())
	if err != nil {
		return err
	}
	f.warnUnknown(cmd.ErrOrStderr())
	d, err := openHistory(cmd)
	if err != nil {
		return err
	}
	defer d.Close()
	after, err := d.after(ctx, f.after)
	if err != nil {
		return err
	}
	cfg := history.ExporterConfig{
		Format: fm, Filter: filter, After: after, BatchSize: batch, Limit: limit,
		Index: d.catalog,
	}
	if pp.enabled() {
		cfg.Progress = pp.progress
	}
	if replay {
		cfg.Upcast = d.Registry()
	}
	x, err := history.NewExporter(d.stored, cfg)
	if err != nil {
		return err
	}
	w, commit, abort, err := openOutput(out, cmd.OutOrStdout())
	if err != nil {
		return err
	}
	res, err := x.Export(ctx, w)
	if err != nil {
		abort()
		return err
	}
	if err := commit(); err != nil {
		return err
	}
	if pp.enabled() {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d events in %s; resume with --after %d\n",
			cmd.Name(), res.Events, res.Elapsed.Round(time.Millisecond), res.Last.GlobalPosition)
	}
	return nil
}

// openOutput returns stdout, or a FILE.partial that commit renames to FILE (and abort
// removes), so an interrupted export never looks complete.
func openOutput(path string, stdout io.Writer) (w io.Writer, commit func() error, abort func(), err error) {
	if path == "" || path == "-" {
		return stdout, func() error { return nil }, func() {}, nil
	}
	tmp := path + ".partial"
	file, err := os.Create(tmp)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--out: %w", err)
	}
	commit = func() error {
		if err := file.Close(); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		return nil
	}
	abort = func() {
		_ = file.Close()
		_ = os.Remove(tmp)
	}
	return file, commit, abort, nil
}

func newEventsTailCommand() *cobra.Command {
	var (
		f       filterFlags
		fromNow bool
		batch   int
	)
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Follow live events and print them as NDJSON until Ctrl-C",
		Long: `Tail prints every event committed from now on (--from-now, the default) or after the
event at a global position (--after N, e.g. the last one an export wrote), then keeps
following: it is woken by the store's LISTEN/NOTIFY and never skips an event committed
late by a concurrent transaction. Events are upcast to the current schema versions, one
NDJSON line each (the relay's envelope), flushed as they arrive so pipes see them at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("after") && cmd.Flags().Changed("from-now") && fromNow {
				return errors.New("--from-now and --after exclude each other")
			}
			filter, err := f.filter(time.Now())
			if err != nil {
				return err
			}
			f.warnUnknown(cmd.ErrOrStderr())
			ctx := cmd.Context()
			d, err := openHistory(cmd)
			if err != nil {
				return err
			}
			defer d.Close()
			var after eventstore.Position
			if cmd.Flags().Changed("after") {
				after, err = d.after(ctx, f.after)
			} else {
				after, err = d.catalog.Head(ctx)
			}
			if err != nil {
				return err
			}
			err = history.Tail(ctx, d.stored, cmd.OutOrStdout(), history.TailConfig{
				After: after, Filter: filter, Upcast: d.Registry(), BatchSize: batch,
			})
			if errors.Is(err, context.Canceled) {
				return nil // Ctrl-C
			}
			return err
		},
	}
	f.add(cmd, false)
	cmd.Flags().BoolVar(&fromNow, "from-now", true, "start with the events committed from now on (the default unless --after is given)")
	cmd.Flags().IntVar(&batch, "batch-size", eventstore.DefaultReadLimit, "events read at a time")
	return cmd
}

// progressPrinter renders progress on stderr: a bar on a terminal, a plain line every few
// seconds otherwise (logs, CI), nothing when off.
type progressPrinter struct {
	mode  string
	label string
	w     io.Writer
	bar   *progressbar.ProgressBar
	max   int64
	last  time.Time
	every time.Duration
}

func newProgressPrinter(w io.Writer, mode, label string) (*progressPrinter, error) {
	p := &progressPrinter{mode: mode, label: label, w: w, every: 2 * time.Second}
	switch mode {
	case "auto":
		p.mode = "lines"
		if isTerminal(w) {
			p.mode = "bar"
		}
	case "bar", "lines", "off":
	default:
		return nil, fmt.Errorf("--progress %q: want auto, bar, lines or off", mode)
	}
	return p, nil
}

func (p *progressPrinter) enabled() bool { return p.mode != "off" }

// update shows done of total; line is the text of a progress line (lines mode), called only
// when one is printed.
func (p *progressPrinter) update(done, total int64, final bool, line func() string) {
	switch p.mode {
	case "bar":
		if p.bar == nil {
			p.max = total
			if p.max <= 0 {
				p.max = -1 // unknown: a spinner
			}
			p.bar = progressbar.NewOptions64(p.max,
				progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetDescription(p.label),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("events"),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionShowElapsedTimeOnFinish(),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
			)
		}
		if p.max > 0 && done > p.max {
			p.max = done
			p.bar.ChangeMax64(done)
		}
		_ = p.bar.Set64(done)
		if final {
			if p.max > 0 && done < p.max {
				p.bar.ChangeMax64(done) // fewer than estimated (a filter on the horizon)
			}
			_ = p.bar.Finish()
		}
	case "lines":
		now := time.Now()
		if !final && now.Sub(p.last) < p.every {
			return
		}
		p.last = now
		fmt.Fprintln(p.w, line())
	}
}

// progressLine is "export: 120000/1000000 events (12.0%), 45000 events/s, ETA 20s".
func progressLine(label string, p history.Progress) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d", label, p.Done)
	if p.Total > 0 {
		fmt.Fprintf(&b, "/%d events (%.1f%%)", p.Total, 100*float64(p.Done)/float64(p.Total))
	} else {
		b.WriteString(" events")
	}
	fmt.Fprintf(&b, ", %.0f events/s", p.Rate())
	switch {
	case p.Final:
		fmt.Fprintf(&b, ", done in %s", p.Elapsed.Round(time.Millisecond))
	case p.ETA() > 0:
		fmt.Fprintf(&b, ", ETA %s", p.ETA().Round(time.Second))
	}
	return b.String()
}

// progress shows an export's or a seed's progress.
func (p *progressPrinter) progress(h history.Progress) {
	p.update(h.Done, h.Total, h.Final, func() string { return progressLine(p.label, h) })
}
