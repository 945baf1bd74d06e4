package projections

import (
	"encoding/json"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
)

// Event is a stored event with its data decoded into the domain's event type.
type Event struct {
	eventstore.Event
	// Payload is the decoded (and upcast) data; nil for an event type this version of the
	// code does not know, which projectors skip (recording its version all the same).
	Payload domain.Event
}

// DecodeEvent upcasts e through reg (if not nil) and decodes its data. Errors are
// permanent: retrying cannot fix them.
func DecodeEvent(e eventstore.Event, reg *eventstore.Registry) (Event, error) {
	if reg != nil {
		up, err := reg.Upcast(e)
		if err != nil {
			return Event{}, Permanent(err)
		}
		e = up
	}
	out := Event{Event: e}
	payload, ok := domain.NewEvent(e.Type)
	if !ok {
		return out, nil
	}
	if err := json.Unmarshal(e.Data, payload); err != nil {
		return Event{}, Permanent(fmt.Errorf("decode %s event %s of stream %s: %w", e.Type, e.EventID, e.StreamID, err))
	}
	out.Payload = payload
	return out, nil
}

// decodeMessage decodes a message published by the relay.
func decodeMessage(msg *message.Message, reg *eventstore.Registry) (Event, error) {
	e, err := eventstore.DecodeEnvelope(msg.Payload)
	if err != nil {
		return Event{}, Permanent(err)
	}
	if e.StreamID == "" || e.StreamVersion < 1 {
		return Event{}, Permanent(fmt.Errorf("event %s: envelope without stream id or version", e.EventID))
	}
	return DecodeEvent(e, reg)
}
