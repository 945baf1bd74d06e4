package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pressly/goose/v3"
)

type migrateProvider struct{ p *goose.Provider }

func (m *migrateProvider) up(ctx context.Context) error {
	res, err := m.p.Up(ctx)
	for _, r := range res {
		fmt.Fprintf(os.Stdout, "applied %s (%s)\n", r.Source.Path, r.Duration)
	}
	if err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	if len(res) == 0 {
		fmt.Fprintln(os.Stdout, "up to date")
	}
	return nil
}

func (m *migrateProvider) down(ctx context.Context) error {
	r, err := m.p.Down(ctx)
	if err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	if r != nil {
		fmt.Fprintf(os.Stdout, "rolled back %s (%s)\n", r.Source.Path, r.Duration)
	}
	return nil
}

func (m *migrateProvider) status(ctx context.Context) error {
	st, err := m.p.Status(ctx)
	if err != nil {
		return fmt.Errorf("migrate status: %w", err)
	}
	for _, s := range st {
		when := "pending"
		if s.State == goose.StateApplied {
			when = "applied " + s.AppliedAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		fmt.Fprintf(os.Stdout, "%-40s %s\n", s.Source.Path, when)
	}
	return nil
}
