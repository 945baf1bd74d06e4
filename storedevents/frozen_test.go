package storedevents_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"testing"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/storedevents"
)

// The frozen history: testdata/seed-history.ndjson.gz is `events export --format ndjson` of
// 900 events written by `seed` (seed 11, a mix with more plan changes, payment failures and
// token rotations so that every event type is there) with the code before storedevents
// existed (commit 58fa3d0 holds the generator); every third job.posted was rewritten into
// its v1 shape ("posted_at", schema version 1) as older code stored it.
// seed-history.decoded.gz is what that code decoded from each event ("%T %+v", after
// upcasting), seed-history.states.gz every stream folded into its aggregate
// (describeAggregate), both by that code (repository.Decode) from this very export. Never
// regenerate them: they are the history that must keep decoding.

// addedAfterFrozenHistory are the event types that did not exist when the frozen history
// was written: TestStoredShapes pins their shapes instead.
var addedAfterFrozenHistory = map[string]bool{
	domain.EventAlertCreated:           true,
	domain.EventAlertDeleted:           true,
	domain.EventCandidateEmailPrefsSet: true,
	domain.EventCompanyEmailPrefsSet:   true,
	domain.EventSignInLinkRequested:    true,
	domain.EventSignInLinkUsed:         true,
}

func readGz(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// canonical is data with its keys sorted and numbers as written, so that the jsonb order of
// the stored data and Go's order of an encoding compare equal when their content is.
func canonical(t *testing.T, data []byte) string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFrozenSeedHistoryDecodesUnchanged(t *testing.T) {
	t.Parallel()
	decoded := readGz(t, "testdata/seed-history.decoded.gz")
	states := readGz(t, "testdata/seed-history.states.gz")
	reg, err := storedevents.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}

	sc := bufio.NewScanner(bytes.NewReader(readGz(t, "testdata/seed-history.ndjson.gz")))
	sc.Buffer(nil, 1<<20)
	streams := map[string][]domain.Event{}
	streamTypes := map[string]string{}
	versions := map[string]bool{}
	n := 0
	for sc.Scan() {
		e, err := eventstore.DecodeEnvelope(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		n++
		versions[fmt.Sprintf("%s v%d", e.Type, e.SchemaVersion)] = true
		de, err := storedevents.Decode(e)
		if err != nil {
			t.Fatalf("event %d: %v", n, err)
		}
		// What the code before decoded, event by event.
		want := fmt.Sprintf("%s %T %+v\n", e.EventID, de, de)
		if !bytes.HasPrefix(decoded, []byte(want)) {
			end := bytes.IndexByte(decoded, '\n')
			t.Fatalf("event %d (%s %s) decodes as\n%s\nthe code before decoded\n%s", n, e.EventID, e.Type, want, decoded[:end+1])
		}
		decoded = decoded[len(want):]

		// Encoding it again writes what is stored (after upcasting, for the v1 events).
		up, err := reg.Upcast(e)
		if err != nil {
			t.Fatal(err)
		}
		ed, err := storedevents.Encode(de, e.Metadata)
		if err != nil {
			t.Fatalf("event %d: %v", n, err)
		}
		if ed.Type != up.Type || ed.SchemaVersion != up.SchemaVersion || canonical(t, ed.Data) != canonical(t, up.Data) {
			t.Fatalf("event %d (%s %s v%d) encodes again as %s v%d\n%s\nstored (upcast)\n%s", n, e.EventID, e.Type, e.SchemaVersion,
				ed.Type, ed.SchemaVersion, ed.Data, up.Data)
		}

		// Every reader gets the same event: the store's registry (which upcasts on read
		// and in the history's replays) and the projectors.
		if again, err := storedevents.Decode(up); err != nil || !reflect.DeepEqual(again, de) {
			t.Fatalf("event %d upcast by the store's registry decodes as %+v, %v", n, again, err)
		}
		if pe, err := projections.DecodeEvent(e); err != nil || !reflect.DeepEqual(pe.Payload, de) {
			t.Fatalf("event %d: the projectors decode %+v, %v", n, pe.Payload, err)
		}
		streams[e.StreamID] = append(streams[e.StreamID], de)
		streamTypes[e.StreamID] = e.StreamType
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 900 || len(decoded) != 0 {
		t.Fatalf("%d events read, %d bytes of decoded events left", n, len(decoded))
	}
	for _, name := range domain.EventTypes() {
		if addedAfterFrozenHistory[name] {
			continue
		}
		if !versions[name+" v1"] && !versions[name+" v2"] {
			t.Errorf("the frozen history has no %s", name)
		}
	}
	if !versions[domain.EventJobPosted+" v1"] || !versions[domain.EventJobPosted+" v2"] {
		t.Errorf("the frozen history lacks a version of job.posted: %v", versions)
	}

	// The folded aggregates are what the code before folded.
	ids := make([]string, 0, len(streams))
	for id := range streams {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		got, err := describeAggregate(streamTypes[id], id, streams[id])
		if err != nil {
			t.Fatal(err)
		}
		got += "\n"
		if !bytes.HasPrefix(states, []byte(got)) {
			end := bytes.IndexByte(states, '\n')
			t.Fatalf("stream %s folds into\n%s\nthe code before folded\n%s", id, got, states[:end+1])
		}
		states = states[len(got):]
	}
	if len(states) != 0 {
		t.Fatalf("%d bytes of states left", len(states))
	}
}
