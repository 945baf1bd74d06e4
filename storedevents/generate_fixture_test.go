package storedevents_test

// TestGenerateFixture wrote testdata/ with the code of main at fb184ea (GEN_FIXTURE=1); it
// goes with the next commit, whose codec replaces the functions it calls.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/history"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/repository"
	"github.com/jobboard/jobboard/seed"
)

func TestGenerateFixture(t *testing.T) {
	if os.Getenv("GEN_FIXTURE") == "" {
		t.Skip()
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	reg, err := repository.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.NewStore(pool, eventstore.StoreConfig{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	s, err := seed.NewSeeder(pool, store, seed.Config{Mix: mix(), Events: 900, Seed: 11, End: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Span: 120 * 24 * time.Hour, Writers: 1, BatchEvents: 500})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res.Counts)
	x, err := history.NewExporter(store, history.ExporterConfig{Format: history.FormatNDJSON})
	if err != nil {
		t.Fatal(err)
	}
	var export bytes.Buffer
	if _, err := x.Export(ctx, &export); err != nil {
		t.Fatal(err)
	}
	export = downgrade(t, export)
	if err := os.WriteFile("testdata/seed-history.ndjson", export.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// old code's decoding of every event
	var decoded bytes.Buffer
	streams := map[string][]domain.Event{}
	streamTypes := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(export.Bytes()))
	sc.Buffer(nil, 1<<20)
	posted := 0
	for sc.Scan() {
		e, err := eventstore.DecodeEnvelope(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		up, err := reg.Upcast(e)
		if err != nil {
			t.Fatal(err)
		}
		de, err := repository.Decode(up)
		if err != nil {
			t.Fatal(err)
		}
		pe, err := projections.DecodeEvent(e, reg)
		if err != nil || !reflect.DeepEqual(pe.Payload, de) {
			t.Fatalf("projections disagree: %v", err)
		}
		if e.Type == domain.EventJobPosted {
			posted++
		}
		fmt.Fprintf(&decoded, "%s %T %+v\n", e.EventID, de, de)
		streams[e.StreamID] = append(streams[e.StreamID], de)
		streamTypes[e.StreamID] = e.StreamType
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/seed-history.decoded", decoded.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(streams))
	for id := range streams {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var states bytes.Buffer
	for _, id := range ids {
		d, err := describeAggregate(streamTypes[id], id, streams[id])
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&states, d)
	}
	if err := os.WriteFile("testdata/seed-history.states", states.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// golden encodings of the fixed events
	var golden bytes.Buffer
	for _, e := range fixedEvents(t) {
		ed, err := repository.Encode(e, eventstore.Metadata{})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&golden, "%s v%d %s\n", ed.Type, ed.SchemaVersion, ed.Data)
		var back json.RawMessage = ed.Data
		_ = back
	}
	if err := os.WriteFile("testdata/encoded.golden", golden.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("job.posted: %d", posted)
}

func mix() *seed.Mix {
	m := seed.DefaultMix()
	m.PlanChangeShare, m.PaymentFailureShare, m.TokenRotationShare, m.DetailsChangeShare = 0.3, 0.25, 0.3, 0.4
	return &m
}

// downgrade rewrites every third job.posted as the v1 shape ("posted_at") older code stored.
func downgrade(t *testing.T, in bytes.Buffer) bytes.Buffer {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	sc := bufio.NewScanner(bytes.NewReader(in.Bytes()))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		e, err := eventstore.DecodeEnvelope(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == domain.EventJobPosted {
			if n%3 == 0 {
				var f map[string]json.RawMessage
				if err := json.Unmarshal(e.Data, &f); err != nil {
					t.Fatal(err)
				}
				f["posted_at"] = f["drafted_at"]
				delete(f, "drafted_at")
				if e.Data, err = json.Marshal(f); err != nil {
					t.Fatal(err)
				}
				e.SchemaVersion = 1
			}
			n++
		}
		e.RecordedAt = e.RecordedAt.UTC()
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
