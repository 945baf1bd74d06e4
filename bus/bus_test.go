package bus_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"

	"github.com/jobboard/jobboard/bus"
	"github.com/jobboard/jobboard/internal/testenv"
)

func newTestPublisher(t *testing.T, brokers []string) *bus.Publisher {
	t.Helper()
	pub, err := bus.NewPublisher(bus.PublisherConfig{Brokers: brokers}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	return pub
}

func newTestSubscriber(t *testing.T, brokers []string, group string) *bus.Subscriber {
	t.Helper()
	sub, err := bus.NewSubscriber(bus.SubscriberConfig{
		Brokers:         brokers,
		ConsumerGroup:   group,
		NackResendSleep: 20 * time.Millisecond,
	}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

func receive(t *testing.T, ch <-chan *message.Message, within time.Duration) *message.Message {
	t.Helper()
	select {
	case msg, ok := <-ch:
		if !ok {
			t.Fatal("channel closed")
		}
		return msg
	case <-time.After(within):
		t.Fatalf("no message within %s", within)
		return nil
	}
}

func expectNothing(t *testing.T, ch <-chan *message.Message, within time.Duration) {
	t.Helper()
	select {
	case msg := <-ch:
		t.Fatalf("unexpected message %s (%s)", msg.UUID, msg.Payload)
	case <-time.After(within):
	}
}

// waitForStableGroup waits until the group has n members that all own partitions, so a
// test can publish without a rebalance moving partitions mid-way.
func waitForStableGroup(t *testing.T, brokers []string, group string, n int) {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := client.DescribeGroups(context.Background(), &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
		if err == nil && len(res.Groups) == 1 {
			g := res.Groups[0]
			owning := 0
			for _, m := range g.Members {
				if len(m.MemberAssignments.Topics) > 0 {
					owning++
				}
			}
			if g.GroupState == "Stable" && len(g.Members) == n && owning == n {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("group %s did not become stable with %d members owning partitions", group, n)
}

func TestSubscriber(t *testing.T) {
	t.Parallel()
	brokers := testenv.KafkaBrokers(t)

	t.Run("two members of a group share the partitions, deliver each acked message once and keep each key in order", func(t *testing.T) {
		t.Parallel()
		topic := "bus-test-share-" + testenv.RandomSuffix()
		group := "bus-test-share-" + testenv.RandomSuffix()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := bus.EnsureTopics(ctx, brokers, bus.TopicSpec{Name: topic, Partitions: 4, ReplicationFactor: 1}); err != nil {
			t.Fatal(err)
		}
		sub1 := newTestSubscriber(t, brokers, group)
		sub2 := newTestSubscriber(t, brokers, group)
		ch1, err := sub1.Subscribe(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		ch2, err := sub2.Subscribe(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		waitForStableGroup(t, brokers, group, 2)

		const streams, versions = 12, 25
		var msgs []*message.Message
		for v := 1; v <= versions; v++ {
			for s := 0; s < streams; s++ {
				msg := message.NewMessage(watermill.NewUUID(), []byte("x"))
				msg.Metadata.Set(bus.MetadataPartitionKey, fmt.Sprintf("stream-%d", s))
				msg.Metadata.Set(bus.MetadataStreamID, fmt.Sprintf("stream-%d", s))
				msg.Metadata.Set(bus.MetadataStreamVersion, strconv.Itoa(v))
				msgs = append(msgs, msg)
			}
		}
		pub := newTestPublisher(t, brokers)
		// Several Publish calls, so order must hold across calls as well as within one.
		for i := 0; i < len(msgs); i += 50 {
			if err := pub.Publish(topic, msgs[i:min(i+50, len(msgs))]...); err != nil {
				t.Fatal(err)
			}
		}

		type got struct {
			member  int
			stream  string
			version int
		}
		var (
			mu       sync.Mutex
			received []got
			seen     = map[string]int{}
		)
		var wg sync.WaitGroup
		consume := func(member int, ch <-chan *message.Message) {
			defer wg.Done()
			for {
				select {
				case msg := <-ch:
					v, _ := strconv.Atoi(msg.Metadata.Get(bus.MetadataStreamVersion))
					mu.Lock()
					seen[msg.UUID]++
					received = append(received, got{member, msg.Metadata.Get(bus.MetadataStreamID), v})
					mu.Unlock()
					msg.Ack()
				case <-time.After(3 * time.Second): // quiet: everything, and any duplicate, is in
					return
				}
			}
		}
		wg.Add(2)
		go consume(1, ch1)
		go consume(2, ch2)
		wg.Wait()

		if len(seen) != len(msgs) {
			t.Fatalf("received %d distinct messages, want %d", len(seen), len(msgs))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("message %s delivered %d times", id, n)
			}
		}
		perMember := map[int]int{}
		memberOf := map[string]int{}
		last := map[string]int{}
		for _, g := range received {
			perMember[g.member]++
			if m, ok := memberOf[g.stream]; ok && m != g.member {
				t.Errorf("%s delivered to both members", g.stream)
			}
			memberOf[g.stream] = g.member
			if g.version != last[g.stream]+1 {
				t.Errorf("%s: version %d after %d", g.stream, g.version, last[g.stream])
			}
			last[g.stream] = g.version
		}
		if perMember[1] == 0 || perMember[2] == 0 {
			t.Errorf("partitions not shared: member 1 got %d, member 2 got %d", perMember[1], perMember[2])
		}
	})

	t.Run("a nacked message is redelivered before anything after it, and only acked offsets are committed", func(t *testing.T) {
		t.Parallel()
		topic := "bus-test-nack-" + testenv.RandomSuffix()
		group := "bus-test-nack-" + testenv.RandomSuffix()
		pub := newTestPublisher(t, brokers)
		publish := func(payload string) *message.Message {
			msg := message.NewMessage(watermill.NewUUID(), []byte(payload))
			msg.Metadata.Set(bus.MetadataPartitionKey, "one-stream")
			if err := pub.Publish(topic, msg); err != nil {
				t.Fatal(err)
			}
			return msg
		}
		first := publish("first")
		second := publish("second")

		sub := newTestSubscriber(t, brokers, group)
		ch, err := sub.Subscribe(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		msg := receive(t, ch, 30*time.Second)
		if msg.UUID != first.UUID {
			t.Fatalf("got %s first, want %s", msg.Payload, first.Payload)
		}
		msg.Nack()
		select {
		case <-msg.Context().Done():
		case <-time.After(time.Second):
			t.Fatal("message context not cancelled after Nack")
		}
		again := receive(t, ch, 5*time.Second)
		if again.UUID != first.UUID {
			t.Fatalf("after nack got %s, want %s again", again.Payload, first.Payload)
		}
		expectNothing(t, ch, 300*time.Millisecond) // the second waits for the first's Ack
		again.Ack()
		next := receive(t, ch, 5*time.Second)
		if next.UUID != second.UUID {
			t.Fatalf("got %s, want %s", next.Payload, second.Payload)
		}
		// Leave the second unacked: a new member of the group must get it again.
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
		if _, open := <-ch; open {
			t.Fatal("channel still open after Close")
		}
		if next.Context().Err() == nil {
			t.Fatal("in-flight message context not cancelled by Close")
		}

		third := publish("third")
		sub2 := newTestSubscriber(t, brokers, group)
		ch2, err := sub2.Subscribe(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []*message.Message{second, third} {
			got := receive(t, ch2, 30*time.Second)
			if got.UUID != want.UUID {
				t.Fatalf("new member got %s, want %s", got.Payload, want.Payload)
			}
			got.Ack()
		}
	})

	t.Run("with several in flight per partition, messages come in order without waiting for Acks; a nack redelivers every unacked one in a new run; commits stop at the first unacked", func(t *testing.T) {
		t.Parallel()
		topic := "bus-test-window-" + testenv.RandomSuffix()
		group := "bus-test-window-" + testenv.RandomSuffix()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := bus.EnsureTopics(ctx, brokers, bus.TopicSpec{Name: topic, Partitions: 1, ReplicationFactor: 1}); err != nil {
			t.Fatal(err)
		}
		pub := newTestPublisher(t, brokers)
		var sent []*message.Message
		for i := range 8 {
			msg := message.NewMessage(watermill.NewUUID(), []byte(strconv.Itoa(i)))
			msg.Metadata.Set(bus.MetadataPartitionKey, "one-stream")
			sent = append(sent, msg)
		}
		if err := pub.Publish(topic, sent[:6]...); err != nil {
			t.Fatal(err)
		}
		newSub := func() (*bus.Subscriber, <-chan *message.Message) {
			sub, err := bus.NewSubscriber(bus.SubscriberConfig{
				Brokers: brokers, ConsumerGroup: group, NackResendSleep: 20 * time.Millisecond,
				MaxInFlightPerPartition: 4,
			}, testLogger())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sub.Close() })
			ch, err := sub.Subscribe(context.Background(), topic)
			if err != nil {
				t.Fatal(err)
			}
			return sub, ch
		}
		sub, ch := newSub()
		expect := func(ch <-chan *message.Message, want *message.Message, seq int64) *message.Message {
			t.Helper()
			got := receive(t, ch, 30*time.Second)
			d, ok := bus.DeliveryFromContext(got.Context())
			if got.UUID != want.UUID || !ok || d.Run == 0 || d.Seq != seq {
				t.Fatalf("got %s (run %d seq %d), want %s seq %d", got.Payload, d.Run, d.Seq, want.Payload, seq)
			}
			return got
		}
		var window []*message.Message
		for i := range 4 {
			window = append(window, expect(ch, sent[i], int64(i)))
		}
		expectNothing(t, ch, 300*time.Millisecond) // four await their Ack
		firstRun, _ := bus.DeliveryFromContext(window[0].Context())
		window[0].Ack()
		window = append(window, expect(ch, sent[4], 4)) // room for one more
		window[2].Ack()                                 // behind the unacked second: no room, no commit
		expectNothing(t, ch, 300*time.Millisecond)
		window[1].Nack()
		for i, want := range sent[1:6] {
			got := expect(ch, want, int64(i))
			if d, _ := bus.DeliveryFromContext(got.Context()); d.Run == firstRun.Run {
				t.Fatalf("redelivery of %s in the old run", got.Payload)
			}
			if i == 0 {
				got.Ack() // only the second is committed
			}
		}
		if window[3].Context().Err() == nil {
			t.Fatal("context of a message of the ended run not cancelled")
		}
		// The next member continues after the last offset below which everything was acked.
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(topic, sent[6:]...); err != nil {
			t.Fatal(err)
		}
		_, ch2 := newSub()
		for i, want := range sent[2:] {
			expect(ch2, want, int64(i)).Ack()
		}
	})

	t.Run("MaxInFlight caps the unacked messages over every partition; each Ack makes room for one more", func(t *testing.T) {
		t.Parallel()
		topic := "bus-test-cap-" + testenv.RandomSuffix()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := bus.EnsureTopics(ctx, brokers, bus.TopicSpec{Name: topic, Partitions: 2, ReplicationFactor: 1}); err != nil {
			t.Fatal(err)
		}
		pub := newTestPublisher(t, brokers)
		var sent []*message.Message
		for i := range 12 {
			msg := message.NewMessage(watermill.NewUUID(), []byte(strconv.Itoa(i)))
			msg.Metadata.Set(bus.MetadataPartitionKey, "stream-"+strconv.Itoa(i%4)) // both partitions
			sent = append(sent, msg)
		}
		if err := pub.Publish(topic, sent...); err != nil {
			t.Fatal(err)
		}
		sub, err := bus.NewSubscriber(bus.SubscriberConfig{
			Brokers: brokers, ConsumerGroup: "bus-test-cap-" + testenv.RandomSuffix(),
			MaxInFlightPerPartition: 10, MaxInFlight: 3,
		}, testLogger())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Close() })
		ch, err := sub.Subscribe(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		var unacked []*message.Message
		for len(got) < len(sent) {
			for len(unacked) < 3 {
				m := receive(t, ch, 30*time.Second)
				got[m.UUID] = true
				unacked = append(unacked, m)
			}
			if len(got) < len(sent) {
				expectNothing(t, ch, 200*time.Millisecond) // three await their Ack
			}
			unacked[0].Ack()
			unacked = unacked[1:]
		}
		for _, m := range sent {
			if !got[m.UUID] {
				t.Fatalf("message %s not delivered", m.Payload)
			}
		}
	})

	t.Run("closing stops every subscription and closes its channel; cancelling ctx closes one", func(t *testing.T) {
		t.Parallel()
		sub := newTestSubscriber(t, brokers, "bus-test-close-"+testenv.RandomSuffix())
		ctx, cancel := context.WithCancel(context.Background())
		a, err := sub.Subscribe(ctx, "bus-test-close-a-"+testenv.RandomSuffix())
		if err != nil {
			t.Fatal(err)
		}
		b, err := sub.Subscribe(context.Background(), "bus-test-close-b-"+testenv.RandomSuffix())
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		select {
		case _, open := <-a:
			if open {
				t.Fatal("unexpected message")
			}
		case <-time.After(15 * time.Second):
			t.Fatal("channel not closed after ctx cancel")
		}
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
		if _, open := <-b; open {
			t.Fatal("channel still open after Close")
		}
		if _, err := sub.Subscribe(context.Background(), "x"); err == nil {
			t.Fatal("Subscribe after Close succeeded")
		}
	})
}

func TestPublisher(t *testing.T) {
	t.Parallel()
	brokers := testenv.KafkaBrokers(t)

	t.Run("metadata travels as headers, the partition key as the Kafka key", func(t *testing.T) {
		t.Parallel()
		topic := "bus-test-headers-" + testenv.RandomSuffix()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := bus.EnsureTopics(ctx, brokers, bus.TopicSpec{Name: topic, Partitions: 1, ReplicationFactor: 1}); err != nil {
			t.Fatal(err)
		}
		metadata := map[string]string{
			bus.MetadataPartitionKey:   "job-42",
			bus.MetadataEventType:      "JobPosted",
			bus.MetadataStreamID:       "job-42",
			bus.MetadataStreamType:     "job",
			bus.MetadataStreamVersion:  "3",
			bus.MetadataGlobalPosition: "1234",
			bus.MetadataSchemaVersion:  "2",
			bus.MetadataCorrelationID:  "corr-1",
			bus.MetadataCausationID:    "cause-1",
			"custom":                   "ünïcode value",
		}
		keyed := message.NewMessage(watermill.NewUUID(), []byte(`{"title":"Go engineer"}`))
		for k, v := range metadata {
			keyed.Metadata.Set(k, v)
		}
		unkeyed := message.NewMessage(watermill.NewUUID(), []byte("no key"))
		pub := newTestPublisher(t, brokers)
		if err := pub.Publish(topic, keyed, unkeyed); err != nil {
			t.Fatal(err)
		}

		// What other Kafka clients see.
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: 0, MaxWait: 200 * time.Millisecond})
		defer r.Close()
		raw, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(raw.Key) != "job-42" {
			t.Errorf("key = %q, want the partition key", raw.Key)
		}
		headers := map[string]string{}
		for _, h := range raw.Headers {
			headers[h.Key] = string(h.Value)
		}
		for k, v := range metadata {
			if headers[k] != v {
				t.Errorf("header %s = %q, want %q", k, headers[k], v)
			}
		}
		if headers[bus.HeaderMessageUUID] != keyed.UUID {
			t.Errorf("header %s = %q, want %q", bus.HeaderMessageUUID, headers[bus.HeaderMessageUUID], keyed.UUID)
		}
		raw2, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(raw2.Key) != unkeyed.UUID {
			t.Errorf("key without partition key = %q, want the message UUID", raw2.Key)
		}

		// What a Subscriber hands to handlers.
		sub, err := bus.NewSubscriber(bus.SubscriberConfig{Brokers: brokers}, testLogger())
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		ch, err := sub.Subscribe(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		got := receive(t, ch, 30*time.Second)
		defer got.Ack()
		if got.UUID != keyed.UUID || string(got.Payload) != string(keyed.Payload) {
			t.Errorf("got %s %s, want %s %s", got.UUID, got.Payload, keyed.UUID, keyed.Payload)
		}
		if len(got.Metadata) != len(metadata) {
			t.Errorf("metadata = %v, want %v", got.Metadata, metadata)
		}
		for k, v := range metadata {
			if got.Metadata.Get(k) != v {
				t.Errorf("metadata %s = %q, want %q", k, got.Metadata.Get(k), v)
			}
		}
		d, ok := bus.DeliveryFromContext(got.Context())
		if !ok || d.Topic != topic || d.Partition != 0 || d.Offset != 0 || string(d.Key) != "job-42" || d.Time.IsZero() {
			t.Errorf("delivery = %+v, %v", d, ok)
		}
	})

	t.Run("refuses to publish after Close", func(t *testing.T) {
		t.Parallel()
		pub, err := bus.NewPublisher(bus.PublisherConfig{Brokers: brokers}, testLogger())
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Close(); err != nil {
			t.Fatal(err)
		}
		if err := pub.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := pub.Publish("whatever", message.NewMessage(watermill.NewUUID(), nil)); err != bus.ErrPublisherClosed {
			t.Fatalf("Publish after Close = %v, want ErrPublisherClosed", err)
		}
	})
}

func TestEnsureTopics(t *testing.T) {
	t.Parallel()
	brokers := testenv.KafkaBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("creates topics with their partitions and accepts existing ones", func(t *testing.T) {
		a := bus.TopicSpec{Name: "bus-test-ensure-a-" + testenv.RandomSuffix(), Partitions: 3, ReplicationFactor: 1}
		b := bus.TopicSpec{Name: "bus-test-ensure-b-" + testenv.RandomSuffix(), Partitions: 1, ReplicationFactor: 1}
		for range 2 {
			if err := bus.EnsureTopics(ctx, brokers, a, b); err != nil {
				t.Fatal(err)
			}
		}
		conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		parts, err := conn.ReadPartitions(a.Name, b.Name)
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, p := range parts {
			count[p.Topic]++
		}
		if count[a.Name] != 3 || count[b.Name] != 1 {
			t.Fatalf("partitions = %v", count)
		}
	})

	t.Run("sets min.insync.replicas on the topics it creates", func(t *testing.T) {
		spec := bus.TopicSpec{Name: "bus-test-ensure-isr-" + testenv.RandomSuffix(), Partitions: 1, ReplicationFactor: 1, MinInsyncReplicas: 1}
		if err := bus.EnsureTopics(ctx, brokers, spec); err != nil {
			t.Fatal(err)
		}
		res, err := (&kafka.Client{Addr: kafka.TCP(brokers...)}).DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{
			Resources: []kafka.DescribeConfigRequestResource{{
				ResourceType: kafka.ResourceTypeTopic, ResourceName: spec.Name, ConfigNames: []string{"min.insync.replicas"},
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range res.Resources {
			for _, e := range r.ConfigEntries {
				got = append(got, fmt.Sprintf("%s=%s default=%v", e.ConfigName, e.ConfigValue, e.IsDefault))
			}
		}
		if len(got) != 1 || got[0] != "min.insync.replicas=1 default=false" {
			t.Fatalf("configs = %v, want min.insync.replicas=1 set on the topic", got)
		}
		err = bus.EnsureTopics(ctx, brokers, bus.TopicSpec{Name: spec.Name + "-x", Partitions: 1, ReplicationFactor: 1, MinInsyncReplicas: 2})
		if err == nil || !strings.Contains(err.Error(), "min.insync.replicas") {
			t.Fatalf("min ISR above the replication factor: err = %v", err)
		}
	})

	t.Run("refuses invalid specs, naming every problem", func(t *testing.T) {
		err := bus.EnsureTopics(ctx, brokers, bus.TopicSpec{Name: "", Partitions: 0, ReplicationFactor: 0})
		if err == nil {
			t.Fatal("no error")
		}
		for _, want := range []string{"name is empty", "partitions", "replication factor"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	})
}

func TestNewPublisherAndSubscriberRefuseBadInput(t *testing.T) {
	t.Parallel()
	if _, err := bus.NewPublisher(bus.PublisherConfig{Brokers: []string{"x:9092"}}, nil); err == nil {
		t.Error("publisher accepted a nil logger")
	}
	_, err := bus.NewPublisher(bus.PublisherConfig{BatchTimeout: -1, MaxAttempts: -1}, testLogger())
	if err == nil || !strings.Contains(err.Error(), "brokers") || !strings.Contains(err.Error(), "batch timeout") || !strings.Contains(err.Error(), "max attempts") {
		t.Errorf("publisher config error = %v", err)
	}
	if _, err := bus.NewSubscriber(bus.SubscriberConfig{Brokers: []string{"x:9092"}}, nil); err == nil {
		t.Error("subscriber accepted a nil logger")
	}
	_, err = bus.NewSubscriber(bus.SubscriberConfig{StartOffset: 7, HeartbeatInterval: time.Minute, SessionTimeout: time.Second}, testLogger())
	if err == nil || !strings.Contains(err.Error(), "brokers") || !strings.Contains(err.Error(), "start offset") || !strings.Contains(err.Error(), "heartbeat") {
		t.Errorf("subscriber config error = %v", err)
	}
	_, err = bus.NewSubscriber(bus.SubscriberConfig{Brokers: []string{"x:9092"}, MaxInFlight: -1}, testLogger())
	if err == nil || !strings.Contains(err.Error(), "max in flight must not be negative") {
		t.Errorf("subscriber config error for a negative MaxInFlight = %v", err)
	}
}

// TestSubscriberSkip checks SubscriberConfig.Skip with one message in flight per partition
// and with a window: skipped records are never delivered, the others arrive in order (a
// nacked one again before its successors), and the offset committed passes the skipped
// records, a trailing one included, but never an unacked message.
func TestSubscriberSkip(t *testing.T) {
	t.Parallel()
	brokers := testenv.KafkaBrokers(t)
	for _, window := range []int{1, 8} {
		t.Run(fmt.Sprintf("window %d", window), func(t *testing.T) {
			t.Parallel()
			topic := "bus-test-skip-" + testenv.RandomSuffix()
			group := "bus-test-skip-" + testenv.RandomSuffix()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := bus.EnsureTopics(ctx, brokers, bus.TopicSpec{Name: topic, Partitions: 1, ReplicationFactor: 1}); err != nil {
				t.Fatal(err)
			}
			pub := newTestPublisher(t, brokers)
			publish := func(from, to int) {
				t.Helper()
				var msgs []*message.Message
				for v := from; v <= to; v++ {
					msg := message.NewMessage(watermill.NewUUID(), []byte("x"))
					msg.Metadata.Set(bus.MetadataStreamID, "stream")
					msg.Metadata.Set(bus.MetadataStreamVersion, strconv.Itoa(v))
					msgs = append(msgs, msg)
				}
				if err := pub.Publish(topic, msgs...); err != nil {
					t.Fatal(err)
				}
			}
			version := func(msg *message.Message) int {
				v, _ := strconv.Atoi(msg.Metadata.Get(bus.MetadataStreamVersion))
				return v
			}
			// Odd versions up to 31 are skipped: the last record published is one.
			publish(1, 31)
			var asked sync.Map
			sub, err := bus.NewSubscriber(bus.SubscriberConfig{
				Brokers: brokers, ConsumerGroup: group, NackResendSleep: 20 * time.Millisecond,
				MaxInFlightPerPartition: window,
				Skip: func(h bus.Headers) bool {
					v, err := strconv.Atoi(string(h.Get(bus.MetadataStreamVersion)))
					asked.Store(v, true)
					return err == nil && v%2 == 1
				},
			}, testLogger())
			if err != nil {
				t.Fatal(err)
			}
			ch, err := sub.Subscribe(ctx, topic)
			if err != nil {
				t.Fatal(err)
			}
			// Every delivery, in order. With a window the messages after the nacked one
			// that were already delivered come once more after it (a new run).
			var got []int
			nacked := false
			for len(got) == 0 || got[len(got)-1] != 30 {
				msg := receive(t, ch, 20*time.Second)
				v := version(msg)
				got = append(got, v)
				if v == 10 && !nacked {
					nacked = true
					msg.Nack()
					continue
				}
				msg.Ack()
			}
			redelivered := slices.Index(got, 10) + 1
			if redelivered == 0 || redelivered >= len(got) {
				t.Fatalf("delivered %v: no redelivery after the nack of 10", got)
			}
			after := got[redelivered:]
			if i := slices.Index(after, 10); i < 0 || !slices.IsSorted(after[i:]) {
				t.Fatalf("delivered %v: after the nack, not 10 and then its successors in order", got)
			}
			distinct := slices.Compact(slices.Sorted(slices.Values(got)))
			for i, v := range distinct {
				if v != 2*(i+1) || len(distinct) != 15 {
					t.Fatalf("delivered versions %v, want the even ones 2…30 (no skipped one)", got)
				}
			}
			expectNothing(t, ch, time.Second)
			if _, ok := asked.Load(31); !ok {
				t.Fatal("Skip was not asked about the last record")
			}
			if err := sub.Close(); err != nil {
				t.Fatal(err)
			}

			// A new member of the group without Skip starts after the trailing skipped
			// record: the first message it gets is the next one published.
			publish(32, 32)
			again := newTestSubscriber(t, brokers, group)
			ch2, err := again.Subscribe(ctx, topic)
			if err != nil {
				t.Fatal(err)
			}
			msg := receive(t, ch2, 20*time.Second)
			if v := version(msg); v != 32 {
				t.Fatalf("after the skipped records the group resumed at version %d, want 32", v)
			}
			msg.Ack()
		})
	}
}
