// Package alerting sends the e-mails of job alerts: the instant matcher (a consumer of the
// job streams that matches each publication against the instant alerts) and the digest
// scheduler (daily and weekly). Both match with readmodels.MatchAlerts, which runs every
// alert's search with the query builder of GET /v1/jobs, and record their messages in the
// notifier's outbox (notifier.Enqueue) under deterministic keys, so a repeat sends nothing
// twice. It is an adapter: it must not be imported by domain/, commands/ or readmodels/.
package alerting
