package eventstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Position is a place in the commit-safe order of the whole store: the transaction that
// wrote an event, then its global position. The zero Position is the start of the store.
type Position struct {
	// TransactionID is the xid8 of the transaction that appended the event.
	TransactionID uint64 `json:"transaction_id"`
	// GlobalPosition is the event's global_position.
	GlobalPosition int64 `json:"global_position"`
}

// Start is the position before the first event.
var Start = Position{}

// Less reports whether p sorts before q in commit-safe order.
func (p Position) Less(q Position) bool {
	if p.TransactionID != q.TransactionID {
		return p.TransactionID < q.TransactionID
	}
	return p.GlobalPosition < q.GlobalPosition
}

// String formats p as "transaction_id/global_position".
func (p Position) String() string { return fmt.Sprintf("%d/%d", p.TransactionID, p.GlobalPosition) }

// Metadata travels with every event. Field names are stored in the metadata jsonb column and
// in the relay's envelope; do not rename them.
type Metadata struct {
	// CorrelationID ties together everything caused by one user request.
	CorrelationID string `json:"correlation_id,omitempty"`
	// CausationID is the id of the command or event that caused this event.
	CausationID string `json:"causation_id,omitempty"`
	// Actor is who asked for the change (user id, "system", "stripe", …).
	Actor string `json:"actor,omitempty"`
	// Command is the name of the command whose handler appended the event.
	Command string `json:"command,omitempty"`
	// IdempotencyKey is the client's idempotency key of the command, if any.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// TraceParent is the W3C traceparent of the request that appended the event.
	TraceParent string `json:"traceparent,omitempty"`
	// Extra holds anything else worth keeping with the event.
	Extra map[string]string `json:"extra,omitempty"`
}

// EventData is an event to append.
type EventData struct {
	// EventID identifies the event forever. Callers that may retry an append must set it
	// (and reuse it on the retry); when zero, Append assigns a new UUIDv7.
	EventID uuid.UUID
	// Type is the stable stored name of the event, e.g. "JobPosted".
	Type string
	// SchemaVersion is the version of Data's shape. When zero it is the registry's current
	// version of Type, or 1 without a registry.
	SchemaVersion int
	// Data is the event's JSON payload.
	Data json.RawMessage
	// Metadata is stored with the event.
	Metadata Metadata
}

// Event is a stored event. Its JSON encoding is the envelope the relay publishes.
type Event struct {
	GlobalPosition int64           `json:"global_position"`
	TransactionID  uint64          `json:"transaction_id"`
	StreamID       string          `json:"stream_id"`
	StreamType     string          `json:"stream_type"`
	StreamVersion  int64           `json:"stream_version"`
	EventID        uuid.UUID       `json:"event_id"`
	Type           string          `json:"event_type"`
	SchemaVersion  int             `json:"schema_version"`
	Data           json.RawMessage `json:"data"`
	Metadata       Metadata        `json:"metadata"`
	RecordedAt     time.Time       `json:"recorded_at"`
}

// Position is the event's place in commit-safe order.
func (e Event) Position() Position {
	return Position{TransactionID: e.TransactionID, GlobalPosition: e.GlobalPosition}
}

// DecodeEnvelope parses an event envelope as published by the relay.
func DecodeEnvelope(payload []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(payload, &e); err != nil {
		return Event{}, fmt.Errorf("decode event envelope: %w", err)
	}
	return e, nil
}

// ExpectedVersion is what an append expects the stream's current version to be:
// an exact version (see Exact), Any, or NoStream.
type ExpectedVersion int64

const (
	// Any appends whatever the stream's version.
	Any ExpectedVersion = -1
	// NoStream appends only if the stream has no events yet.
	NoStream ExpectedVersion = 0
)

// Exact expects the stream to be exactly at version v (0 is the same as NoStream).
func Exact(v int64) ExpectedVersion { return ExpectedVersion(v) }

func (e ExpectedVersion) String() string {
	switch {
	case e == Any:
		return "any"
	case e == NoStream:
		return "no stream"
	case e < 0:
		return fmt.Sprintf("invalid(%d)", int64(e))
	default:
		return fmt.Sprintf("%d", int64(e))
	}
}

// AppendResult is what an append did.
type AppendResult struct {
	// StreamVersion is the stream's version after the append (the last appended event's).
	StreamVersion int64
	// GlobalPositions are the appended events' global positions, in the order given.
	GlobalPositions []int64
}

var (
	// ErrConcurrencyConflict: the stream was not at the expected version. Errors wrapping it
	// are *ConcurrencyError.
	ErrConcurrencyConflict = errors.New("eventstore: concurrency conflict")
	// ErrDuplicateEventID: an event id is already stored, but not as this same append.
	ErrDuplicateEventID = errors.New("eventstore: event id already stored by another append")
	// ErrInvalidEvent: an event to append is malformed.
	ErrInvalidEvent = errors.New("eventstore: invalid event")
	// ErrPositionNotFound: no event has the given global position.
	ErrPositionNotFound = errors.New("eventstore: no event at that global position")
)

// ConcurrencyError says which stream conflicted. It matches ErrConcurrencyConflict.
type ConcurrencyError struct {
	StreamID string
	Expected ExpectedVersion
	// Actual is the stream's version when the conflict was seen, -1 if unknown.
	Actual int64
}

func (e *ConcurrencyError) Error() string {
	return fmt.Sprintf("eventstore: concurrency conflict on stream %q: expected version %s, actual %d",
		e.StreamID, e.Expected, e.Actual)
}

// Unwrap makes errors.Is(err, ErrConcurrencyConflict) true.
func (e *ConcurrencyError) Unwrap() error { return ErrConcurrencyConflict }
