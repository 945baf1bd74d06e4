package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/bus"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/internal/testenv"
)

// appender writes events to the test database through the real store.
type appender struct {
	store *eventstore.Store
	mu    sync.Mutex
	ids   map[string]string // event id -> stream id, of every committed event
}

func newAppender(t testing.TB, dsn string) *appender {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store, err := eventstore.NewStore(pool, eventstore.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return &appender{store: store, ids: map[string]string{}}
}

// appendStreams appends n events spread over streams of two stream types, one event per
// append, retrying a failed append (PostgreSQL may be restarting under the test).
func (a *appender) appendStreams(ctx context.Context, t testing.TB, prefix string, n int) {
	t.Helper()
	for i := range n {
		stream := fmt.Sprintf("%s-%d", prefix, i%17)
		var streamType string
		if i%17%2 == 1 {
			streamType = "company"
		} else {
			streamType = "job"
		}
		ev := eventstore.EventData{Type: streamType + ".probe", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
		var err error
		for attempt := 0; attempt < 100; attempt++ {
			var res eventstore.AppendResult
			res, err = a.store.Append(ctx, stream, streamType, eventstore.Any, []eventstore.EventData{ev})
			if err == nil {
				evs, lerr := a.store.LoadStream(ctx, stream, eventstore.LoadOptions{UpToVersion: res.StreamVersion})
				if lerr == nil {
					last := evs[len(evs)-1]
					a.mu.Lock()
					a.ids[last.EventID.String()] = stream
					a.mu.Unlock()
					break
				}
				err = lerr
			}
			if ctx.Err() != nil {
				t.Fatal(ctx.Err())
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

func (a *appender) committed() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]string, len(a.ids))
	for k, v := range a.ids {
		out[k] = v
	}
	return out
}

// received is what a consumer read from the relay's topics.
type received struct {
	mu       sync.Mutex
	count    map[string]int     // event id -> deliveries
	versions map[string][]int64 // stream -> versions in arrival order
}

// consume reads every partition of the relay's topics from the start, without a consumer
// group, until stop.
func consume(t testing.TB, prefix string, streamTypes ...string) (*received, func()) {
	t.Helper()
	sub, err := bus.NewSubscriber(bus.SubscriberConfig{Brokers: testenv.KafkaBrokers(t), TopicPartitions: 2}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &received{count: map[string]int{}, versions: map[string][]int64{}}
	var wg sync.WaitGroup
	for _, st := range streamTypes {
		ch, err := sub.Subscribe(ctx, prefix+"events."+st)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for msg := range ch {
				ev, err := eventstore.DecodeEnvelope(msg.Payload)
				if err != nil {
					t.Errorf("decode: %v", err)
				}
				r.mu.Lock()
				r.count[ev.EventID.String()]++
				r.versions[ev.StreamID] = append(r.versions[ev.StreamID], ev.StreamVersion)
				r.mu.Unlock()
				msg.Ack()
			}
		}()
	}
	return r, func() { cancel(); wg.Wait(); _ = sub.Close() }
}

// waitAll waits until every committed event was received at least once, then checks that
// each stream's versions arrived in order (a redelivered suffix may repeat, as
// at-least-once allows, but never goes back before a version it skipped).
func (r *received) waitAll(t testing.TB, want map[string]string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r.mu.Lock()
		missing := 0
		for id := range want {
			if r.count[id] == 0 {
				missing++
			}
		}
		dups := 0
		for _, n := range r.count {
			dups += n - 1
		}
		r.mu.Unlock()
		if missing == 0 {
			t.Logf("all %d events reached Kafka (%d duplicate deliveries)", len(want), dups)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d committed events never reached Kafka", missing, len(want))
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for stream, vs := range r.versions {
		max := int64(0)
		for _, v := range vs {
			if v > max+1 {
				t.Fatalf("stream %s: version %d arrived before %d", stream, v, max+1)
			}
			if v > max {
				max = v
			}
		}
	}
}

func relayConfig(t testing.TB) app.Config {
	cfg := stackConfig(t)
	cfg.Roles = []string{app.RoleRelay}
	return cfg
}

func TestRelayPublishesEveryCommittedEventToKafkaInStreamOrder(t *testing.T) {
	t.Parallel()
	cfg := relayConfig(t)
	a := newAppender(t, cfg.DatabaseURL)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a.appendStreams(ctx, t, "before", 300) // committed before the relay starts
	start(t, cfg)
	got, stop := consume(t, cfg.KafkaTopicPrefix, "job", "company")
	defer stop()
	a.appendStreams(ctx, t, "while", 700) // committed while it runs
	got.waitAll(t, a.committed(), time.Minute)
}

// progress waits until at least n distinct events were received.
func (r *received) progress(t testing.TB, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r.mu.Lock()
		got := len(r.count)
		r.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d events reached Kafka", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRelayStoppedMidBatchAndRestartedLosesNothing(t *testing.T) {
	t.Parallel()
	cfg := relayConfig(t)
	a := newAppender(t, cfg.DatabaseURL)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a.appendStreams(ctx, t, "backlog", 3000)
	got, stop := consume(t, cfg.KafkaTopicPrefix, "job", "company")
	defer stop()

	m, err := app.New(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	got.progress(t, 200, time.Minute)
	if err := m.Close(); err != nil { // cancels the relay's context mid-backlog
		t.Fatal(err)
	}
	got.mu.Lock()
	at := len(got.count)
	got.mu.Unlock()
	if at >= 3000 {
		t.Fatalf("the relay finished the backlog (%d) before it was stopped: the test proves nothing", at)
	}
	t.Logf("stopped after %d of 3000 events", at)
	start(t, cfg)
	got.waitAll(t, a.committed(), time.Minute)
}
