package history_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/history"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/seed"
	"github.com/jobboard/jobboard/storedevents"
)

// newStore opens a fresh database and a store that reads rows as stored (no registry).
func newStore(tb testing.TB) (*pgxpool.Pool, *eventstore.Store) {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), testenv.NewDatabase(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	store, err := eventstore.NewStore(pool, eventstore.StoreConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	return pool, store
}

// seeded fills a fresh database with n synthetic events.
func seeded(tb testing.TB, n int) (*pgxpool.Pool, *eventstore.Store) {
	tb.Helper()
	pool, store := newStore(tb)
	reg, err := storedevents.NewRegistry()
	if err != nil {
		tb.Fatal(err)
	}
	writeStore, err := eventstore.NewStore(pool, eventstore.StoreConfig{Registry: reg})
	if err != nil {
		tb.Fatal(err)
	}
	s, err := seed.NewSeeder(pool, writeStore, seed.Config{Events: n, Seed: 3, End: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), BatchEvents: 300})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := s.Run(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return pool, store
}

// readAll pages through the n events of the store in commit-safe order, waiting while
// transactions of parallel tests hold the commit-safe horizon back.
func readAll(t *testing.T, store *eventstore.Store, n int) []eventstore.Event {
	t.Helper()
	var all []eventstore.Event
	after := eventstore.Start
	deadline := time.Now().Add(30 * time.Second)
	for len(all) < n && time.Now().Before(deadline) {
		page, err := store.ReadAll(context.Background(), after, eventstore.MaxReadLimit, eventstore.ReadFilter{})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) > 0 {
			after = page[len(page)-1].Position()
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return all
}

func export(t *testing.T, store history.Source, cfg history.ExporterConfig) ([]eventstore.Event, history.Result, []byte) {
	t.Helper()
	x, err := history.NewExporter(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	res, err := x.Export(context.Background(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	format := cfg.Format
	if format == "" {
		format = history.FormatNDJSON
	}
	dec, err := history.NewDecoder(bytes.NewReader(buf.Bytes()), format)
	if err != nil {
		t.Fatal(err)
	}
	var got []eventstore.Event
	for {
		e, err := dec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	return got, res, buf.Bytes()
}

// sameEvents compares every field; data is compared as JSON (jsonb's text has spaces).
func sameEvents(t *testing.T, got, want []eventstore.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		var gd, wd any
		if err := json.Unmarshal(g.Data, &gd); err != nil {
			t.Fatalf("event %d: data: %v", i, err)
		}
		_ = json.Unmarshal(w.Data, &wd)
		if !reflect.DeepEqual(gd, wd) {
			t.Fatalf("event %d: data %s, want %s", i, g.Data, w.Data)
		}
		if !g.RecordedAt.Equal(w.RecordedAt) {
			t.Fatalf("event %d: recorded_at %s, want %s", i, g.RecordedAt, w.RecordedAt)
		}
		g.Data, w.Data, g.RecordedAt, w.RecordedAt = nil, nil, time.Time{}, time.Time{}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("event %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func where(all []eventstore.Event, keep func(int, eventstore.Event) bool) []eventstore.Event {
	var out []eventstore.Event
	for i, e := range all {
		if keep(i, e) {
			out = append(out, e)
		}
	}
	return out
}

func TestExportRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, store := seeded(t, 4000)
	all := readAll(t, store, 4000)
	if len(all) != 4000 {
		t.Fatalf("seeded %d events", len(all))
	}
	catalog, err := history.NewCatalog(pool)
	if err != nil {
		t.Fatal(err)
	}
	byTime := slices.Clone(all)
	slices.SortFunc(byTime, func(a, b eventstore.Event) int { return a.RecordedAt.Compare(b.RecordedAt) })
	since, until := byTime[1000].RecordedAt, byTime[3000].RecordedAt
	var jobID string
	for _, e := range all {
		if e.Type == domain.EventJobPublished {
			jobID = e.StreamID
		}
	}
	afterIndex := 1234
	cases := []struct {
		name   string
		filter eventstore.ReadFilter
		after  eventstore.Position
		want   []eventstore.Event
	}{
		{"every event", eventstore.ReadFilter{}, eventstore.Start, all},
		{"since and until", eventstore.ReadFilter{Since: since, Until: until}, eventstore.Start,
			where(all, func(_ int, e eventstore.Event) bool { return !e.RecordedAt.Before(since) && e.RecordedAt.Before(until) })},
		{"types", eventstore.ReadFilter{Types: []string{domain.EventJobPublished, domain.EventApplicationWithdrawn}}, eventstore.Start,
			where(all, func(_ int, e eventstore.Event) bool {
				return e.Type == domain.EventJobPublished || e.Type == domain.EventApplicationWithdrawn
			})},
		{"one stream", eventstore.ReadFilter{StreamID: jobID}, eventstore.Start,
			where(all, func(_ int, e eventstore.Event) bool { return e.StreamID == jobID })},
		{"stream type", eventstore.ReadFilter{StreamType: domain.StreamTypeApplication}, eventstore.Start,
			where(all, func(_ int, e eventstore.Event) bool { return e.StreamType == domain.StreamTypeApplication })},
		{"after a position", eventstore.ReadFilter{}, all[afterIndex].Position(),
			where(all, func(i int, _ eventstore.Event) bool { return i > afterIndex })},
	}
	for _, c := range cases {
		for _, f := range []history.Format{history.FormatNDJSON, history.FormatCSV} {
			t.Run(fmt.Sprintf("%s as %s", c.name, f), func(t *testing.T) {
				if len(c.want) == 0 {
					t.Fatal("the case selects nothing")
				}
				got, res, _ := export(t, store, history.ExporterConfig{Format: f, Filter: c.filter, After: c.after, BatchSize: 333, Index: catalog})
				sameEvents(t, got, c.want)
				if res.Events != int64(len(c.want)) || res.Last != c.want[len(c.want)-1].Position() {
					t.Fatalf("result %+v", res)
				}
				n, err := catalog.Count(ctx, c.after, c.filter)
				if err != nil || n != int64(len(c.want)) {
					t.Fatalf("count = %d, %v; want %d", n, err, len(c.want))
				}
			})
		}
	}

	t.Run("after position resolves from a global position", func(t *testing.T) {
		p, err := store.PositionOf(ctx, all[afterIndex].GlobalPosition)
		if err != nil || p != all[afterIndex].Position() {
			t.Fatalf("position = %v, %v", p, err)
		}
	})

	t.Run("limit stops early and reports progress", func(t *testing.T) {
		var calls []history.Progress
		got, res, _ := export(t, store, history.ExporterConfig{BatchSize: 100, Limit: 250, Index: catalog,
			Progress: func(p history.Progress) { calls = append(calls, p) }})
		sameEvents(t, got, all[:250])
		last := calls[len(calls)-1]
		if res.Events != 250 || !last.Final || last.Done != 250 || last.Total != 250 || len(calls) != 4 {
			t.Fatalf("result %+v, progress %+v", res, calls)
		}
	})

	t.Run("csv starts with its header even when nothing matches", func(t *testing.T) {
		_, res, out := export(t, store, history.ExporterConfig{Format: history.FormatCSV, Filter: eventstore.ReadFilter{StreamID: "none"}, Index: catalog})
		if res.Events != 0 || string(out) != "global_position,stream_id,stream_type,version,type,schema_version,recorded_at,data,metadata,event_id,transaction_id\n" {
			t.Fatalf("output %q", out)
		}
	})
}

func TestReplayUpcastsExportDoesNot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, store := newStore(t)
	catalog, _ := history.NewCatalog(pool)
	if _, err := store.Append(ctx, "legacy-1", "legacy", eventstore.NoStream, []eventstore.EventData{
		{Type: "legacy.happened", SchemaVersion: 1, Data: json.RawMessage(`{"name":"a"}`)},
	}); err != nil {
		t.Fatal(err)
	}
	reg := eventstore.NewRegistry()
	reg.MustRegister(eventstore.EventType{Name: "legacy.happened", SchemaVersion: 2, Upcasters: map[int]eventstore.Upcaster{
		1: func(d json.RawMessage) (json.RawMessage, error) {
			var m map[string]any
			if err := json.Unmarshal(d, &m); err != nil {
				return nil, err
			}
			m["upcast"] = true
			return json.Marshal(m)
		},
	}})
	exported, _, _ := export(t, store, history.ExporterConfig{Index: catalog})
	replayed, _, _ := export(t, store, history.ExporterConfig{Upcast: reg, Index: catalog})
	if exported[0].SchemaVersion != 1 || bytes.Contains(exported[0].Data, []byte("upcast")) {
		t.Fatalf("export changed the stored row: %+v", exported[0])
	}
	if replayed[0].SchemaVersion != 2 || !bytes.Contains(replayed[0].Data, []byte(`"upcast":true`)) {
		t.Fatalf("replay did not upcast: v%d %s", replayed[0].SchemaVersion, replayed[0].Data)
	}
}

// boundedSource checks the exporter's streaming: it never asks for more than a batch, and
// it has written everything it read before it reads again.
type boundedSource struct {
	t       *testing.T
	src     history.Source
	out     *lineCounter
	batch   int
	read    int
	maxHeld int
}

func (b *boundedSource) ReadAll(ctx context.Context, after eventstore.Position, limit int, f eventstore.ReadFilter) ([]eventstore.Event, error) {
	if limit > b.batch {
		b.t.Errorf("asked for %d events, batch size is %d", limit, b.batch)
	}
	if held := b.read - b.out.lines; held != 0 {
		b.t.Errorf("reading again while %d events read are not written yet", held)
	}
	events, err := b.src.ReadAll(ctx, after, limit, f)
	b.read += len(events)
	b.maxHeld = max(b.maxHeld, len(events))
	return events, err
}

type lineCounter struct {
	lines   int
	bytes   int
	maxPart int
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.lines += bytes.Count(p, []byte{'\n'})
	c.bytes += len(p)
	c.maxPart = max(c.maxPart, len(p))
	return len(p), nil
}

func TestExportMemoryStaysBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, store := newStore(t)
	const n, batch = 50000, 500
	// Many plain events, written in one statement: this test is about the exporter.
	if _, err := pool.Exec(ctx, `INSERT INTO events (stream_id, stream_type, stream_version, event_id, event_type, data, metadata)
		SELECT 's-' || (g / 10), 'bulk', g % 10 + 1, gen_random_uuid(), 'bulk.happened',
		       jsonb_build_object('n', g, 'text', repeat('x', 200)), '{"actor":"test"}'
		FROM generate_series(0, $1 - 1) AS g`, n); err != nil {
		t.Fatal(err)
	}
	out := &lineCounter{}
	src := &boundedSource{t: t, src: store, out: out, batch: batch}
	catalog, _ := history.NewCatalog(pool)
	x, err := history.NewExporter(src, history.ExporterConfig{BatchSize: batch, Index: catalog})
	if err != nil {
		t.Fatal(err)
	}
	res, err := x.Export(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != n || out.lines != n || src.read != n {
		t.Fatalf("exported %d, wrote %d lines, read %d; want %d", res.Events, out.lines, src.read, n)
	}
	if src.maxHeld > batch {
		t.Fatalf("held %d events at once, batch size %d", src.maxHeld, batch)
	}
	// The output buffer is a fixed 64 KiB whatever the history: no write carries more.
	if out.maxPart > 64<<10+4096 {
		t.Fatalf("a single write of %d bytes: the output is buffered beyond a batch", out.maxPart)
	}
}

func TestTailFollowsEventsAppendedAfterItStarted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, store := newStore(t)
	appendOne := func(stream, typ string) {
		t.Helper()
		if _, err := store.Append(ctx, stream, "test", eventstore.Any, []eventstore.EventData{
			{Type: typ, Data: json.RawMessage(`{"at":"` + time.Now().Format(time.RFC3339Nano) + `"}`)},
		}); err != nil {
			t.Fatal(err)
		}
	}
	appendOne("before", "test.old")
	catalog, _ := history.NewCatalog(pool)
	head, err := catalog.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, w := io.Pipe()
	tailCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- history.Tail(tailCtx, store, w, history.TailConfig{
			After: head, Filter: eventstore.ReadFilter{Types: []string{"test.new"}}, PollInterval: 200 * time.Millisecond,
		})
		_ = w.Close()
	}()
	appendOne("s1", "test.skipped")
	for i := range 3 {
		appendOne(fmt.Sprintf("s%d", i), "test.new")
	}
	lines := bufio.NewScanner(r)
	for i := range 3 {
		if !lines.Scan() {
			t.Fatalf("tail ended after %d events: %v", i, lines.Err())
		}
		e, err := eventstore.DecodeEnvelope(lines.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if e.Type != "test.new" || e.StreamID != fmt.Sprintf("s%d", i) {
			t.Fatalf("event %d: %s on %s", i, e.Type, e.StreamID)
		}
	}
	stop()
	go func() { _, _ = io.Copy(io.Discard, r) }()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("tail returned %v, want context.Canceled", err)
	}
}

func TestExporterConfigValidate(t *testing.T) {
	t.Parallel()
	_, err := history.NewExporter(nil, history.ExporterConfig{})
	if err == nil {
		t.Fatal("nil source accepted")
	}
	now := time.Now()
	err = history.ExporterConfig{Format: "xml", BatchSize: eventstore.MaxReadLimit + 1, Limit: -1,
		Filter: eventstore.ReadFilter{Since: now, Until: now.Add(-time.Hour)}}.Validate()
	for _, want := range []string{"xml", "batch size", "limit", "since"} {
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}
