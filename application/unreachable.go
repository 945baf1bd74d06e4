package application

import (
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// DatabaseUnreachable reports whether err is PostgreSQL being out of reach — a server (a
// read replica, say) down, restarting or shutting down — rather than a fault of ours, so the
// answer is a retriable 503 instead of a 500. For any request that is so when nothing reached
// the server (the connection failed, or pgx knows the statement was not sent); for a read
// (readOnly) also when the connection broke mid-query, since running a read again is safe.
// A command whose connection broke mid-statement stays a 500: its outcome is unknown.
func DatabaseUnreachable(err error, readOnly bool) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.SafeToRetry(err) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 57P03 cannot_connect_now (starting up) refused the connection; 57P01
		// admin_shutdown and 57P02 crash_shutdown ended one, a read's only.
		return pe.Code == "57P03" || (readOnly && (pe.Code == "57P01" || pe.Code == "57P02"))
	}
	if !readOnly {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		strings.Contains(err.Error(), "conn closed")
}
