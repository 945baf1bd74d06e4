package projections_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/jobboard/jobboard/bus"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/projections/projectionstest"
	"github.com/jobboard/jobboard/readmodels"
)

type kafkaEnv struct {
	brokers []string
	sfx     string
	topic   func(string) string
	pub     *bus.Publisher
}

func (k kafkaEnv) dlqTopic(projector string) string { return "test." + k.sfx + ".dlq." + projector }
func (k kafkaEnv) group(projector string) string    { return projector + "-" + k.sfx }

func newKafka(t *testing.T) kafkaEnv {
	t.Helper()
	k := kafkaEnv{brokers: testenv.KafkaBrokers(t), sfx: testenv.RandomSuffix()}
	k.topic = projectionstest.Topics(k.sfx)
	var specs []bus.TopicSpec
	for _, st := range []string{domain.StreamTypeCompany, domain.StreamTypeCandidate, domain.StreamTypeJob, domain.StreamTypeApplication} {
		specs = append(specs, bus.TopicSpec{Name: k.topic(st), Partitions: 4, ReplicationFactor: 1})
	}
	if err := bus.EnsureTopics(ctxTimeout(t, 30*time.Second), k.brokers, specs...); err != nil {
		t.Fatal(err)
	}
	pub, err := bus.NewPublisher(bus.PublisherConfig{Brokers: k.brokers}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	k.pub = pub
	return k
}

func startRunner(t *testing.T, k kafkaEnv, edit func(*projections.RunnerConfig), ps ...projections.Projector) *projections.Runner {
	t.Helper()
	cfg := projections.RunnerConfig{
		Brokers:              k.brokers,
		Subscriber:           bus.SubscriberConfig{NackResendSleep: 20 * time.Millisecond},
		DeadLetterPublisher:  k.pub,
		Topic:                k.topic,
		DeadLetterTopic:      k.dlqTopic,
		ConsumerGroup:        k.group,
		MaxRetries:           3,
		RetryInitialInterval: 10 * time.Millisecond,
		RetryMaxInterval:     50 * time.Millisecond,
		Logger:               quietLogger(),
	}
	if edit != nil {
		edit(&cfg)
	}
	r, err := projections.NewRunner(cfg, ps...)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("close runner: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-r.Running():
	case err := <-done:
		t.Fatalf("runner stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("runner not running within 30 s")
	}
	return r
}

// requireTablesOfReplay fails the test unless the read tables of pool equal a direct replay
// of events; how says how they were built.
func requireTablesOfReplay(t *testing.T, pool *pgxpool.Pool, events []eventstore.Event, how string) {
	t.Helper()
	reference := newPool(t)
	applyAll(t, newReadTables(t, reference), events)
	if got, want := tablesSnapshot(t, pool, readmodels.DefaultReadTablesSchema), tablesSnapshot(t, reference, readmodels.DefaultReadTablesSchema); got != want {
		t.Fatalf("tables %s differ from a direct replay\n got: %s\nwant: %s", how, got, want)
	}
}

func allStreams(events []eventstore.Event) []readmodels.StreamVersion {
	last := map[string]int64{}
	for _, e := range events {
		last[e.StreamID] = max(last[e.StreamID], e.StreamVersion)
	}
	var out []readmodels.StreamVersion
	for s, v := range last {
		out = append(out, readmodels.StreamVersion{StreamID: s, Version: v})
	}
	return out
}

func TestRunnerProjectsEventsFromKafka(t *testing.T) {
	t.Parallel()
	k := newKafka(t)
	pool, si := newPool(t), newSearchIndex(t)
	store := newStore(t, pool, si)
	reg := prometheus.NewRegistry()
	startRunner(t, k, func(c *projections.RunnerConfig) { c.Metrics = reg },
		newReadTables(t, pool), newJobSearch(t, pool, si))

	h, ids := board(t)
	projectionstest.Publish(t, k.pub, k.topic, h.Events...)
	projectionstest.Publish(t, k.pub, k.topic, h.Events[:5]...) // redelivered

	ctx := ctxTimeout(t, 60*time.Second)
	for _, projection := range []string{readmodels.ReadTablesProjection, readmodels.JobSearchProjection} {
		if err := store.WaitForStreams(ctx, projection, 45*time.Second, allStreams(h.Events)...); err != nil {
			t.Fatalf("%s: %v", projection, err)
		}
	}

	requireTablesOfReplay(t, pool, h.Events, "fed through Kafka")
	res, err := store.Search(ctx, readmodels.SearchParams{Q: "enginer"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 1 || res.Items[0].ID != ids["open"] || res.Items[0].Company.Name != "Acme Robotics" {
		t.Fatalf("search = %+v", res)
	}
	// The counter moves after the batch's write returned, a moment after WaitForStream saw
	// the applied versions.
	var handled float64
	projectionstest.WaitUntil(t, 10*time.Second, "handled metric", func() bool {
		handled = metricValue(t, reg, "jobboard_projection_events_handled_total", readmodels.ReadTablesProjection)
		return handled >= float64(len(h.Events)+5)
	})
	if handled < float64(len(h.Events)+5) {
		t.Fatalf("handled metric = %v, want at least %d", handled, len(h.Events)+5)
	}
}

// metricValue reads a counter or gauge of a projector from a registry.
func metricValue(t *testing.T, reg *prometheus.Registry, name, projector string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "projector" && l.GetValue() == projector {
					if m.GetCounter() != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("metric %s{projector=%q} not found", name, projector)
	return 0
}

// waitGroupStable waits until the consumer group of a projector is stable with members
// members, each owning partitions. A runner subscribes one group member per topic it
// consumes, so the group rebalances while they join, after Running; a rebalance cancels
// the messages in flight and delivers them again.
func waitGroupStable(t *testing.T, k kafkaEnv, projector string, members int) {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(k.brokers...)}
	group := k.group(projector)
	projectionstest.WaitUntil(t, 45*time.Second, fmt.Sprintf("group stable with %d members", members), func() bool {
		res, err := client.DescribeGroups(context.Background(), &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
		if err != nil || len(res.Groups) != 1 || res.Groups[0].GroupState != "Stable" || len(res.Groups[0].Members) != members {
			return false
		}
		for _, m := range res.Groups[0].Members {
			if len(m.MemberAssignments.Topics) == 0 || len(m.MemberAssignments.Topics[0].Partitions) == 0 {
				return false
			}
		}
		return true
	})
}

// failing fails every batch holding a given event, counting attempts.
type failing struct {
	projections.Projector
	poison   string
	attempts atomic.Int32
}

func (f *failing) StreamTypes() []string {
	return []string{domain.StreamTypeCompany, domain.StreamTypeJob}
}

func (f *failing) Apply(ctx context.Context, events []projections.Event) error {
	for _, e := range events {
		if e.EventID.String() == f.poison {
			f.attempts.Add(1)
			return fmt.Errorf("cannot project %s", e.EventID)
		}
	}
	return f.Projector.Apply(ctx, events)
}

func TestRunnerDeadLettersAFailingEventAndGoesOn(t *testing.T) {
	t.Parallel()
	k := newKafka(t)
	pool := newPool(t)
	si := newSearchIndex(t)
	store := newStore(t, pool, si)
	reg := prometheus.NewRegistry()

	h := projectionstest.NewHistory(time.Now().Add(-time.Hour))
	b := projectionstest.Board{H: h, Now: time.Now().UTC()}
	acme := b.Company(t, "Acme")
	failingJob := b.PostJob(t, acme, domain.JobDetailsInput{Title: "Fails Every Time"})
	poison := h.Events[len(h.Events)-1]
	malformed := h.AddRaw("job-malformed", domain.StreamTypeJob, domain.EventJobPosted, []byte(`{"details":{"employment_type":"astronaut"}}`))
	later := b.PostJob(t, acme, domain.JobDetailsInput{Title: "Works Fine"})
	b.Publish(t, later, acme, false, time.Now())

	f := &failing{Projector: newReadTables(t, pool), poison: poison.EventID.String()}
	startRunner(t, k, func(c *projections.RunnerConfig) { c.Metrics = reg }, f)
	// One member per topic: a rebalance after the first delivery would deliver the failing
	// event again, with retries of its own.
	waitGroupStable(t, k, readmodels.ReadTablesProjection, len(f.StreamTypes()))

	dlqSub, err := bus.NewSubscriber(bus.SubscriberConfig{Brokers: k.brokers}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dlqSub.Close() })
	dlqTopic := k.dlqTopic(readmodels.ReadTablesProjection)
	if err := bus.EnsureTopics(ctxTimeout(t, 30*time.Second), k.brokers, bus.TopicSpec{Name: dlqTopic, Partitions: 1, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	dead, err := dlqSub.Subscribe(ctxTimeout(t, 90*time.Second), dlqTopic)
	if err != nil {
		t.Fatal(err)
	}

	// The failing event and the malformed one come first in their partitions; the events
	// after them must still be applied.
	projectionstest.Publish(t, k.pub, k.topic, h.Events...)
	ctx := ctxTimeout(t, 60*time.Second)
	if err := store.WaitForStream(ctx, readmodels.ReadTablesProjection, later, h.Version(later), 45*time.Second); err != nil {
		t.Fatal(err)
	}
	if j, err := store.GetJob(ctx, later); err != nil || j.Status != readmodels.StatusPublished {
		t.Fatalf("later job = %+v, %v", j, err)
	}

	got := map[string]message.Metadata{}
	for len(got) < 2 {
		select {
		case m := <-dead:
			got[m.UUID] = m.Metadata
			m.Ack()
		case <-ctx.Done():
			t.Fatalf("dead letters: got %d, want 2", len(got))
		}
	}
	for _, id := range []string{poison.EventID.String(), malformed.EventID.String()} {
		md, ok := got[id]
		if !ok {
			t.Fatalf("event %s not dead-lettered; got %v", id, got)
		}
		if md.Get(middleware.ReasonForPoisonedKey) == "" {
			t.Fatalf("dead letter %s without a reason: %v", id, md)
		}
	}
	// 1 delivery + 3 retries; a try inside a larger batch is tried once more alone.
	if n := f.attempts.Load(); n < 4 || n > 8 {
		t.Fatalf("failing event tried %d times, want 4 (1 + 3 retries) to 8", n)
	}
	if _, err := store.GetJob(ctx, failingJob); err == nil {
		t.Fatal("the failing job was projected")
	}
	// The counter moves once the poison queue's publish returned, a moment after the dead
	// letter is readable from the topic.
	var dl float64
	projectionstest.WaitUntil(t, 10*time.Second, "dead-lettered metric at 2", func() bool {
		dl = metricValue(t, reg, "jobboard_projection_events_dead_lettered_total", readmodels.ReadTablesProjection)
		return dl >= 2
	})
	if dl != 2 {
		t.Fatalf("dead-lettered metric = %v, want 2", dl)
	}
}

// recording logs every event handed to the projector; it consumes job streams only.
type recording struct {
	projections.Projector
	mu   sync.Mutex
	seen []string
}

func (r *recording) StreamTypes() []string { return []string{domain.StreamTypeJob} }

func (r *recording) Apply(ctx context.Context, events []projections.Event) error {
	if err := r.Projector.Apply(ctx, events); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range events {
		r.seen = append(r.seen, fmt.Sprintf("%s/%d", e.StreamID, e.StreamVersion))
	}
	return nil
}

func (r *recording) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

func TestTwoRunnersShareTheConsumerGroup(t *testing.T) {
	t.Parallel()
	k := newKafka(t)
	pool := newPool(t)
	si := newSearchIndex(t)
	store := newStore(t, pool, si)
	one := &recording{Projector: newReadTables(t, pool)}
	two := &recording{Projector: newReadTables(t, pool)}
	startRunner(t, k, nil, one)
	startRunner(t, k, nil, two)

	// Publish once the group settled with both members owning partitions, so no rebalance
	// moves a partition mid-test.
	waitGroupStable(t, k, readmodels.ReadTablesProjection, 2)

	h := projectionstest.NewHistory(time.Now().Add(-time.Hour))
	b := projectionstest.Board{H: h, Now: time.Now().UTC()}
	for i := range 40 {
		id := b.PostJob(t, "company-1", domain.JobDetailsInput{Title: fmt.Sprintf("Job number %d", i)})
		b.Publish(t, id, "company-1", i%2 == 0, time.Now())
	}
	projectionstest.Publish(t, k.pub, k.topic, h.Events...)
	if err := store.WaitForStreams(ctxTimeout(t, 60*time.Second), readmodels.ReadTablesProjection, 45*time.Second, allStreams(h.Events)...); err != nil {
		t.Fatal(err)
	}

	// The applied versions commit inside Apply, a moment before the recording wrapper logs
	// the batch: wait for the logs to catch up before counting.
	projectionstest.WaitUntil(t, 10*time.Second, "every applied event logged", func() bool {
		return len(one.log())+len(two.log()) >= len(h.Events)
	})
	a, c := one.log(), two.log()
	if len(a) == 0 || len(c) == 0 {
		t.Fatalf("partitions not shared: instance one applied %d events, instance two %d", len(a), len(c))
	}
	counts := map[string]int{}
	for _, s := range append(a, c...) {
		counts[s]++
	}
	for s, n := range counts {
		if n != 1 {
			t.Errorf("event %s applied %d times", s, n)
		}
	}
	if len(counts) != len(h.Events) {
		t.Fatalf("applied %d distinct events, want %d", len(counts), len(h.Events))
	}
	t.Logf("instance one applied %d events, instance two %d", len(a), len(c))

	requireTablesOfReplay(t, pool, h.Events, "built by two instances")
}

// down fails with a transient error (an outage) for its first failures writes.
type down struct {
	projections.Projector
	failures atomic.Int32
}

func (d *down) StreamTypes() []string { return []string{domain.StreamTypeCompany} }

func (d *down) Apply(ctx context.Context, events []projections.Event) error {
	if d.failures.Add(-1) >= 0 {
		return projections.Transient(fmt.Errorf("database unavailable"))
	}
	return d.Projector.Apply(ctx, events)
}

func TestRunnerRetriesAnOutageWithoutDeadLettering(t *testing.T) {
	t.Parallel()
	k := newKafka(t)
	pool, si := newPool(t), newSearchIndex(t)
	store := newStore(t, pool, si)
	reg := prometheus.NewRegistry()
	d := &down{Projector: newReadTables(t, pool)}
	d.failures.Store(10) // more than 1 + MaxRetries: the message is nacked and redelivered
	startRunner(t, k, func(c *projections.RunnerConfig) { c.Metrics = reg }, d)

	h := projectionstest.NewHistory(time.Now())
	acme := projectionstest.Board{H: h, Now: time.Now().UTC()}.Company(t, "Acme")
	projectionstest.Publish(t, k.pub, k.topic, h.Events...)
	if err := store.WaitForStream(ctxTimeout(t, 60*time.Second), readmodels.ReadTablesProjection, acme, 1, 45*time.Second); err != nil {
		t.Fatal(err)
	}
	if c, err := store.GetCompany(context.Background(), acme); err != nil || c.Name != "Acme" {
		t.Fatalf("company = %+v, %v", c, err)
	}
	if n := metricValue(t, reg, "jobboard_projection_events_failed_total", readmodels.ReadTablesProjection); n < 1 {
		t.Fatalf("failed deliveries = %v, want the nacks counted", n)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "jobboard_projection_events_dead_lettered_total" {
			for _, m := range mf.GetMetric() {
				if m.GetCounter().GetValue() != 0 {
					t.Fatalf("an outage was dead-lettered")
				}
			}
		}
	}
}

// TestRunnerAppliesABacklogInBatchesLargerThanThePartitionCount: with one message per
// partition in flight a batch held at most 4 events (the partitions of the test topics);
// a backlog must now fill batches of hundreds, seen through the batch size histogram.
func TestRunnerAppliesABacklogInBatchesLargerThanThePartitionCount(t *testing.T) {
	t.Parallel()
	k := newKafka(t)
	pool := newPool(t)
	h := projectionstest.NewHistory(time.Now().Add(-time.Hour))
	projectionstest.Generate(t, h, 2000, time.Now())
	projectionstest.Publish(t, k.pub, k.topic, h.Events...) // the backlog, before the runner starts

	reg := prometheus.NewRegistry()
	startRunner(t, k, func(c *projections.RunnerConfig) { c.Metrics = reg }, newReadTables(t, pool))
	projectionstest.WaitUntil(t, 60*time.Second, "backlog applied", func() bool {
		return metricValue(t, reg, "jobboard_projection_events_handled_total", readmodels.ReadTablesProjection) >= float64(len(h.Events))
	})

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var writes, upToPartitions, largerThan64 uint64
	for _, mf := range mfs {
		if mf.GetName() != "jobboard_projection_batch_size" {
			continue
		}
		hist := mf.GetMetric()[0].GetHistogram()
		writes = hist.GetSampleCount()
		for _, b := range hist.GetBucket() {
			switch b.GetUpperBound() {
			case 4:
				upToPartitions = b.GetCumulativeCount()
			case 64:
				largerThan64 = writes - b.GetCumulativeCount()
			}
		}
	}
	t.Logf("%d events in %d writes, %d of them larger than 64 events", len(h.Events), writes, largerThan64)
	if writes == 0 || upToPartitions == writes || largerThan64 == 0 {
		t.Fatalf("%d writes, %d of at most 4 events, %d larger than 64: the backlog was not batched", writes, upToPartitions, largerThan64)
	}
}

// A runner closed while it is still subscribing (a process stopped right after its start)
// stops at once, without waiting out the router's close timeout for handlers that never ran.
func TestRunnerClosedWhileSubscribingStopsAtOnce(t *testing.T) {
	t.Parallel()
	k := newKafka(t)
	r, err := projections.NewRunner(projections.RunnerConfig{
		Brokers: k.brokers, DeadLetterPublisher: k.pub, Topic: k.topic, DeadLetterTopic: k.dlqTopic,
		ConsumerGroup: k.group, Logger: quietLogger(),
	}, newReadTables(t, newPool(t)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	// Give Run a moment to begin: subscribing (topics, consumer-group joins) usually takes
	// longer, so Close mostly comes while the handlers are not running yet.
	time.Sleep(10 * time.Millisecond)
	began := time.Now()
	if err := r.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	// Without the cancel, Close waited out Watermill's CloseTimeout (30 s). With it, what
	// may remain is a consumer-group join already sent: kafka-go finishes it before leaving
	// the group, and the broker answers a join within the RebalanceTimeout (bus default
	// 10 s); a fresh-clone run on a busy machine saw 10.03 s.
	if took := time.Since(began); took > 20*time.Second {
		t.Fatalf("close took %s", took)
	}
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// catchUpSetup is what the catch-up tests run on: Kafka, a database with its event store, a
// search index, the read models over them, and a context bounding the test.
func catchUpSetup(t *testing.T) (kafkaEnv, *pgxpool.Pool, searchIndex, *readmodels.Store, *eventstore.Store, context.Context) {
	t.Helper()
	k := newKafka(t)
	pool, si := newPool(t), newSearchIndex(t)
	events, err := eventstore.NewStore(pool, eventstore.StoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return k, pool, si, newStore(t, pool, si), events, ctxTimeout(t, 90*time.Second)
}

// A runner with CatchUp applies a backlog from the event store before it consumes Kafka, and
// its subscriptions then pass over the records of what it applied: nothing is applied twice,
// and what comes after them is delivered as usual.
func TestRunnerCatchesUpABacklogFromTheStore(t *testing.T) {
	t.Parallel()
	k, pool, si, rm, events, ctx := catchUpSetup(t)
	h, ids := board(t)
	// The backlog is in the store only: whatever the runner applies before Kafka carries
	// anything, it read from the store.
	if err := projectionstest.CopyToStore(ctx, pool, h, 7); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	startRunner(t, k, func(c *projections.RunnerConfig) {
		c.Metrics = reg
		c.CatchUp = projections.CatchUpConfig{Store: events, Pool: pool}
		c.BatchMaxSize = 5 // several reads, each read ahead of the write before it
	}, newReadTables(t, pool), newJobSearch(t, pool, si))

	// Running means caught up.
	requireTablesOfReplay(t, pool, h.Events, "caught up from the store")
	res, err := rm.Search(ctx, readmodels.SearchParams{Q: "enginer"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 1 || res.Items[0].ID != ids["open"] {
		t.Fatalf("search after the catch-up = %+v", res)
	}
	caught := metricValue(t, reg, "jobboard_projection_events_handled_total", readmodels.ReadTablesProjection)
	if caught != float64(len(h.Events)) {
		t.Fatalf("handled %v events in the catch-up, want %d", caught, len(h.Events))
	}

	// The relay publishes the backlog, then a new event: only the new one is delivered.
	b := projectionstest.Board{H: h, Now: time.Now()}
	newcomer := b.Company(t, "Initech")
	projectionstest.Publish(t, k.pub, k.topic, h.Events...)
	if err := rm.WaitForStreams(ctx, readmodels.ReadTablesProjection, 45*time.Second,
		readmodels.StreamVersion{StreamID: newcomer, Version: 1}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // any redelivery of the backlog would be handled by now
	if got := metricValue(t, reg, "jobboard_projection_events_handled_total", readmodels.ReadTablesProjection); got != caught+1 {
		t.Fatalf("handled %v events after Kafka carried the backlog and one more, want %v: the backlog was delivered again", got, caught+1)
	}
}

// A runner with CatchUp.Behind also catches up while its subscriptions run: a write from
// Kafka whose event is older than Behind shows the projector behind, and the rest of the
// backlog is read from the store — where alone it is here: Kafka carries its first event only.
func TestRunnerCatchesUpWhileSubscribed(t *testing.T) {
	t.Parallel()
	k, pool, _, rm, events, ctx := catchUpSetup(t)
	h, _ := board(t) // recorded an hour ago
	r := startRunner(t, k, func(c *projections.RunnerConfig) {
		c.CatchUp = projections.CatchUpConfig{Store: events, Pool: pool, Behind: time.Second}
		c.BatchMaxSize = 5
	}, newReadTables(t, pool))
	<-r.Running() // the store was empty: nothing was caught up at the start

	if err := projectionstest.CopyToStore(ctx, pool, h, 7); err != nil {
		t.Fatal(err)
	}
	projectionstest.Publish(t, k.pub, k.topic, h.Events[0])
	if err := rm.WaitForStreams(ctx, readmodels.ReadTablesProjection, 45*time.Second, allStreams(h.Events)...); err != nil {
		t.Fatalf("the backlog in the store was not caught up: %v", err)
	}
	requireTablesOfReplay(t, pool, h.Events, "caught up while subscribed")
}
