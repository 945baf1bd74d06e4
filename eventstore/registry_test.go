package eventstore_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jobboard/jobboard/eventstore"
)

// jobPostedV3 is a JobPosted that grew twice: v1 {"title"}, v2 adds "currency",
// v3 renames "title" to "headline".
func jobPostedV3() eventstore.EventType {
	return eventstore.EventType{
		Name:          "JobPosted",
		SchemaVersion: 3,
		Upcasters: map[int]eventstore.Upcaster{
			1: func(data json.RawMessage) (json.RawMessage, error) {
				var m map[string]any
				if err := json.Unmarshal(data, &m); err != nil {
					return nil, err
				}
				m["currency"] = "EUR"
				return json.Marshal(m)
			},
			2: func(data json.RawMessage) (json.RawMessage, error) {
				var m map[string]any
				if err := json.Unmarshal(data, &m); err != nil {
					return nil, err
				}
				m["headline"] = m["title"]
				delete(m, "title")
				return json.Marshal(m)
			},
		},
	}
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	t.Run("refuses incomplete or duplicate registrations", func(t *testing.T) {
		r := eventstore.NewRegistry()
		err := r.Register(eventstore.EventType{Name: "", SchemaVersion: 3, Upcasters: map[int]eventstore.Upcaster{5: nil}})
		if err == nil || !strings.Contains(err.Error(), "v1 to v2") || !strings.Contains(err.Error(), "name is empty") {
			t.Fatalf("err = %v", err)
		}
		if err := r.Register(jobPostedV3()); err != nil {
			t.Fatal(err)
		}
		if err := r.Register(jobPostedV3()); err == nil {
			t.Fatal("registered twice")
		}
	})
	t.Run("upcasts step by step to the current version", func(t *testing.T) {
		r := eventstore.NewRegistry()
		r.MustRegister(jobPostedV3())
		got, err := r.Upcast(eventstore.Event{Type: "JobPosted", SchemaVersion: 1, Data: json.RawMessage(`{"title":"Go dev"}`)})
		if err != nil || got.SchemaVersion != 3 || string(got.Data) != `{"currency":"EUR","headline":"Go dev"}` {
			t.Fatalf("got %s v%d, err %v", got.Data, got.SchemaVersion, err)
		}
	})
	t.Run("leaves current, future and unknown events alone", func(t *testing.T) {
		r := eventstore.NewRegistry()
		r.MustRegister(jobPostedV3())
		for _, e := range []eventstore.Event{
			{Type: "JobPosted", SchemaVersion: 3, Data: json.RawMessage(`{"x":1}`)},
			{Type: "JobPosted", SchemaVersion: 4, Data: json.RawMessage(`{"x":1}`)},
			{Type: "Unknown", SchemaVersion: 1, Data: json.RawMessage(`{"x":1}`)},
		} {
			got, err := r.Upcast(e)
			if err != nil || string(got.Data) != `{"x":1}` || got.SchemaVersion != e.SchemaVersion {
				t.Fatalf("%s v%d: got %s v%d, err %v", e.Type, e.SchemaVersion, got.Data, got.SchemaVersion, err)
			}
		}
	})
	t.Run("reports a failing upcaster", func(t *testing.T) {
		r := eventstore.NewRegistry()
		r.MustRegister(jobPostedV3())
		_, err := r.Upcast(eventstore.Event{Type: "JobPosted", SchemaVersion: 1, Data: json.RawMessage(`[]`)})
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestStoreUpcastsOnReadWithoutRewriting(t *testing.T) {
	t.Parallel()
	r := eventstore.NewRegistry()
	r.MustRegister(jobPostedV3())
	s, pool := newStore(t, eventstore.StoreConfig{Registry: r})
	ctx := testContext(t, 30*time.Second)
	old := eventstore.EventData{Type: "JobPosted", SchemaVersion: 1, Data: json.RawMessage(`{"title":"Go dev"}`)}
	current := eventstore.EventData{Type: "JobPosted", Data: json.RawMessage(`{"headline":"Rust dev","currency":"CHF"}`)}
	mustAppend(t, s, "job-1", "job", eventstore.NoStream, old)
	mustAppend(t, s, "job-2", "job", eventstore.NoStream, current)

	loaded, err := s.LoadStream(ctx, "job-1", eventstore.LoadOptions{})
	if err != nil || loaded[0].SchemaVersion != 3 || string(loaded[0].Data) != `{"currency":"EUR","headline":"Go dev"}` {
		t.Fatalf("loaded %+v, err %v", loaded, err)
	}
	all := readEverything(t, s, pool)
	if all[0].SchemaVersion != 3 || all[1].SchemaVersion != 3 {
		t.Fatalf("read %+v", all)
	}
	var storedVersion int
	var storedData string
	if err := pool.QueryRow(ctx, `SELECT schema_version, data::text FROM events WHERE stream_id = 'job-1'`).Scan(&storedVersion, &storedData); err != nil {
		t.Fatal(err)
	}
	if storedVersion != 1 || storedData != `{"title": "Go dev"}` {
		t.Fatalf("stored row was rewritten: v%d %s", storedVersion, storedData)
	}
}
