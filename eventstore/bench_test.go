package eventstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/jobboard/jobboard/eventstore"
)

// Benchmarks run against the stack's PostgreSQL with its durability settings (fsync and
// synchronous_commit as configured): one event per transaction, the same row shape for
// Append and the raw INSERT, in the same run. Example:
//
//	go test -run '^$' -bench . -benchtime 2000x ./eventstore/

var benchWriters = []int{1, 8, 64}

var benchData = json.RawMessage(`{"title":"Senior Go engineer","company_id":"c-1","salary":{"min":90000,"max":120000,"currency":"EUR"}}`)

var benchMeta = eventstore.Metadata{CorrelationID: "corr", CausationID: "cause", Actor: "bench", Command: "PostJob", IdempotencyKey: "k"}

// runWriters spreads b.N operations over n goroutines and reports events per second.
func runWriters(b *testing.B, n int, op func(ctx context.Context, writer, i int) error) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	b.ResetTimer()
	start := time.Now()
	for w := range n {
		wg.Go(func() {
			for i := 0; ; i++ {
				if next.Add(1) > int64(b.N) {
					return
				}
				if err := op(ctx, w, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

func BenchmarkAppend(b *testing.B) {
	pool := newPool(b, 70)
	s, err := eventstore.NewStore(pool, eventstore.StoreConfig{Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	run := 0
	for _, n := range benchWriters {
		b.Run(fmt.Sprintf("writers=%d", n), func(b *testing.B) {
			run++
			prefix := fmt.Sprintf("r%d-", run)
			runWriters(b, n, func(ctx context.Context, w, i int) error {
				// Each writer appends to its own stream at the exact next version, as a command
				// handler that loaded the stream would.
				_, err := s.Append(ctx, fmt.Sprintf("%sjob-%d", prefix, w), "job", eventstore.Exact(int64(i)),
					[]eventstore.EventData{{EventID: uuid.New(), Type: "JobViewed", Data: benchData, Metadata: benchMeta}})
				return err
			})
		})
	}
}

func BenchmarkRawInsert(b *testing.B) {
	pool := newPool(b, 70)
	meta, _ := json.Marshal(benchMeta)
	run := 0
	for _, n := range benchWriters {
		b.Run(fmt.Sprintf("writers=%d", n), func(b *testing.B) {
			run++
			prefix := fmt.Sprintf("r%d-", run)
			runWriters(b, n, func(ctx context.Context, w, i int) error {
				_, err := pool.Exec(ctx, `INSERT INTO events (stream_id, stream_type, stream_version, event_id, event_type, schema_version, data, metadata)
					VALUES ($1, 'job', $2, $3, 'JobViewed', 1, $4::jsonb, $5::jsonb)`,
					fmt.Sprintf("%sjob-%d", prefix, w), i+1, uuid.New().String(), string(benchData), string(meta))
				return err
			})
		})
	}
}

// discardPublisher accepts everything and signals every published event.
type discardPublisher struct {
	published chan time.Time
	count     atomic.Int64
}

func (p *discardPublisher) Publish(_ string, msgs ...*message.Message) error {
	p.count.Add(int64(len(msgs)))
	if p.published != nil {
		p.published <- time.Now()
	}
	return nil
}

func (p *discardPublisher) Close() error { return nil }

// BenchmarkRelayThroughput relays b.N stored events (inserted before the timer starts) to a
// publisher that discards them: the relay's own cost of reading, encoding and checkpointing.
func BenchmarkRelayThroughput(b *testing.B) {
	pool := newPool(b, 10)
	s, err := eventstore.NewStore(pool, eventstore.StoreConfig{Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	meta, _ := json.Marshal(benchMeta)
	run := 0
	b.Run("batch=500", func(b *testing.B) {
		run++
		if _, err := pool.Exec(ctx, `INSERT INTO events (stream_id, stream_type, stream_version, event_id, event_type, data, metadata)
			SELECT 'r' || $4::int || '-job-' || g, 'job', 1, gen_random_uuid(), 'JobViewed', $2::jsonb, $3::jsonb
			FROM generate_series(1, $1::int) AS g`, b.N, string(benchData), string(meta), run); err != nil {
			b.Fatal(err)
		}
		// Every run sees the whole table (each relay name starts at the beginning), so it
		// relays the events of earlier runs too: count them all.
		var total int64
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&total); err != nil {
			b.Fatal(err)
		}
		pub := &discardPublisher{}
		relay, err := eventstore.NewRelay(s, pub, eventstore.RelayConfig{Name: fmt.Sprintf("bench-%d", run), Logger: testLogger()})
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		b.ResetTimer()
		start := time.Now()
		go func() { done <- relay.Run(rctx) }()
		for pub.count.Load() < total {
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		cancel()
		<-done
		b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
	})
}

// BenchmarkRelayLatency appends b.N lone events one after another and measures the time from
// the append's commit (Append returned) to the relay's Publish call.
func BenchmarkRelayLatency(b *testing.B) {
	pool := newPool(b, 10)
	s, err := eventstore.NewStore(pool, eventstore.StoreConfig{Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	pub := &discardPublisher{published: make(chan time.Time, 1)}
	relay, err := eventstore.NewRelay(s, pub, eventstore.RelayConfig{Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- relay.Run(rctx) }()
	defer func() { cancel(); <-done }()
	for !relay.Active() {
		time.Sleep(time.Millisecond)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Append(ctx, fmt.Sprintf("lone-%d", i), "job", eventstore.NoStream,
			[]eventstore.EventData{{Type: "JobPosted", Data: benchData, Metadata: benchMeta}}); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		at := <-pub.published
		lat = append(lat, at.Sub(committed))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
