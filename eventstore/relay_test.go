package eventstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/jobboard/jobboard/eventstore"
)

// published is one message as the relay handed it to Publish.
type published struct {
	topic string
	at    time.Time
	msg   *message.Message
}

// recordingPublisher records every accepted message in Publish order before passing it on,
// and fails the next failNext calls.
type recordingPublisher struct {
	next     message.Publisher
	failNext atomic.Int64
	calls    atomic.Int64

	mu   sync.Mutex
	msgs []published
}

func (p *recordingPublisher) Publish(topic string, msgs ...*message.Message) error {
	p.calls.Add(1)
	if p.failNext.Add(-1) >= 0 {
		return errors.New("injected publish failure")
	}
	if err := p.next.Publish(topic, msgs...); err != nil {
		return err
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range msgs {
		p.msgs = append(p.msgs, published{topic: topic, at: now, msg: m})
	}
	return nil
}

func (p *recordingPublisher) Close() error { return nil }

func (p *recordingPublisher) snapshot() []published {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]published(nil), p.msgs...)
}

func (p *recordingPublisher) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.msgs)
}

// distinct counts the distinct event ids published.
func (p *recordingPublisher) distinct() int {
	seen := map[string]bool{}
	for _, m := range p.snapshot() {
		seen[m.msg.UUID] = true
	}
	return len(seen)
}

func newGoChannel(t *testing.T, blockUntilAck bool) *gochannel.GoChannel {
	t.Helper()
	ps := gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 1024, BlockPublishUntilSubscriberAck: blockUntilAck},
		watermill.NewSlogLogger(testLogger()))
	t.Cleanup(func() { _ = ps.Close() })
	return ps
}

