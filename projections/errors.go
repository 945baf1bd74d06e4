package projections

import (
	"context"
	"errors"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
)

// permanentError marks a failure that retrying cannot fix (a malformed event): it is not
// retried and goes to the dead-letter topic at once.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// transientError marks a failure of infrastructure (a database or Elasticsearch that is
// down, a deadlock): the event is retried until it succeeds and never dead-lettered, so an
// outage delays the projection instead of emptying it into the dead-letter topic.
type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// Transient marks err as a failure of infrastructure, to be retried without end.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return transientError{err}
}

// IsTransient reports whether err was marked Transient or is a cancellation.
func IsTransient(err error) bool {
	var t transientError
	return errors.As(err, &t) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// classifyPG marks an error of a PostgreSQL call: connection problems, serialization
// failures, deadlocks and resource shortages are transient; other server errors (bad data,
// constraint violations) are left to retries and the dead-letter topic.
func classifyPG(err error) error {
	if err == nil || IsPermanent(err) || IsTransient(err) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", "40", "53", "57", "58":
			return Transient(err)
		}
		return err
	}
	var netErr net.Error
	if errors.As(err, &netErr) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return Transient(err)
	}
	// pgx reports lost connections, closed pools and I/O failures without a PgError.
	return Transient(err)
}
