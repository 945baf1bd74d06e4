// Package commands is the write side of jobboard: one command type and one handler per use
// case. A handler loads an aggregate from its stream, lets domain/ decide, and appends the
// recorded events with the version it loaded as the expected version; a conflicting
// concurrent write is retried when the caller did not pin a version, and answered
// apperr.VersionMismatch when it did. Every handler answers a Result with the stream's new
// version and a consistency token, and returns only *apperr.Error.
//
// The package declares the ports it needs (EventStore, PaymentGateway, DueListings, Clock,
// IDGenerator); adapters implement them and cmd/ wires them. It must not import the event
// store, pgx, Stripe or net/http: the module's import table (internal/boundaries) fails on
// such an import. Handler tests run on the in-memory store (commands/memstore), which passes
// the same acceptance suite (commands/eventstoretest) as the PostgreSQL one.
package commands
