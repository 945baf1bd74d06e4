package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// aggregate holds what every aggregate has: its id, its version and the events recorded
// since it was loaded. Aggregates embed it, so ID, Version, ExpectedVersion, Changes and
// ClearChanges are theirs.
type aggregate struct {
	id      string
	version int
	changes []Event
}

// ID of the aggregate, which is also its stream id.
func (a *aggregate) ID() string { return a.id }

// Version is the number of events applied, recorded changes included.
func (a *aggregate) Version() int { return a.version }

// ExpectedVersion is the stream version the Changes must be appended after (the version
// as loaded): the optimistic-concurrency check of the append.
func (a *aggregate) ExpectedVersion() int { return a.version - len(a.changes) }

// Changes returns the events recorded since the aggregate was loaded or created, in order.
func (a *aggregate) Changes() []Event { return slices.Clone(a.changes) }

// ClearChanges forgets the recorded changes once they are appended; Version is kept.
func (a *aggregate) ClearChanges() { a.changes = nil }

// record applies a new event and keeps it as a change.
func (a *aggregate) record(e Event, apply func(Event)) {
	apply(e)
	a.version++
	a.changes = append(a.changes, e)
}

// fold is the one way history becomes state: it checks that the history is a stream of
// streamType that starts with its creation event, then applies every event in order.
func (a *aggregate) fold(streamType, created, id string, history []Event, apply func(Event)) error {
	if len(history) == 0 {
		return fmt.Errorf("load %s %s: %w", streamType, id, ErrNotFound)
	}
	a.id = id
	for i, e := range history {
		if e == nil {
			return fmt.Errorf("load %s %s: event %d is nil: %w", streamType, id, i+1, ErrUnknownEvent)
		}
		st, ok := StreamTypeOf(e.EventType())
		if !ok || st != streamType || (i == 0) != (e.EventType() == created) {
			return fmt.Errorf("load %s %s: event %d %q out of place: %w", streamType, id, i+1, e.EventType(), ErrUnknownEvent)
		}
		apply(e)
		a.version++
	}
	return nil
}

// checkID refuses a blank id: ids are made by the caller, and a blank one is a bug.
func checkID(p *problems, field, id string) {
	if strings.TrimSpace(id) == "" {
		p.add(field, "is required")
	}
}

// utc normalises times recorded in events, so equal instants serialise equally.
func utc(t time.Time) time.Time { return t.UTC() }
