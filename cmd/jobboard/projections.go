package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/readmodels"
	"github.com/jobboard/jobboard/repository"
)

// projectionDeps are what the projections commands use.
type projectionDeps struct {
	pool      *pgxpool.Pool
	es        *elasticsearch.Client
	registry  *eventstore.Registry
	rebuilder *projections.Rebuilder
	dead      *projections.DeadLetters
}

type projectionFlags struct {
	alias, indexPrefix string
	batch              int
}

func openProjections(cmd *cobra.Command, f *projectionFlags) (*projectionDeps, func(), error) {
	cfg, log, err := config(cmd)
	if err != nil {
		return nil, nil, err
	}
	// The index names follow ELASTICSEARCH_INDEX_PREFIX unless the flags say otherwise.
	if fl := cmd.Flags().Lookup("search-alias"); fl == nil || !fl.Changed {
		f.alias = cfg.SearchAlias()
	}
	if fl := cmd.Flags().Lookup("index-prefix"); fl == nil || !fl.Changed {
		f.indexPrefix = cfg.SearchIndexPrefix()
	}
	d := &projectionDeps{}
	if d.pool, err = pgxpool.New(cmd.Context(), cfg.DatabaseURL); err != nil {
		return nil, nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	closeAll := func() {
		if d.rebuilder != nil {
			_ = d.rebuilder.Close()
		}
		d.pool.Close()
	}
	fail := func(err error) (*projectionDeps, func(), error) {
		closeAll()
		return nil, nil, err
	}
	if d.es, err = elasticsearch.NewClient(elasticsearch.Config{Addresses: cfg.ElasticsearchAddresses()}); err != nil {
		return fail(fmt.Errorf("elasticsearch client: %w", err))
	}
	if d.registry, err = repository.NewRegistry(); err != nil {
		return fail(err)
	}
	store, err := eventstore.NewStore(d.pool, eventstore.StoreConfig{Registry: d.registry, Logger: log})
	if err != nil {
		return fail(err)
	}
	if d.rebuilder, err = projections.NewRebuilder(d.pool, d.es, store, d.registry, projections.RebuilderConfig{
		SearchAlias: f.alias, IndexPrefix: f.indexPrefix, IndexSettings: cfg.SearchIndexSettings(),
		BatchSize: f.batch, Logger: log,
	}); err != nil {
		return fail(err)
	}
	if d.dead, err = projections.NewDeadLetters(d.pool, d.registry); err != nil {
		return fail(err)
	}
	return d, closeAll, nil
}

func newProjectionsCommand() *cobra.Command {
	f := &projectionFlags{}
	cmd := &cobra.Command{
		Use:   "projections",
		Short: "Status, rebuilds and dead letters of the read-side projections (operators)",
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.alias, "search-alias", "", "the Elasticsearch alias searches read (default: ELASTICSEARCH_INDEX_PREFIX + \"jobs\")")
	pf.StringVar(&f.indexPrefix, "index-prefix", "", `versions of the search index are named "<prefix>-v<N>" (default: ELASTICSEARCH_INDEX_PREFIX + "jobs")`)
	pf.IntVar(&f.batch, "batch", 5000, "events read and applied at once by a rebuild")
	cmd.AddCommand(newProjectionsStatusCommand(f), newProjectionsRebuildCommand(f), newProjectionsRebuildStatusCommand(f),
		newProjectionsCancelCommand(f), newProjectionsPruneCommand(f), newProjectionsDLQCommand(f))
	return cmd
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newProjectionsStatusCommand(f *projectionFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Version, state, lag, dead letters and last error of every projection",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, done, err := openProjections(cmd, f)
			if err != nil {
				return err
			}
			defer done()
			all, err := projections.Status(cmd.Context(), d.pool, projections.StatusConfig{})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return printJSON(out, all)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tSTATE\tLAG EVENTS\tLAG SECONDS\tDEAD LETTERS\tLAST ERROR")
			for _, s := range all {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%.1f\t%d\t%s\n", s.Name, s.Version, s.State, s.LagEvents, s.LagSeconds, s.DeadLetters, s.LastError)
				if r := s.Rebuild; r != nil {
					fmt.Fprintf(tw, "  rebuild %s\tv%d\t%s\t%d/%d\t%.0f ev/s\t\t\n", r.ID, r.ToVersion, r.State, r.EventsDone, r.EventsTotal, r.EventsPerSecond)
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the admin API's shape)")
	return cmd
}

func newProjectionsRebuildCommand(f *projectionFlags) *cobra.Command {
	var prune bool
	cmd := &cobra.Command{
		Use:   "rebuild <name>",
		Short: "Build version N+1 of a projection from the event store beside the live N, then promote it",
		Long: "Replays the whole history into a new version (new schema, new index), catches up with the\n" +
			"live stream and swaps atomically; queries keep answering from the live version meanwhile.\n" +
			"Interrupting (Ctrl-C) cancels the rebuild and drops the new version. Projections: " +
			readmodels.ReadTablesProjection + ", " + readmodels.JobSearchProjection + ".",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, done, err := openProjections(cmd, f)
			if err != nil {
				return err
			}
			defer done()
			var pp *progressPrinter
			progress := func(s projections.RebuildStatus) {
				if pp == nil {
					pp, _ = newProgressPrinter(cmd.ErrOrStderr(), "auto", fmt.Sprintf("%s v%d", s.Projection, s.ToVersion)) // "auto" is valid
				}
				pp.update(s.EventsDone, s.EventsTotal, s.Finished(), func() string {
					return fmt.Sprintf("%s %s: %d/%d events, %.0f events/s, ETA %s", pp.label, s.State, s.EventsDone, s.EventsTotal,
						s.EventsPerSecond, s.ETA().Round(time.Second))
				})
			}
			st, err := d.rebuilder.Run(cmd.Context(), args[0], progress)
			if err != nil {
				if st.ID != uuid.Nil {
					return fmt.Errorf("rebuild %s %s, version %d dropped, version %d still live: %w", st.ID, st.State, st.ToVersion, st.FromVersion, err)
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: version %d is live (%d events in %s, %.0f events/s); version %d is retired\n",
				st.Projection, st.ToVersion, st.EventsDone, st.FinishedAt.Sub(st.StartedAt).Round(time.Millisecond), st.EventsPerSecond, st.FromVersion)
			if prune {
				dropped, err := d.rebuilder.Prune(cmd.Context(), st.Projection, 0)
				for _, t := range dropped {
					fmt.Fprintf(cmd.OutOrStdout(), "dropped %s version %d (%s %s)\n", t.Projection, t.Version, t.Schema, t.Index)
				}
				return err
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&prune, "prune", false, "drop the retired versions at once instead of after the grace period")
	return cmd
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newProjectionsRebuildStatusCommand(f *projectionFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rebuild-status <rebuild-id>",
		Short: "Progress of a rebuild (any process), as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return fmt.Errorf("rebuild id: %w", err)
			}
			d, done, err := openProjections(cmd, f)
			if err != nil {
				return err
			}
			defer done()
			st, err := d.rebuilder.Status(cmd.Context(), id)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), st)
		},
	}
}

func newProjectionsCancelCommand(f *projectionFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel <rebuild-id>",
		Short: "Ask a running rebuild (in any process) to stop; its new version is dropped",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return fmt.Errorf("rebuild id: %w", err)
			}
			d, done, err := openProjections(cmd, f)
			if err != nil {
				return err
			}
			defer done()
			return d.rebuilder.Cancel(cmd.Context(), id)
		},
	}
}

