package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/seed"
	"github.com/jobboard/jobboard/storedevents"
)

func newSeedCommand() *cobra.Command {
	var (
		events      int
		seedValue   uint64
		end         string
		span        time.Duration
		writers     int
		batchEvents int
		progress    string
	)
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Write a realistic synthetic history (companies, candidates, jobs, payments, applications)",
		Long: `Seed appends exactly --events events of a synthetic but valid history: candidates first,
then company after company with its jobs (edits, listing payments — some failing, some
featured — publications, closes, expiries, renewals) and the applications to them moving
through review, interviews, offers, hires, rejections and withdrawals. Every stream is
built by the real domain aggregates; the e-mail claims and the listing schedule are
written in the same transactions, as the command path does.

The events' own times spread over --span before --end; recorded_at is the time of the
seed. The same --seed and --end give the same streams (ids included); --end defaults to
today 00:00 UTC. Seeding the same seed twice into one database is refused: pick another
--seed to add more history.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := config(cmd)
			if err != nil {
				return err
			}
			endAt, err := parseTime(end, time.Now())
			if err != nil {
				return fmt.Errorf("--end: %w", err)
			}
			pp, err := newProgressPrinter(cmd.ErrOrStderr(), progress, "seed")
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
			if err != nil {
				return fmt.Errorf("connect to PostgreSQL: %w", err)
			}
			defer pool.Close()
			reg, err := storedevents.NewRegistry()
			if err != nil {
				return err
			}
			store, err := eventstore.NewStore(pool, eventstore.StoreConfig{Registry: reg, Logger: log})
			if err != nil {
				return err
			}
			s, err := seed.NewSeeder(pool, store, seed.Config{
				Events: events, Seed: seedValue, End: endAt, Span: span,
				StandardPrice: cfg.ListingPriceStandard, FeaturedPrice: cfg.ListingPriceFeatured,
				ListingCurrency: cfg.ListingCurrency, ListingDuration: cfg.ListingDuration,
				Writers: writers, BatchEvents: batchEvents, Logger: log,
				Progress: pp.progress,
			})
			if err != nil {
				return err
			}
			res, err := s.Run(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "seeded %d events in %d streams in %s (%.0f events/s)\n", res.Events, res.Streams,
				res.Elapsed.Round(time.Millisecond), float64(res.Events)/res.Elapsed.Seconds())
			types := make([]string, 0, len(res.Counts))
			for t := range res.Counts {
				types = append(types, t)
			}
			slices.Sort(types)
			for _, t := range types {
				fmt.Fprintf(out, "  %-32s %d\n", t, res.Counts[t])
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&events, "events", 10000, "exact number of events to write")
	fs.Uint64Var(&seedValue, "seed", 1, "seed of the generator: the same seed and --end give the same history")
	fs.StringVar(&end, "end", "", "the history's \"now\": RFC 3339 or a date (default today 00:00 UTC)")
	fs.DurationVar(&span, "span", 180*24*time.Hour, "how far back the history starts before --end")
	fs.IntVar(&writers, "writers", 4, "transactions appending at once")
	fs.IntVar(&batchEvents, "batch-events", 5000, "about how many events one transaction appends")
	fs.StringVar(&progress, "progress", "auto", "progress on stderr: auto, bar, lines or off")
	return cmd
}
