// Package eventstore is the PostgreSQL event store of jobboard: per-stream optimistic
// concurrency on append, loading a stream, reading and tailing every event in commit-safe
// order, a registry of event types with upcasters, and the relay that publishes the store
// (which is also the outbox) to a Watermill publisher.
//
// # Commit-safe order
//
// global_position comes from an identity column, so it is allocated when a row is inserted,
// not when its transaction commits: a reader that remembers "the highest position I saw" can
// skip a lower position committed later by a slower transaction. Readers therefore never order
// by global_position alone. Every row records the id of the transaction that wrote it
// (transaction_id xid8, DEFAULT pg_current_xact_id()) and global reads are ordered by
//
//	(transaction_id, global_position)
//
// returning only rows whose transaction_id is below pg_snapshot_xmin(pg_current_snapshot()),
// the oldest transaction still in flight when the read started. Every transaction that is still
// running, or that has not been assigned an id yet, has an id >= that xmin, so nothing that
// commits later can sort before what a reader has already consumed: a checkpoint
// (transaction_id, global_position) never skips an event. The cost is latency: a long-running
// transaction that holds an xid (anywhere in the cluster) holds back every tailing reader until
// it ends; the reader notices committed-but-held-back rows and re-polls with a short backoff.
//
// A reader that only knows a global position (the API's after=<global_position>) resumes from
// the Position of that row, see [Store.PositionOf]. See docs/adr/0001-commit-safe-order.md.
//
// # Wake-ups
//
// After an append commits, the store calls pg_notify on its channel ("events"); a NOTIFY
// inside the appending transaction would serialise every commit on PostgreSQL's notify
// lock. AppendTx leaves the commit to the caller, who calls Store.Notify after it. Tailing
// readers LISTEN on that channel and also poll (1 s by default) in case a notification was
// lost (a reconnect, a transaction that committed without notifying).
//
// This package is an adapter: it may import pgx and Watermill, never domain/, commands/ or
// other adapters. Event types and upcasters are registered by storedevents.NewRegistry.
package eventstore
