package notifier

import (
	"context"
	"fmt"
	"sort"

	"github.com/jobboard/jobboard/projections"
)

// Event is a stored event with its decoded payload, as the projectors get it.
type Event = projections.Event

// Rule decides the messages one event causes. It must be deterministic (the same event, the
// same messages with the same keys): redelivered events are decided again, and only the
// keys keep them from being sent twice.
type Rule func(ctx context.Context, ev Event) ([]Message, error)

// Rules are the rules by event type.
type Rules struct {
	byType map[string][]Rule
}

// On registers rule for events of eventType ("application.submitted"); several rules per
// type run in the order they were registered.
func (r *Rules) On(eventType string, rule Rule) {
	if r.byType == nil {
		r.byType = map[string][]Rule{}
	}
	r.byType[eventType] = append(r.byType[eventType], rule)
}

// EventTypes are the event types some rule listens to, sorted.
func (r *Rules) EventTypes() []string {
	out := make([]string, 0, len(r.byType))
	for t := range r.byType {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Decide runs the rules of ev's type.
func (r *Rules) Decide(ctx context.Context, ev Event) ([]Message, error) {
	var out []Message
	for _, rule := range r.byType[ev.Type] {
		msgs, err := rule(ctx, ev)
		if err != nil {
			return nil, fmt.Errorf("notifier: rule for %s event %s: %w", ev.Type, ev.EventID, err)
		}
		out = append(out, msgs...)
	}
	return out, nil
}
