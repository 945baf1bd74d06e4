package repository

import (
	"encoding/json"
	"fmt"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
)

// upcasters holds, per stored event name, the upcasters from older schema versions to the
// domain's current one (version v to v+1). Add one here when a domain event's schema
// version is raised; stored events are never rewritten.
var upcasters = map[string]map[int]eventstore.Upcaster{
	domain.EventJobPosted: {1: domain.UpcastJobPostedV1},
}

// EventTypes describes every domain event for the event store's registry: its stored name,
// its current schema version and the upcasters from older versions.
func EventTypes() []eventstore.EventType {
	names := domain.EventTypes()
	out := make([]eventstore.EventType, 0, len(names))
	for _, name := range names {
		e, _ := domain.NewEvent(name)
		out = append(out, eventstore.EventType{Name: name, SchemaVersion: e.SchemaVersion(), Upcasters: upcasters[name]})
	}
	return out
}

// RegisterEventTypes registers every domain event with reg.
func RegisterEventTypes(reg *eventstore.Registry) error {
	for _, t := range EventTypes() {
		if err := reg.Register(t); err != nil {
			return err
		}
	}
	return nil
}

// NewRegistry returns a registry that knows every domain event, for eventstore.StoreConfig.
func NewRegistry() (*eventstore.Registry, error) {
	reg := eventstore.NewRegistry()
	if err := RegisterEventTypes(reg); err != nil {
		return nil, err
	}
	return reg, nil
}

// Encode turns a domain event into an event to append.
func Encode(e domain.Event, meta eventstore.Metadata) (eventstore.EventData, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return eventstore.EventData{}, fmt.Errorf("encode %s: %w", e.EventType(), err)
	}
	return eventstore.EventData{Type: e.EventType(), SchemaVersion: e.SchemaVersion(), Data: data, Metadata: meta}, nil
}

// Decode turns a stored event, already upcast by the store's registry, into a domain event.
// An unknown type, or a schema version the domain does not have, is an error wrapping
// domain.ErrUnknownEvent.
func Decode(e eventstore.Event) (domain.Event, error) {
	out, ok := domain.NewEvent(e.Type)
	if !ok {
		return nil, fmt.Errorf("decode event %s: type %q: %w", e.EventID, e.Type, domain.ErrUnknownEvent)
	}
	if e.SchemaVersion != out.SchemaVersion() {
		return nil, fmt.Errorf("decode event %s: %s schema version %d, want %d (is the registry set?): %w",
			e.EventID, e.Type, e.SchemaVersion, out.SchemaVersion(), domain.ErrUnknownEvent)
	}
	if err := json.Unmarshal(e.Data, out); err != nil {
		return nil, fmt.Errorf("decode event %s (%s): %w", e.EventID, e.Type, err)
	}
	return out, nil
}
