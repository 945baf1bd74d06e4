package eventstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// Upcaster turns the data of one schema version of an event type into the next version's.
// It must be pure: the same input always gives the same output.
type Upcaster func(data json.RawMessage) (json.RawMessage, error)

// EventType describes one stored event type.
type EventType struct {
	// Name is the stable stored name ("JobPosted").
	Name string
	// SchemaVersion is the current version of the type's data, 1 or more.
	SchemaVersion int
	// Upcasters maps a version v to the upcaster from v to v+1; it must hold every v from 1
	// to SchemaVersion-1.
	Upcasters map[int]Upcaster
}

// Validate reports every problem with t.
func (t EventType) Validate() error {
	var errs []error
	if t.Name == "" {
		errs = append(errs, errors.New("event type name is empty"))
	}
	if t.SchemaVersion < 1 {
		errs = append(errs, fmt.Errorf("event type %q: schema version %d < 1", t.Name, t.SchemaVersion))
	}
	for v := 1; v < t.SchemaVersion; v++ {
		if t.Upcasters[v] == nil {
			errs = append(errs, fmt.Errorf("event type %q: no upcaster from v%d to v%d", t.Name, v, v+1))
		}
	}
	for v := range t.Upcasters {
		if v < 1 || v >= t.SchemaVersion {
			errs = append(errs, fmt.Errorf("event type %q: upcaster from v%d is outside 1..%d", t.Name, v, t.SchemaVersion-1))
		}
	}
	return errors.Join(errs...)
}

// Registry knows the current schema version of each event type and upcasts old shapes on
// read; stored rows are never rewritten. It is safe for concurrent use. It does not know
// domain types: cmd/ registers the domain's event types.
type Registry struct {
	mu    sync.RWMutex
	types map[string]EventType
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{types: map[string]EventType{}} }

// Register adds an event type. Registering a name twice is an error.
func (r *Registry) Register(t EventType) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("register event type: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.types[t.Name]; ok {
		return fmt.Errorf("register event type %q: already registered", t.Name)
	}
	ups := make(map[int]Upcaster, len(t.Upcasters))
	for v, u := range t.Upcasters {
		ups[v] = u
	}
	t.Upcasters = ups
	r.types[t.Name] = t
	return nil
}

// MustRegister is Register that panics, for wiring code.
func (r *Registry) MustRegister(types ...EventType) {
	for _, t := range types {
		if err := r.Register(t); err != nil {
			panic(err)
		}
	}
}

// CurrentVersion returns the current schema version of an event type.
func (r *Registry) CurrentVersion(name string) (int, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[name]
	return t.SchemaVersion, ok
}

// Upcast returns e with its data upcast to the current schema version of its type. Events of
// unknown types, and events already at (or, during a rolling deploy, above) the current
// version, are returned unchanged.
func (r *Registry) Upcast(e Event) (Event, error) {
	r.mu.RLock()
	t, ok := r.types[e.Type]
	r.mu.RUnlock()
	if !ok {
		return e, nil
	}
	if e.SchemaVersion < 1 {
		return e, fmt.Errorf("upcast %s event %s: schema version %d < 1", e.Type, e.EventID, e.SchemaVersion)
	}
	for v := e.SchemaVersion; v < t.SchemaVersion; v++ {
		data, err := t.Upcasters[v](e.Data)
		if err != nil {
			return e, fmt.Errorf("upcast %s event %s from v%d to v%d: %w", e.Type, e.EventID, v, v+1, err)
		}
		e.Data = data
		e.SchemaVersion = v + 1
	}
	return e, nil
}
