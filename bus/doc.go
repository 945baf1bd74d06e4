// Package bus carries events between processes: a Watermill message.Publisher and
// message.Subscriber implemented over segmentio/kafka-go, plus the topic administration the
// application needs (EnsureTopics).
//
// Delivery is at-least-once. The publisher returns only after Kafka acknowledged every
// message (acks=all); the Kafka key is the stream id (metadata "partition_key"), so one
// stream's events stay in one partition and in order. The subscriber processes one message
// per partition at a time and commits a partition's offset only after its message was
// acked; a nacked message is redelivered until it is acked.
//
// bus is an adapter: it must not import domain/, commands/ or any other package of this
// module.
package bus
