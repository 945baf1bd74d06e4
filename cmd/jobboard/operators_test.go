package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/projections/projectionstest"
	"github.com/jobboard/jobboard/readmodels"
	"github.com/jobboard/jobboard/storedevents"
)

// cli runs the jobboard command in-process against one test database and one index prefix.
type cli struct {
	flags []string
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (c cli) start(ctx context.Context, args ...string) (stdout, stderr *syncBuffer, wait func() error) {
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	root := newRootCommand()
	root.SetArgs(append(append([]string{}, c.flags...), args...))
	root.SetOut(stdout)
	root.SetErr(stderr)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	return stdout, stderr, func() error { return <-done }
}

func (c cli) run(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	out, errOut, wait := c.start(context.Background(), args...)
	if err := wait(); err != nil {
		t.Fatalf("jobboard %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errOut)
	}
	return out.String(), errOut.String()
}

// TestOperatorAndAnalystCommands drives the operators' and analysts' commands as a person
// would type them, against the real PostgreSQL and Elasticsearch: seed a history, read the
// projections' status, rebuild both projections with progress on stderr, inspect and
// re-drive a dead letter, export, replay and tail the history.
func TestOperatorAndAnalystCommands(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.NewDatabase(t)
	esURL := testenv.ElasticsearchURL(t)
	prefix := "test-cli-" + testenv.RandomSuffix() + "-"
	c := cli{flags: []string{"--database-url", dsn, "--elasticsearch-url", esURL, "--elasticsearch-index-prefix", prefix, "--log-level", "error"}}

	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{esURL}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for v := 1; v <= 3; v++ {
			_ = readmodels.DeleteIndex(context.Background(), es, fmt.Sprintf("%sjobs-v%d", prefix, v))
		}
	})
	// Version 1 of the search projection lives on this test's index, as `serve` would set it up.
	if err := readmodels.EnsureSearchIndex(ctx, es, prefix+"jobs-v1", prefix+"jobs", readmodels.IndexSettings{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE projection_versions SET es_index = $1 WHERE projection = $2`,
		prefix+"jobs-v1", readmodels.JobSearchProjection); err != nil {
		t.Fatal(err)
	}

	out, _ := c.run(t, "seed", "--events", "3000", "--seed", "7", "--progress", "off")
	if !strings.HasPrefix(out, "seeded 3000 events") || !strings.Contains(out, "job.published") {
		t.Fatalf("seed printed:\n%s", out)
	}
	var events, published int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE event_type = 'job.published') FROM events`).Scan(&events, &published); err != nil {
		t.Fatal(err)
	}
	if events != 3000 || published == 0 {
		t.Fatalf("the store holds %d events, %d job.published", events, published)
	}

	statusOf := func() map[string]projections.ProjectionStatus {
		t.Helper()
		out, _ := c.run(t, "projections", "status", "--json")
		var all []projections.ProjectionStatus
		if err := json.Unmarshal([]byte(out), &all); err != nil {
			t.Fatalf("status --json: %v\n%s", err, out)
		}
		m := map[string]projections.ProjectionStatus{}
		for _, s := range all {
			m[s.Name] = s
		}
		return m
	}

	t.Run("status shows what the live versions have not applied", func(t *testing.T) {
		out, _ := c.run(t, "projections", "status")
		if !regexp.MustCompile(`(?m)^ReadTablesProjector\s+1\s+live\s+3000\s`).MatchString(out) {
			t.Fatalf("status table:\n%s", out)
		}
		if s := statusOf()[readmodels.JobSearchProjection]; s.Version != 1 || s.LagEvents != 3000 || s.DeadLetters != 0 {
			t.Fatalf("search status = %+v", s)
		}
	})

	t.Run("rebuild builds version 2 beside version 1 and reports progress", func(t *testing.T) {
		for _, p := range []string{readmodels.ReadTablesProjection, readmodels.JobSearchProjection, readmodels.AlertsProjection} {
			out, errOut := c.run(t, "projections", "rebuild", p, "--batch", "500")
			if !strings.Contains(out, p+": version 2 is live (3000 events in") {
				t.Fatalf("rebuild %s printed:\n%s", p, out)
			}
			// Not a terminal: a progress line every 2 s and a last one when done.
			last := regexp.MustCompile(p + ` v2 done: 3000/3000 events, [0-9]+ events/s, ETA 0s`)
			if !last.MatchString(errOut) {
				t.Fatalf("rebuild %s progress on stderr:\n%s", p, errOut)
			}
		}
		for name, s := range statusOf() {
			if s.Version != 2 || s.State != projections.StateLive || s.LagEvents != 0 {
				t.Fatalf("%s after the rebuild = %+v", name, s)
			}
		}
		var jobs int64
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM rm_v2.jobs WHERE status = 'published'`).Scan(&jobs); err != nil {
			t.Fatal(err)
		}
		idx, err := readmodels.AliasIndices(ctx, es, prefix+"jobs")
		if err != nil || len(idx) != 1 || idx[0] != prefix+"jobs-v2" {
			t.Fatalf("alias on %v (%v)", idx, err)
		}
		if n := countDocs(t, es, prefix+"jobs", `{"query":{"term":{"status":"published"}}}`); jobs == 0 || n != jobs {
			t.Fatalf("search has %d published jobs, the read tables %d", n, jobs)
		}
	})

	t.Run("an unknown projection is refused naming the known ones", func(t *testing.T) {
		_, errOut, wait := c.start(ctx, "projections", "rebuild", "jobs")
		err := wait()
		if err == nil || !strings.Contains(err.Error(), readmodels.JobSearchProjection) || !strings.Contains(err.Error(), readmodels.ReadTablesProjection) {
			t.Fatalf("rebuild jobs: %v\n%s", err, errOut)
		}
	})

	t.Run("prune drops the retired versions", func(t *testing.T) {
		out, _ := c.run(t, "projections", "prune")
		for _, want := range []string{"dropped ReadTablesProjector version 1 (rm_v1 )", "dropped JobSearchProjector version 1 (search_v1 " + prefix + "jobs-v1)"} {
			if !strings.Contains(out, want) {
				t.Fatalf("prune printed:\n%s\nwant %q", out, want)
			}
		}
		if ok, err := readmodels.IndexExists(ctx, es, prefix+"jobs-v1"); err != nil || ok {
			t.Fatalf("index v1 after prune: exists %v, %v", ok, err)
		}
	})

	t.Run("dlq lists, shows and replays a dead letter", func(t *testing.T) {
		reg, err := storedevents.NewRegistry()
		if err != nil {
			t.Fatal(err)
		}
		store, err := eventstore.NewStore(pool, eventstore.StoreConfig{Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		evs, err := store.ReadAll(ctx, eventstore.Start, 1, eventstore.ReadFilter{Types: []string{"company.registered"}})
		if err != nil || len(evs) != 1 {
			t.Fatalf("read a company.registered: %v, %v", evs, err)
		}
		dl, err := projections.NewDeadLetters(pool)
		if err != nil {
			t.Fatal(err)
		}
		msg := projectionstest.Message(t, evs[0])
		msg.Metadata.Set(middleware.ReasonForPoisonedKey, "search engine said no")
		if err := dl.Record(ctx, readmodels.JobSearchProjection, msg); err != nil {
			t.Fatal(err)
		}
		if s := statusOf()[readmodels.JobSearchProjection]; s.DeadLetters != 1 || s.LastError != "search engine said no" {
			t.Fatalf("status with a dead letter = %+v", s)
		}
		out, _ := c.run(t, "projections", "dlq", "list", readmodels.JobSearchProjection)
		m := regexp.MustCompile(`(?m)^(\d+)\s+\S+\s+company\.registered\s+` + regexp.QuoteMeta(evs[0].StreamID) + `\s.*search engine said no$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("dlq list:\n%s", out)
		}
		out, _ = c.run(t, "projections", "dlq", "show", readmodels.JobSearchProjection, m[1])
		var letter projections.DeadLetter
		if err := json.Unmarshal([]byte(out), &letter); err != nil || letter.StreamID != evs[0].StreamID || letter.Reason != "search engine said no" {
			t.Fatalf("dlq show: %+v, %v\n%s", letter, err, out)
		}
		if out, _ = c.run(t, "projections", "dlq", "replay", readmodels.JobSearchProjection); out != "replayed 1, failed 0\n" {
			t.Fatalf("dlq replay printed %q", out)
		}
		if s := statusOf()[readmodels.JobSearchProjection]; s.DeadLetters != 0 || s.LastError != "" {
			t.Fatalf("status after the replay = %+v", s)
		}
	})

	t.Run("export writes every event as stored, in commit-safe order", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "history.csv")
		_, errOut := c.run(t, "events", "export", "--format", "csv", "--out", file, "--batch-size", "700", "--progress", "lines")
		if !regexp.MustCompile(`export: 3000/3000 events \(100\.0%\), [0-9]+ events/s, done in`).MatchString(errOut) {
			t.Fatalf("export progress:\n%s", errOut)
		}
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3001 || rows[0][0] != "global_position" {
			t.Fatalf("%d rows, header %v", len(rows), rows[0])
		}
		if _, err := os.Stat(file + ".partial"); !os.IsNotExist(err) {
			t.Fatalf("the .partial file is left: %v", err)
		}
	})

	t.Run("replay filters by type and stream", func(t *testing.T) {
		var stream string
		if err := pool.QueryRow(ctx, `SELECT stream_id FROM events WHERE event_type = 'job.published' LIMIT 1`).Scan(&stream); err != nil {
			t.Fatal(err)
		}
		out, _ := c.run(t, "events", "replay", "--type", "job.posted,job.published", "--stream", stream, "--progress", "off")
		var types []string
		sc := bufio.NewScanner(strings.NewReader(out))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e struct {
				StreamID  string `json:"stream_id"`
				EventType string `json:"event_type"`
			}
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.StreamID != stream {
				t.Fatalf("line %s: %v", sc.Text(), err)
			}
			types = append(types, e.EventType)
		}
		if len(types) < 2 || types[0] != "job.posted" || !slices.Contains(types, "job.published") ||
			slices.ContainsFunc(types, func(s string) bool { return s != "job.posted" && s != "job.published" }) {
			t.Fatalf("replayed %v", types)
		}
	})

	t.Run("tail prints events committed after it started", func(t *testing.T) {
		tctx, cancel := context.WithCancel(ctx)
		defer cancel()
		out, errOut, wait := c.start(tctx, "events", "tail", "--type", "company.registered")
		time.Sleep(500 * time.Millisecond) // tail reads the head before the new events
		c.run(t, "seed", "--events", "200", "--seed", "8", "--progress", "off")
		var want int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE event_type = 'company.registered'
			AND global_position > 3000`).Scan(&want); err != nil || want == 0 {
			t.Fatalf("the second seed registered %d companies (%v)", want, err)
		}
		projectionstest.WaitUntil(t, 30*time.Second, "tail prints the new companies", func() bool {
			return strings.Count(out.String(), "\n") >= want
		})
		cancel()
		if err := wait(); err != nil {
			t.Fatalf("tail: %v\n%s", err, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != want {
			t.Fatalf("tail printed %d lines, want %d", len(lines), want)
		}
		for _, l := range lines {
			if !strings.Contains(l, `"event_type":"company.registered"`) {
				t.Fatalf("tail printed %s", l)
			}
		}
	})
}

func countDocs(t *testing.T, es *elasticsearch.Client, index, query string) int64 {
	t.Helper()
	res, err := es.Count(es.Count.WithIndex(index), es.Count.WithBody(strings.NewReader(query)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Count int64 `json:"count"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.IsError() {
		t.Fatalf("count %s: %s %v", index, res.Status(), err)
	}
	return body.Count
}