func newProjectionsPruneCommand(f *projectionFlags) *cobra.Command {
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "prune [name]",
		Short: "Drop retired projection versions (schemas, indices) retired longer than --grace ago",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, done, err := openProjections(cmd, f)
			if err != nil {
				return err
			}
			defer done()
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			dropped, err := d.rebuilder.Prune(cmd.Context(), name, grace)
			for _, t := range dropped {
				fmt.Fprintf(cmd.OutOrStdout(), "dropped %s version %d (%s %s)\n", t.Projection, t.Version, t.Schema, t.Index)
			}
			return err
		},
	}
	cmd.Flags().DurationVar(&grace, "grace", 0, "keep versions retired less than this long ago")
	return cmd
}

func newProjectionsDLQCommand(f *projectionFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "dlq", Short: "List, show and replay the dead letters of a projector"}
	var all bool
	var limit int
	list := &cobra.Command{
		Use:   "list <projector>",
		Short: "List the dead letters not yet replayed (--all: every one)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, done, err := openProjections(cmd, f)
			if err != nil {
				return err
			}
			defer done()
			letters, err := d.dead.List(cmd.Context(), args[0], projections.ListDeadLettersParams{IncludeReplayed: all, Limit: limit})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tDEAD AT\tEVENT\tSTREAM\tPOSITION\tREPLAYED\tREASON")
			for _, l := range letters {
				replayed := "-"
				if l.ReplayedAt != nil {
					replayed = l.ReplayedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", l.ID, l.DeadAt.Format(time.RFC3339), l.EventType, l.StreamID,
					l.GlobalPosition, replayed, l.Reason)
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&all, "all", false, "include dead letters replayed already")
	list.Flags().IntVar(&limit, "limit", 100, "list at most this many")
	show := &cobra.Command{
		Use:   "show <projector> <id>",
		Short: "Print one dead letter with its event and metadata, as JSON",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil {
				return fmt.Errorf("dead letter id: %w", err)
			}
			d, done, err := openProjections(cmd, f)
			if err != nil {
				return err
			}
			defer done()
			l, err := d.dead.Get(cmd.Context(), id)
			if err != nil {
				return err
			}
			if l.Projection != args[0] {
				return fmt.Errorf("dead letter %d belongs to %s, not %s", id, l.Projection, args[0])
			}
			return printJSON(cmd.OutOrStdout(), l)
		},
	}
	replay := &cobra.Command{
		Use:   "replay <projector> [id...]",
		Short: "Feed dead letters (all open ones, or the given ids) back through the live projector",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ids []int64
			for _, a := range args[1:] {
				id, err := strconv.ParseInt(a, 10, 64)
				if err != nil {
					return fmt.Errorf("dead letter id %q: %w", a, err)
				}
				ids = append(ids, id)
			}
			d, done, err := openProjections(cmd, f)
			if err != nil {
				return err
			}
			defer done()
			var p projections.Projector
			switch args[0] {
			case readmodels.ReadTablesProjection:
				p, err = projections.NewReadTablesProjector(d.pool, projections.ReadTablesConfig{FollowLive: true})
			case readmodels.JobSearchProjection:
				p, err = projections.NewJobSearchProjector(d.pool, d.es, projections.JobSearchConfig{FollowLive: true})
			default:
				err = fmt.Errorf("%w: %q (the projections are %s, %s)", projections.ErrUnknownProjection, args[0],
					readmodels.JobSearchProjection, readmodels.ReadTablesProjection)
			}
			if err != nil {
				return err
			}
			res, err := d.dead.Replay(cmd.Context(), p, ids...)
			fmt.Fprintf(cmd.OutOrStdout(), "replayed %d, failed %d\n", res.Replayed, res.Failed)
			if err == nil && res.Failed > 0 {
				err = errors.New("some dead letters failed again: see `dlq list` (replay_error in `dlq show`)")
			}
			return err
		},
	}
	cmd.AddCommand(list, show, replay)
	return cmd
}
