package storedevents_test

import (
	"bufio"
	"bytes"
	"reflect"
	"testing"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/storedevents"
)

// Every event of the frozen history decodes in one pass (at its type's current version) to
// what the envelope and then the payload decode to; an older version, a type or version the
// headers get wrong, and a malformed payload are left to the two steps.
func TestDecodeEnvelopeInOnePassEqualsTwoSteps(t *testing.T) {
	t.Parallel()
	sc := bufio.NewScanner(bytes.NewReader(readGz(t, "testdata/seed-history.ndjson.gz")))
	sc.Buffer(nil, 1<<20)
	onePass, older := 0, 0
	for sc.Scan() {
		line := sc.Bytes()
		e, err := eventstore.DecodeEnvelope(line)
		if err != nil {
			t.Fatal(err)
		}
		want, err := storedevents.Decode(e)
		if err != nil {
			t.Fatal(err)
		}
		got, payload, ok := storedevents.DecodeEnvelope(line, e.Type, e.SchemaVersion)
		if want.SchemaVersion() != e.SchemaVersion {
			// Stored at an older version: it needs its upcasters.
			older++
			if ok {
				t.Fatalf("event %s stored as %s v%d decoded in one pass", e.EventID, e.Type, e.SchemaVersion)
			}
			continue
		}
		if !ok {
			t.Fatalf("event %s (%s v%d) not decoded in one pass", e.EventID, e.Type, e.SchemaVersion)
		}
		onePass++
		if !reflect.DeepEqual(payload, want) {
			t.Fatalf("event %s: payload %+v, two steps decode %+v", e.EventID, payload, want)
		}
		e.Data = nil
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("event %s: %+v, two steps decode %+v", e.EventID, got, e)
		}
		if _, _, ok := storedevents.DecodeEnvelope(line, domain.EventCompanyRegistered+"x", e.SchemaVersion); ok {
			t.Fatal("an unknown type in the headers decoded")
		}
		other := domain.EventCompanyRegistered
		if e.Type == other {
			other = domain.EventCandidateRegistered
		}
		if _, _, ok := storedevents.DecodeEnvelope(line, other, 1); ok {
			t.Fatalf("event %s (%s) decoded as the %s the headers name", e.EventID, e.Type, other)
		}
	}
	if onePass == 0 || older == 0 {
		t.Fatalf("%d events in one pass, %d older ones: the history has both", onePass, older)
	}
	malformed := []byte(`{"stream_id":"j","stream_version":1,"event_type":"job.posted","schema_version":2,"data":{"details":{"employment_type":"astronaut"}}}`)
	if _, _, ok := storedevents.DecodeEnvelope(malformed, domain.EventJobPosted, 2); ok {
		t.Fatal("a malformed payload decoded in one pass")
	}
}
