// Package readmodels holds what the query side reads: the Elasticsearch job search index
// (mapping, alias, document shape) and the PostgreSQL read tables, with the query functions
// the HTTP API calls and the read-your-writes wait (WaitForStream, woken through
// ListenApplied by the projectors' notifications).
//
// It is an adapter: it may import domain/ for shared value names and internal/apperr, but
// never commands/, eventstore/, projections/ or api/. The projectors (projections/) write
// the shapes defined here.
package readmodels
