// Package repository is the adapter between the command handlers and PostgreSQL: it
// implements commands.EventStore and commands.DueListings over eventstore.Store (domain
// events to and from stored events through storedevents' codec, the claims, credentials and listing-schedule rows written
// in the same transaction as the events), and the bearer-token lookup the API's auth
// middleware uses (Credentials).
//
// It is an adapter: it may import domain/, commands/, eventstore/, storedevents/ and pgx, never api/,
// projections/ or readmodels/.
package repository
