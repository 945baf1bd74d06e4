// Package projections turns the event stream into read models: projectors (one permanent
// name each, which is also their Kafka consumer group) run as Watermill router handlers
// over the bus Subscriber, with retries, a dead-letter topic, panic recovery, correlation
// ids, Prometheus metrics and a small batching layer that gives projectors bulk writes when
// events arrive in bursts.
//
// Projectors are idempotent and safe with out-of-order delivery across streams: each keeps
// the highest applied version per stream in its own schema (applied_streams) and skips
// events at or below it; the search projector also writes Elasticsearch documents with
// external versions taken from the job stream.
//
// Definitions is the one list of projections (the runner, rebuilds, status and dead-letter
// replay use it); Versions is the one owner of the projection_versions and
// projection_rebuilds tables. Events are decoded by storedevents' codec (DecodeEvent), the
// same as the write side's.
//
// It is an adapter: it imports domain/, eventstore/ (envelopes), storedevents/ (the codec),
// bus/ and readmodels/ (the shapes it writes), never commands/ or api/.
package projections
