package projections

import "context"

// Projector builds one read model from events.
type Projector interface {
	// Name is permanent: it names the Kafka consumer group, the dead-letter topic and the
	// projection's rows in projection_versions. Changing it replays everything.
	Name() string
	// StreamTypes are the stream types whose events the projector consumes.
	StreamTypes() []string
	// Apply applies events in order, all or nothing, idempotently: events at or below the
	// version already applied for their stream change nothing. A batch may hold several
	// events of one stream (in stream order) and events of many streams.
	Apply(ctx context.Context, events []Event) error
}

// backlogApplier is a Projector with a cheaper way to apply a large batch of a backlog, which
// a catch-up from the event store uses (ADR 0006). ApplyBacklog keeps Apply's contract.
type backlogApplier interface {
	ApplyBacklog(ctx context.Context, events []Event) error
}
