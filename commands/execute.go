package commands

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

// maxAttempts bounds the load-decide-append cycles of a command whose append lost a race
// to a concurrent write of the same stream.
const maxAttempts = 8

// decision is what a handler decided on a loaded stream: the events to append (none for a
// no-op) and the rows that go with them.
type decision struct {
	streamType string
	events     []domain.Event
	claims     []Claim
	credential *Credential
}

// decideFunc decides on a freshly loaded stream. It is called again on every retry.
type decideFunc func(ctx context.Context, s Stream) (decision, error)

// execution is one command's run through load → decide → append.
type execution struct {
	store    EventStore
	streamID string
	// pinned is the version the client expects (If-Match), nil if none.
	pinned *int64
	// authorize, when set, checks that the caller may act on the loaded stream before
	// anything else is decided — before pinned above all: someone else's private aggregate
	// and a missing one must answer the same NotFound whatever the client's If-Match says,
	// or a version mismatch would tell that it exists and at which version.
	authorize func(Stream) error
	metadata  Metadata
	// what names the aggregate in error messages ("job").
	what string
}

// run loads, decides and appends, retrying lost races unless the client pinned a version.
// A decision without events answers the current version. Errors are *apperr.Error.
func (x execution) run(ctx context.Context, decide decideFunc) (Result, error) {
	if x.pinned != nil && *x.pinned < 0 {
		return Result{}, invalidField("version", "must not be negative")
	}
	for attempt := 1; ; attempt++ {
		s, err := x.store.Load(ctx, x.streamID)
		if err != nil {
			return Result{}, translate(err, x.what)
		}
		if x.authorize != nil {
			if err := x.authorize(s); err != nil {
				return Result{}, translate(err, x.what)
			}
		}
		if x.pinned != nil && *x.pinned != s.Version {
			return Result{}, versionMismatch(x.what, *x.pinned, s.Version)
		}
		d, err := decide(ctx, s)
		if err != nil {
			return Result{}, translate(err, x.what)
		}
		if len(d.events) == 0 {
			// A no-op on an existing stream answers its type as loaded; on a missing one
			// the version is 0, which no token names.
			return newResult(x.streamID, cmp.Or(d.streamType, s.Type), s.Version), nil
		}
		version, err := x.store.Append(ctx, AppendRequest{
			StreamID:        x.streamID,
			StreamType:      d.streamType,
			ExpectedVersion: s.Version,
			Events:          d.events,
			Metadata:        x.metadata,
			Claims:          d.claims,
			Credential:      d.credential,
			Schedule:        ListingScheduleOf(x.streamID, d.events),
		})
		switch {
		case err == nil:
			return newResult(x.streamID, d.streamType, version), nil
		case !errors.Is(err, ErrConcurrencyConflict):
			return Result{}, translate(err, x.what)
		case x.pinned != nil:
			return Result{}, versionMismatch(x.what, *x.pinned, -1)
		case attempt >= maxAttempts:
			return Result{}, translate(err, x.what)
		}
		if err := backoff(ctx, attempt); err != nil {
			return Result{}, translate(err, x.what)
		}
	}
}

func versionMismatch(what string, expected, actual int64) *apperr.Error {
	if actual < 0 {
		return apperr.New(apperr.VersionMismatch, "the %s is no longer at version %d", what, expected)
	}
	return apperr.New(apperr.VersionMismatch, "the %s is at version %d, not %d", what, actual, expected)
}

// backoff waits a little, growing and jittered, so racing retries spread out.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(1<<min(attempt, 6)) * time.Millisecond
	d += rand.N(d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ListingScheduleOf is the change of the listing schedule the events of a job stream make
// (nil: none): the last publication, closing or expiry decides.
func ListingScheduleOf(jobID string, events []domain.Event) *ListingSchedule {
	var out *ListingSchedule
	for _, e := range events {
		switch e := e.(type) {
		case *domain.JobPublished:
			out = &ListingSchedule{JobID: jobID, ExpiresAt: e.ExpiresAt}
		case *domain.JobClosed, *domain.JobExpired:
			out = &ListingSchedule{JobID: jobID, Remove: true}
		}
	}
	return out
}
