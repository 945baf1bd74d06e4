// Package migrations holds the SQL migrations of the event store and the read tables, and
// applies them with goose. It must not import any other package of this module.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io"
	"log/slog"

	"github.com/pressly/goose/v3"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

//go:embed *.sql
var files embed.FS

// Open opens a database/sql handle on dsn through pgx, for goose.
func Open(dsn string) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return db, nil
}

// Provider returns a goose provider over the embedded migrations. Goose logs through the
// given writer (io.Discard to stay quiet).
func Provider(db *sql.DB, logTo io.Writer) (*goose.Provider, error) {
	opts := []goose.ProviderOption{}
	if logTo != nil {
		opts = append(opts, goose.WithLogger(slogLogger{slog.New(slog.NewJSONHandler(logTo, nil))}))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, files, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Up applies every pending migration to the database at dsn.
func Up(ctx context.Context, dsn string) error {
	db, err := Open(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := Provider(db, nil)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	return nil
}

type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Printf(format string, v ...any) { s.l.Info(fmt.Sprintf(format, v...)) }
func (s slogLogger) Fatalf(format string, v ...any) { s.l.Error(fmt.Sprintf(format, v...)) }
