package projections

import (
	"fmt"
	"strconv"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/jobboard/jobboard/bus"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/storedevents"
)

// Event is a stored event with its data decoded into the domain's event type.
type Event struct {
	// Event is the stored event; its Data may be nil (a live event decoded in one pass):
	// read Payload.
	eventstore.Event
	// Payload is the decoded (and upcast) data; nil for an event type this version of the
	// code does not know, which projectors skip (recording its version all the same).
	Payload domain.Event
}

// DecodeEvent decodes e with storedevents' codec (which upcasts it first), the one codec of
// the write side, the history and the rebuilds. Errors are permanent: retrying cannot fix
// them.
func DecodeEvent(e eventstore.Event) (Event, error) {
	out := Event{Event: e}
	if !storedevents.Known(e.Type) {
		return out, nil
	}
	payload, err := storedevents.Decode(e)
	if err != nil {
		return Event{}, Permanent(fmt.Errorf("%s event of stream %s: %w", e.Type, e.StreamID, err))
	}
	out.Payload = payload
	return out, nil
}

// decodeMessage decodes a message published by the relay: in one pass when its headers name
// an event type at its current schema version (the event's Data is then nil), else the
// envelope and then its payload.
func decodeMessage(msg *message.Message) (Event, error) {
	if v, err := strconv.Atoi(msg.Metadata.Get(bus.MetadataSchemaVersion)); err == nil {
		e, payload, ok := storedevents.DecodeEnvelope(msg.Payload, msg.Metadata.Get(bus.MetadataEventType), v)
		if ok && e.StreamID != "" && e.StreamVersion >= 1 {
			return Event{Event: e, Payload: payload}, nil
		}
	}
	e, err := eventstore.DecodeEnvelope(msg.Payload)
	if err != nil {
		return Event{}, Permanent(err)
	}
	if e.StreamID == "" || e.StreamVersion < 1 {
		return Event{}, Permanent(fmt.Errorf("event %s: envelope without stream id or version", e.EventID))
	}
	return DecodeEvent(e)
}
