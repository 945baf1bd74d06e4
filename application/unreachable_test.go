package application

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// A database out of reach is a retriable 503, not a 500: the chaos run found the read-table
// queries answering 500 while the read replica was down (docs/CHAOS.md).
func TestADatabaseOutOfReachIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// A real refused connection: nothing listens on port 1.
	_, connectErr := pgconn.Connect(ctx, "postgres://jobboard:jobboard@127.0.0.1:1/jobboard?sslmode=disable&connect_timeout=2")
	if connectErr == nil {
		t.Fatal("connected to port 1")
	}
	wrapped := fmt.Errorf("read live version of ReadTablesProjector: %w", connectErr)
	for _, c := range []struct {
		name     string
		err      error
		readOnly bool
		want     bool
	}{
		{"refused connection, read", wrapped, true, true},
		{"refused connection, command", wrapped, false, true},
		{"starting up (57P03), command", &pgconn.PgError{Code: "57P03"}, false, true},
		{"shut down mid-query (57P01), read", &pgconn.PgError{Code: "57P01"}, true, true},
		{"shut down mid-statement (57P01), command: outcome unknown", &pgconn.PgError{Code: "57P01"}, false, false},
		{"connection lost mid-query, read", fmt.Errorf("get job: %w", io.ErrUnexpectedEOF), true, true},
		{"connection lost mid-statement, command", fmt.Errorf("append: %w", io.ErrUnexpectedEOF), false, false},
		{"a constraint violation", &pgconn.PgError{Code: "23505"}, true, false},
		{"a bug of ours", errors.New("nil map"), true, false},
	} {
		if got := DatabaseUnreachable(c.err, c.readOnly); got != c.want {
			t.Errorf("%s: DatabaseUnreachable = %v, want %v (%v)", c.name, got, c.want, c.err)
		}
	}
}
