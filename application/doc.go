// Package application is the one application layer: an Application holds every command
// and query handler of jobboard behind one generic shape, Handler[Q, R], each wrapped once
// in the same decorators (a log line, Prometheus metrics per command and query, the
// request's correlation id carried into both). Front doors — the HTTP API today, a web
// front-end, an email notifier or the CLI tomorrow — call it directly with the commands/
// and readmodels/ types themselves: there is no translation layer per front door, and
// nothing here knows HTTP.
//
// Commands are commands/' handlers as they are. Queries read readmodels/ (never the event
// store); the operators' handlers read projections/ and the event history. The storage a
// front door needs for its own contract (Idempotency-Key answers) is the IdempotencyStore
// interface declared here and implemented over PostgreSQL in repository/.
package application