func newRelay(t *testing.T, s *eventstore.Store, pub message.Publisher, cfg eventstore.RelayConfig) *eventstore.Relay {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	if cfg.LockRetryInterval == 0 {
		cfg.LockRetryInterval = 100 * time.Millisecond
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 10 * time.Millisecond
	}
	r, err := eventstore.NewRelay(s, pub, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runRelay runs r in a goroutine the test owns; stop cancels it and waits for it.
func runRelay(t *testing.T, r *eventstore.Relay) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("relay returned %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// checkPublishedInOrder checks that the first publication of each event follows the
// commit-safe order of the store within each topic, that nothing is missing, and that each
// message carries its envelope and metadata.
func checkPublishedInOrder(t *testing.T, all []eventstore.Event, pubs []published) {
	t.Helper()
	first := map[string]int{}
	for i, p := range pubs {
		if _, ok := first[p.msg.UUID]; !ok {
			first[p.msg.UUID] = i
		}
	}
	lastByTopic := map[string]int{}
	for _, e := range all {
		i, ok := first[e.EventID.String()]
		if !ok {
			t.Fatalf("event %s at %s was never published", e.EventID, e.Position())
		}
		p := pubs[i]
		if p.topic != eventstore.DefaultTopic(e.StreamType) {
			t.Fatalf("event %s published to %s", e.EventID, p.topic)
		}
		if last, ok := lastByTopic[p.topic]; ok && last > i {
			t.Fatalf("event %s at %s published before an earlier event of topic %s", e.EventID, e.Position(), p.topic)
		}
		lastByTopic[p.topic] = i
		md := p.msg.Metadata
		want := map[string]string{
			"partition_key": e.StreamID, "event_type": e.Type, "stream_id": e.StreamID, "stream_type": e.StreamType,
			"stream_version": strconv.FormatInt(e.StreamVersion, 10), "global_position": strconv.FormatInt(e.GlobalPosition, 10),
			"schema_version": strconv.Itoa(e.SchemaVersion), "correlation_id": e.Metadata.CorrelationID, "causation_id": e.Metadata.CausationID,
		}
		for k, v := range want {
			if md.Get(k) != v {
				t.Fatalf("event %s: metadata %s = %q, want %q", e.EventID, k, md.Get(k), v)
			}
		}
		env, err := eventstore.DecodeEnvelope(p.msg.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if env.EventID != e.EventID || env.Position() != e.Position() || env.StreamVersion != e.StreamVersion ||
			!sameJSON(env.Data, e.Data) || env.Metadata.Actor != e.Metadata.Actor || !env.RecordedAt.Equal(e.RecordedAt) {
			t.Fatalf("envelope %+v, event %+v", env, e)
		}
	}
	if len(first) != len(all) {
		t.Fatalf("published %d distinct events, store has %d", len(first), len(all))
	}
}

func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	return json.Compact(&ca, a) == nil && json.Compact(&cb, b) == nil && ca.String() == cb.String()
}

// relayPoll is TestRelay's poll interval: long, so that what arrives sooner was woken by
// LISTEN/NOTIFY.
const relayPoll = 10 * time.Second

func TestRelay(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t, eventstore.StoreConfig{})
	ctx := testContext(t, 90*time.Second)

	// Subscribed before anything is published: gochannel drops messages without subscribers.
	ps := newGoChannel(t, true)
	jobs, err := ps.Subscribe(ctx, eventstore.DefaultTopic("job"))
	if err != nil {
		t.Fatal(err)
	}
	companies, err := ps.Subscribe(ctx, eventstore.DefaultTopic("company"))
	if err != nil {
		t.Fatal(err)
	}
	var received atomic.Int64
	var consumers sync.WaitGroup
	for _, ch := range []<-chan *message.Message{jobs, companies} {
		consumers.Go(func() {
			for m := range ch {
				received.Add(1)
				m.Ack()
			}
		})
	}
	t.Cleanup(func() { _ = ps.Close(); consumers.Wait() })

	rec := &recordingPublisher{next: ps}
	relay := newRelay(t, s, rec, eventstore.RelayConfig{Name: "relay-test", PollInterval: relayPoll})
	stop := runRelay(t, relay)

	t.Run("publishes every event once in commit-safe order, checkpoint last", func(t *testing.T) {
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range 100 {
					typ := []string{"job", "company"}[i%2]
					stream := fmt.Sprintf("%s-%d-%d", typ, w, i%5)
					if _, err := s.Append(ctx, stream, typ, eventstore.Any, []eventstore.EventData{event("Happened", i), event("HappenedToo", i)}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		all := readEverything(t, s, pool)
		eventually(t, 20*time.Second, "1600 events published", func() bool { return rec.distinct() == len(all) })
		checkPublishedInOrder(t, all, rec.snapshot())
		if rec.len() != len(all) {
			t.Fatalf("published %d messages for %d events", rec.len(), len(all))
		}
		eventually(t, 5*time.Second, "subscribers received every message", func() bool { return received.Load() == int64(len(all)) })
		eventually(t, 5*time.Second, "checkpoint at the last event", func() bool {
			cp, err := s.Checkpoint(ctx, "relay-test")
			return err == nil && cp == all[len(all)-1].Position()
		})
	})

	t.Run("is woken by the append's notification, not by its poll", func(t *testing.T) {
		// The relay under test polls every PollInterval (set long below); an event that
		// arrives well before that was delivered by LISTEN/NOTIFY. Latency itself is measured
		// by BenchmarkRelayLatency and BenchmarkRelayCommitToKafkaLatency, not asserted here.
		for i := range 5 {
			before := rec.len()
			mustAppend(t, s, "lone-"+strconv.Itoa(i), "job", eventstore.NoStream, event("JobPosted", i))
			eventually(t, relayPoll/2, "lone event published before the relay's next poll", func() bool { return rec.len() > before })
		}
	})

	t.Run("retries a failing publish and then goes on", func(t *testing.T) {
		before := rec.distinct()
		calls := rec.calls.Load()
		rec.failNext.Store(3)
		mustAppend(t, s, "retry-1", "job", eventstore.NoStream, event("JobPosted", 1))
		eventually(t, 10*time.Second, "event published after failures", func() bool { return rec.distinct() == before+1 })
		if n := rec.calls.Load() - calls; n < 4 {
			t.Fatalf("%d publish calls", n)
		}
	})

	t.Run("reconnects after its connections are killed", func(t *testing.T) {
		eventually(t, 5*time.Second, "relay active", relay.Active)
		before := rec.distinct()
		killConnections(t, ctx, pool)
		mustAppend(t, s, "after-kill", "job", eventstore.NoStream, event("JobPosted", 1))
		eventually(t, 15*time.Second, "event published after reconnecting", func() bool { return rec.distinct() == before+1 })
	})
	stop()

	t.Run("a restarted relay resumes from its checkpoint without loss", func(t *testing.T) {
		var cp eventstore.Position
		// The pool may still hold connections killed by the previous subtest: each fails once.
		eventually(t, 5*time.Second, "checkpoint loaded", func() bool {
			var err error
			cp, err = s.Checkpoint(ctx, "relay-test")
			return err == nil
		})
		for i := range 50 {
			mustAppend(t, s, "while-down", "job", eventstore.Any, event("JobViewed", i))
		}
		rec2 := &recordingPublisher{next: newGoChannel(t, false)}
		stop2 := runRelay(t, newRelay(t, s, rec2, eventstore.RelayConfig{Name: "relay-test"}))
		defer stop2()
		all := readEverything(t, s, pool)
		var after []eventstore.Event
		for _, e := range all {
			if cp.Less(e.Position()) {
				after = append(after, e)
			}
		}
		eventually(t, 10*time.Second, "events after the checkpoint published", func() bool { return rec2.distinct() == len(after) })
		checkPublishedInOrder(t, after, rec2.snapshot())
		union := map[string]bool{}
		for _, p := range append(rec.snapshot(), rec2.snapshot()...) {
			union[p.msg.UUID] = true
		}
		if len(union) != len(all) {
			t.Fatalf("published %d distinct events of %d", len(union), len(all))
		}
	})
}

func TestRelayStandbyTakesOver(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t, eventstore.StoreConfig{})
	ctx := testContext(t, 60*time.Second)
	rec := &recordingPublisher{next: newGoChannel(t, false)}
	first := newRelay(t, s, rec, eventstore.RelayConfig{Name: "ha"})
	second := newRelay(t, s, rec, eventstore.RelayConfig{Name: "ha"})

	stopFirst := runRelay(t, first)
	eventually(t, 5*time.Second, "first relay active", first.Active)
	runRelay(t, second)
	time.Sleep(300 * time.Millisecond)
	if second.Active() {
		t.Fatal("two relays active at once")
	}

	writeCtx, stopWriting := context.WithCancel(ctx)
	var writer sync.WaitGroup
	writer.Go(func() {
		for i := 0; writeCtx.Err() == nil; i++ {
			if _, err := s.Append(ctx, "job-"+strconv.Itoa(i%10), "job", eventstore.Any, []eventstore.EventData{event("JobViewed", i)}); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	time.Sleep(500 * time.Millisecond)
	stopFirst()
	tookOver := time.Now()
	eventually(t, 5*time.Second, "second relay active", second.Active)
	t.Logf("standby took over in %s", time.Since(tookOver))
	time.Sleep(500 * time.Millisecond)
	stopWriting()
	writer.Wait()

	all := readEverything(t, s, pool)
	eventually(t, 10*time.Second, "every event published", func() bool { return rec.distinct() == len(all) })
	checkPublishedInOrder(t, all, rec.snapshot())
	t.Logf("%d events, %d messages (duplicates allowed at the hand-over)", len(all), rec.len())
}
