// Package history reads the event history for analysts: it exports (stored rows as they
// are) and replays (upcast to the current schema versions) the store's events in
// commit-safe order to an io.Writer as NDJSON or CSV, in batches so memory stays constant
// whatever the history's size, and follows live events (Tail).
//
// It is an adapter over eventstore: it must not import domain/, commands/ or the HTTP and
// projection layers. cmd/ builds it and renders its Progress.
package history
