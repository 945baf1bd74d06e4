package bus

import (
	"context"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"
)

// Metadata keys set by the relay on every event message. Each travels as a Kafka header of
// the same name, so consumers outside Go can route and filter without decoding payloads.
const (
	// MetadataPartitionKey selects the Kafka key, hence the partition; the relay sets it to
	// the stream id so a stream's events stay in order. Absent, the message UUID is used.
	MetadataPartitionKey = "partition_key"
	// MetadataEventType is the stored event name, e.g. "JobPosted".
	MetadataEventType = "event_type"
	// MetadataStreamID is the id of the stream (aggregate) the event belongs to.
	MetadataStreamID = "stream_id"
	// MetadataStreamType is the kind of stream, e.g. "job".
	MetadataStreamType = "stream_type"
	// MetadataStreamVersion is the event's version within its stream (decimal).
	MetadataStreamVersion = "stream_version"
	// MetadataGlobalPosition is the event's position in the whole store (decimal).
	MetadataGlobalPosition = "global_position"
	// MetadataSchemaVersion is the schema version of the event's payload (decimal).
	MetadataSchemaVersion = "schema_version"
	// MetadataCorrelationID ties together everything caused by one request.
	MetadataCorrelationID = "correlation_id"
	// MetadataCausationID is the id of the command or event that caused this event.
	MetadataCausationID = "causation_id"
)

// HeaderMessageUUID is the Kafka header carrying the Watermill message UUID.
const HeaderMessageUUID = "_watermill_message_uuid"

// toKafka turns a Watermill message into a Kafka record: every metadata entry becomes a
// header, the UUID travels in HeaderMessageUUID.
func toKafka(topic string, msg *message.Message) kafka.Message {
	headers := make([]kafka.Header, 0, len(msg.Metadata)+1)
	headers = append(headers, kafka.Header{Key: HeaderMessageUUID, Value: []byte(msg.UUID)})
	for k, v := range msg.Metadata {
		headers = append(headers, kafka.Header{Key: k, Value: []byte(v)})
	}
	key := msg.Metadata.Get(MetadataPartitionKey)
	if key == "" {
		key = msg.UUID
	}
	return kafka.Message{
		Topic:   topic,
		Key:     []byte(key),
		Value:   msg.Payload,
		Headers: headers,
	}
}

// fromKafka is the inverse of toKafka. Headers other than HeaderMessageUUID become
// metadata; the last one wins if a key repeats.
func fromKafka(km kafka.Message) *message.Message {
	var uuid string
	md := make(message.Metadata, len(km.Headers))
	for _, h := range km.Headers {
		if h.Key == HeaderMessageUUID {
			uuid = string(h.Value)
			continue
		}
		md[h.Key] = string(h.Value)
	}
	msg := message.NewMessage(uuid, km.Value)
	msg.Metadata = md
	return msg
}

// Delivery says where a consumed message came from in Kafka.
type Delivery struct {
	// Topic is the Kafka topic.
	Topic string
	// Partition is the partition within Topic.
	Partition int
	// Offset is the record's offset within Partition.
	Offset int64
	// Key is the record's key (the partition key).
	Key []byte
	// Time is the record's timestamp.
	Time time.Time
	// Run and Seq order the messages of a partition when several are in flight at once
	// (SubscriberConfig.MaxInFlightPerPartition > 1): Run names one uninterrupted series of
	// deliveries of the partition, unique in the process, and Seq counts its messages from
	// 0 in offset order. A consumer handling them concurrently restores the order by
	// processing Seq n of a Run only after n-1. A nack ends the Run: every message not yet
	// acked is delivered again in a new one. Run is 0 with one message in flight per
	// partition, where the next message is delivered only after the previous one's Ack.
	Run uint64
	Seq int64
}

type deliveryKey struct{}

func withDelivery(ctx context.Context, km kafka.Message) context.Context {
	return withRunDelivery(ctx, km, 0, 0)
}

func withRunDelivery(ctx context.Context, km kafka.Message, run uint64, seq int64) context.Context {
	return context.WithValue(ctx, deliveryKey{}, Delivery{
		Topic:     km.Topic,
		Partition: km.Partition,
		Offset:    km.Offset,
		Key:       km.Key,
		Time:      km.Time,
		Run:       run,
		Seq:       seq,
	})
}

// ContextWithDelivery returns ctx carrying d as a Subscriber's message context does, for
// tests of consumers that read it.
func ContextWithDelivery(ctx context.Context, d Delivery) context.Context {
	return context.WithValue(ctx, deliveryKey{}, d)
}

// DeliveryFromContext returns the Kafka position of a message delivered by a Subscriber,
// read from the message's context (msg.Context()).
func DeliveryFromContext(ctx context.Context) (Delivery, bool) {
	d, ok := ctx.Value(deliveryKey{}).(Delivery)
	return d, ok
}
