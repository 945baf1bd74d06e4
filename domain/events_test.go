package domain

import (
	"strings"
	"testing"
)

func TestEventRegistry(t *testing.T) {
	t.Parallel()
	types := EventTypes()
	if len(types) != 23 {
		t.Fatalf("%d event types: %q", len(types), types)
	}
	for _, name := range types {
		e, ok := NewEvent(name)
		if !ok || e.EventType() != name || e.SchemaVersion() < 1 {
			t.Errorf("NewEvent(%q) = %#v, %v", name, e, ok)
			continue
		}
		st, ok := StreamTypeOf(name)
		if !ok || !strings.HasPrefix(name, st+".") {
			t.Errorf("StreamTypeOf(%q) = %q", name, st)
		}
		if again, _ := NewEvent(name); again == e {
			t.Errorf("NewEvent(%q) shares its value", name)
		}
	}
	if _, ok := NewEvent("job.updated"); ok {
		t.Error("unknown type known")
	}
}

func TestApplicationKey(t *testing.T) {
	t.Parallel()
	key := ApplicationKey(testJobID, testCandidateID)
	if key != ApplicationKey(testJobID, testCandidateID) {
		t.Fatal("not deterministic")
	}
	for _, other := range []string{
		ApplicationKey(testJobID, otherCandidate),
		ApplicationKey(testCandidateID, testJobID),
	} {
		if other == key {
			t.Fatalf("collision: %s", other)
		}
	}
}
