package bus_test

import (
	"log/slog"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"

	"github.com/jobboard/jobboard/bus"
	"github.com/jobboard/jobboard/internal/testenv"
)

// testLogger logs warnings and errors only; BUS_TEST_LOG=debug shows everything.
func testLogger() watermill.LoggerAdapter {
	level := slog.LevelWarn
	if os.Getenv("BUS_TEST_LOG") == "debug" {
		level = slog.LevelDebug - 4 // Watermill's trace level
	}
	return watermill.NewSlogLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// groupFor names the consumer group of every subscriber a suite test creates: one group per
// test, shared by the subscribers of that test (kafka rebalances a whole group whenever a
// member comes or goes, so tests must not share groups).
func groupFor(t *testing.T) string {
	return "bus-test." + nonWord.ReplaceAllString(t.Name(), "_")
}

func newPubSub(t *testing.T, group string, partitions int) (message.Publisher, message.Subscriber) {
	t.Helper()
	return newPubSubInFlight(t, group, partitions, 1)
}

func newPubSubInFlight(t *testing.T, group string, partitions, inFlight int) (message.Publisher, message.Subscriber) {
	t.Helper()
	brokers := testenv.KafkaBrokers(t)
	logger := testLogger()
	pub, err := bus.NewPublisher(bus.PublisherConfig{
		Brokers:         brokers,
		TopicPartitions: partitions,
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := bus.NewSubscriber(bus.SubscriberConfig{
		Brokers:         brokers,
		ConsumerGroup:   group,
		TopicPartitions: partitions,
		// The suite nacks hundreds of times in a row; production keeps the 100 ms default.
		NackResendSleep:         20 * time.Millisecond,
		MaxInFlightPerPartition: inFlight,
		// Below partitions × inFlight, as the projectors' cap is: the cap is exercised too.
		MaxInFlight: 2 * inFlight,
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	return pub, sub
}

// TestPubSub runs Watermill's universal Pub/Sub suite with consumer groups on topics of
// several partitions. Messages without a partition key land on different partitions, so
// the suite's notion of order (all messages of a "type" in publish order) does not hold:
// GuaranteedOrder is false here, and proven per partition by TestPubSubSinglePartition
// and per partition key by TestSubscriber.
func TestPubSub(t *testing.T) {
	t.Parallel()
	tests.TestPubSub(t,
		tests.Features{
			ConsumerGroups:                   true,
			ExactlyOnceDelivery:              false,
			GuaranteedOrder:                  false,
			Persistent:                       true,
			RequireSingleInstance:            false,
			NewSubscriberReceivesOldMessages: false,
		},
		func(t *testing.T) (message.Publisher, message.Subscriber) {
			return newPubSub(t, groupFor(t), bus.DefaultTopicPartitions)
		},
		func(t *testing.T, group string) (message.Publisher, message.Subscriber) {
			return newPubSub(t, group, bus.DefaultTopicPartitions)
		},
	)
}

// TestPubSubSinglePartition runs the suite on single-partition topics, where every
// message shares one partition and so one order: GuaranteedOrder is true, which also
// enables the suite's TestNoAck (no next message before the previous one is acked).
func TestPubSubSinglePartition(t *testing.T) {
	t.Parallel()
	tests.TestPubSub(t,
		tests.Features{
			ConsumerGroups:                   true,
			ExactlyOnceDelivery:              false,
			GuaranteedOrder:                  true,
			Persistent:                       true,
			RequireSingleInstance:            false,
			NewSubscriberReceivesOldMessages: false,
		},
		func(t *testing.T) (message.Publisher, message.Subscriber) {
			return newPubSub(t, groupFor(t), 1)
		},
		func(t *testing.T, group string) (message.Publisher, message.Subscriber) {
			return newPubSub(t, group, 1)
		},
	)
}

// TestPubSubNoConsumerGroup runs the suite in the no-group mode: every subscriber reads
// every partition from the first offset, so a new subscriber receives old messages.
func TestPubSubNoConsumerGroup(t *testing.T) {
	t.Parallel()
	tests.TestPubSub(t,
		tests.Features{
			ConsumerGroups:                   false,
			ExactlyOnceDelivery:              false,
			GuaranteedOrder:                  false,
			Persistent:                       true,
			RequireSingleInstance:            false,
			NewSubscriberReceivesOldMessages: true,
		},
		func(t *testing.T) (message.Publisher, message.Subscriber) {
			return newPubSub(t, "", bus.DefaultTopicPartitions)
		},
		nil,
	)
}

// TestPubSubSeveralInFlightPerPartition runs the suite with up to 50 unacked messages per
// partition and 100 over all partitions, as the projectors consume. The next message no longer waits for the previous
// one's Ack, so GuaranteedOrder is false (it would enable TestNoAck); delivery order per
// partition is proven by TestSubscriberInFlightWindowKeepsOrder.
func TestPubSubSeveralInFlightPerPartition(t *testing.T) {
	t.Parallel()
	tests.TestPubSub(t,
		tests.Features{
			ConsumerGroups:                   true,
			ExactlyOnceDelivery:              false,
			GuaranteedOrder:                  false,
			Persistent:                       true,
			RequireSingleInstance:            false,
			NewSubscriberReceivesOldMessages: false,
		},
		func(t *testing.T) (message.Publisher, message.Subscriber) {
			return newPubSubInFlight(t, groupFor(t), bus.DefaultTopicPartitions, 50)
		},
		func(t *testing.T, group string) (message.Publisher, message.Subscriber) {
			return newPubSubInFlight(t, group, bus.DefaultTopicPartitions, 50)
		},
	)
}
