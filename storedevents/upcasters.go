package storedevents

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Upcasters turn the stored data of an old schema version of an event into the next
// version's shape. They are pure functions of the JSON (Decode applies them, and so does the
// event store's registry from NewRegistry; stored events are never rewritten), work on the
// JSON itself so that fields they do not know are kept, and must accept every shape ever
// stored under that version. Each is listed with its event's codec in codec.go.

// UpcastJobPostedV1 turns job.posted v1 data into v2: "posted_at" is renamed "drafted_at".
// Every other field is kept as stored.
func UpcastJobPostedV1(data json.RawMessage) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("job.posted v1: %w", err)
	}
	if fields == nil {
		return nil, errors.New("job.posted v1: data is not an object")
	}
	if at, ok := fields["posted_at"]; ok {
		if _, both := fields["drafted_at"]; !both {
			fields["drafted_at"] = at
		}
		delete(fields, "posted_at")
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("job.posted v1: %w", err)
	}
	return out, nil
}
