-- +goose Up
-- Job alerts (issue 13). AlertsProjector v1: the alerts and the e-mail preferences of
-- accounts, rebuilt like every projection (readmodels.AlertsTablesDDL makes version N+1 with
-- this shape).
INSERT INTO projection_versions (projection, version, state, pg_schema, es_index, promoted_at) VALUES
    ('AlertsProjector', 1, 'live', 'alerts_v1', NULL, now());

CREATE SCHEMA alerts_v1;

CREATE TABLE alerts_v1.applied_streams (
    stream_id       text        PRIMARY KEY,
    version         bigint      NOT NULL,
    global_position bigint      NOT NULL DEFAULT 0,
    applied_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alerts_v1.alerts (
    id           text PRIMARY KEY,
    candidate_id text        NOT NULL,
    criteria     jsonb       NOT NULL,
    frequency    text        NOT NULL,
    active       boolean     NOT NULL,
    created_at   timestamptz NOT NULL,
    deleted_at   timestamptz,
    version      bigint      NOT NULL
);
CREATE INDEX alerts_candidate ON alerts_v1.alerts (candidate_id, created_at DESC, id) WHERE active;
CREATE INDEX alerts_frequency ON alerts_v1.alerts (frequency, id) WHERE active;

CREATE TABLE alerts_v1.email_preferences (
    subject_id text PRIMARY KEY,
    role       text        NOT NULL,
    off        text[]      NOT NULL,
    updated_at timestamptz NOT NULL
);

-- The digest runs of the alert scheduler (not a projection: they record e-mails decided,
-- not events). A run covers the jobs published in [period_start, period_end) for the alerts
-- of one frequency; finished_at is set once every alert's e-mail is in the notifier's
-- outbox, so a re-run of a finished period sends nothing, and a run cut short is run again
-- (the outbox's idempotency keys make its repeated e-mails no-ops).
CREATE TABLE alert_digest_runs (
    frequency    text        NOT NULL,
    period_end   timestamptz NOT NULL,
    period_start timestamptz NOT NULL,
    alerts       integer     NOT NULL DEFAULT 0,
    emails       integer     NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    PRIMARY KEY (frequency, period_end)
);

-- +goose Down
DROP TABLE alert_digest_runs;
DROP SCHEMA alerts_v1 CASCADE;
DELETE FROM projection_versions WHERE projection = 'AlertsProjector';
