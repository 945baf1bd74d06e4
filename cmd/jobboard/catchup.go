package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/projections"
)

// catchUpInterval is how often serve reports how far the projections still have to go.
const catchUpInterval = 3 * time.Second

// reportCatchUp tells whoever started serve when the board shows everything: while a
// projection lags behind the event store (a seeded history, an outage's backlog) it prints
// how far each still has to go every catchUpInterval, then "board is up to date" once, and
// returns. Searches answered before that miss the events not yet applied.
func reportCatchUp(ctx context.Context, pool *pgxpool.Pool, out io.Writer, log *slog.Logger) {
	if pool == nil {
		return
	}
	t := time.NewTicker(catchUpInterval)
	defer t.Stop()
	for {
		all, err := projections.Status(ctx, pool, projections.StatusConfig{})
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("projection status for the catch-up report", "error", err)
		default:
			var behind []string
			for _, s := range all {
				if s.LagEvents > 0 {
					behind = append(behind, fmt.Sprintf("%s %d events (%.0f s) behind", s.Name, s.LagEvents, s.LagSeconds))
				}
			}
			if len(behind) == 0 {
				fmt.Fprintln(out, "board is up to date: every projection has applied the event store")
				return
			}
			fmt.Fprintf(out, "projections catching up: %s\n", strings.Join(behind, ", "))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
