// Command jobboard is the whole system in one binary: `serve` runs the API, the relay, the
// projectors and the scheduler, `migrate` manages the schema, and the operator and analyst
// commands (`projections`, `events`, `seed`) work on the same adapters, which they take
// from internal/app.Open: this package only turns flags and environment into a Config.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/migrations"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "jobboard:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "jobboard",
		Short:         "An event-sourced job marketplace",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	addConfigFlags(root.PersistentFlags())
	root.AddCommand(newServeCommand(), newMigrateCommand(), newConfigCommand(), newEventsCommand(), newSeedCommand(), newProjectionsCommand(), newNotifierCommand())
	return root
}

func config(cmd *cobra.Command) (app.Config, *slog.Logger, error) {
	cfg, err := loadConfig(cmd.Flags(), os.Getenv)
	if err != nil {
		return cfg, nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.SlogLevel()}))
	return cfg, log, nil
}

func newServeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the roles of --roles (by default all: API, relay, …) until SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := config(cmd)
			if err != nil {
				return err
			}
			m, err := app.New(cfg, log)
			if err != nil {
				return err
			}
			if err := m.Run(cmd.Context()); err != nil {
				_ = m.Close()
				return err
			}
			if m.URL() != "" {
				fmt.Fprintf(os.Stderr, "jobboard is serving on %s  (health %s/readyz)\n", m.URL(), m.URL())
			}
			reportCtx, stopReport := context.WithCancel(cmd.Context())
			reported := make(chan struct{})
			go func() {
				defer close(reported)
				// Only a process that applies the events reports their catch-up: an API
				// beside projectors elsewhere would print the same lines until they finish.
				if slices.Contains(cfg.Roles, app.RoleProjectors) {
					reportCatchUp(reportCtx, m.Pool(), os.Stderr, log)
				}
			}()
			defer func() { stopReport(); <-reported }()
			select {
			case <-cmd.Context().Done():
				log.Info("shutting down")
				return m.Close()
			case err := <-m.Errors():
				log.Error("a role stopped", "error", err)
				return errors.Join(err, m.Close())
			}
		},
	}
}

func newMigrateCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "migrate", Short: "Apply, roll back or list the SQL migrations"}
	run := func(name string, f func(ctx context.Context, p *migrateProvider) error) *cobra.Command {
		return &cobra.Command{
			Use:   name,
			Args:  cobra.NoArgs,
			Short: map[string]string{"up": "Apply every pending migration", "down": "Roll back the latest migration", "status": "List migrations and whether each is applied"}[name],
			RunE: func(cmd *cobra.Command, _ []string) error {
				cfg, _, err := config(cmd)
				if err != nil {
					return err
				}
				db, err := migrations.Open(cfg.DatabaseURL)
				if err != nil {
					return err
				}
				defer db.Close()
				p, err := migrations.Provider(db, nil)
				if err != nil {
					return err
				}
				return f(cmd.Context(), &migrateProvider{p})
			},
		}
	}
	cmd.AddCommand(
		run("up", func(ctx context.Context, p *migrateProvider) error { return p.up(ctx) }),
		run("down", func(ctx context.Context, p *migrateProvider) error { return p.down(ctx) }),
		run("status", func(ctx context.Context, p *migrateProvider) error { return p.status(ctx) }),
	)
	return cmd
}

func newConfigCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print every setting, its variable, flag and default, as a Markdown table",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, _ []string) { printConfigTable(cmd.OutOrStdout()) },
	}
}
