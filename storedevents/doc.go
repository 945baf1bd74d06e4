// Package storedevents is the stored shape of the domain's events and the one codec that
// writes and reads it.
//
// What the events table holds (and Kafka carries, and analysts export) is kept forever, so
// it has types of its own: one per stored event name and schema version (payloads.go),
// with explicit JSON tags, mapped to and from the domain's events in one table (codec.go).
// The domain's events and value types, and the API's request and response shapes, carry no
// stored JSON: changing them cannot change history by accident (the payload types stop
// compiling or testdata/encoded.golden stops matching). Older schema versions are read
// through upcasters (upcasters.go) that rewrite the JSON to the next version.
//
// The codec is used by every reader and writer of events: the write side (repository/:
// Encode on append, Decode on load), the seed, the projectors and their rebuilds
// (projections.DecodeEvent), the admin stream view, and — through NewRegistry, the event
// store's upcasting registry — the history's replays. Decode upcasts first, so it gives the
// same event whether or not the store's registry already upcast it.
//
// testdata/seed-history.ndjson.gz is a frozen history written by `seed` with the code of
// before this package; frozen_test.go proves every event of it decodes, encodes and folds
// exactly as that code did.
//
// It may import domain/ and eventstore/ only.
package storedevents
