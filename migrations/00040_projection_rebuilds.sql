-- +goose Up
-- Projection operations (issue 6): rebuild runs, dead letters, and the rebuilding state of
-- projection_versions. A rebuild fills version N+1 beside the live N; its progress lives
-- here so the admin API of any process can report it while the CLI (or another process)
-- runs it.

CREATE TABLE projection_rebuilds (
    id             uuid        PRIMARY KEY,
    projection     text        NOT NULL,
    from_version   integer     NOT NULL,
    to_version     integer     NOT NULL,
    state          text        NOT NULL CHECK (state IN ('running', 'catching_up', 'swapping', 'done', 'failed', 'cancelled')),
    events_done    bigint      NOT NULL DEFAULT 0,
    events_total   bigint      NOT NULL DEFAULT 0,
    events_per_second double precision NOT NULL DEFAULT 0,
    error          text        NOT NULL DEFAULT '',
    cancel_requested boolean   NOT NULL DEFAULT false,
    -- heartbeat_at is bumped while the run progresses; a running row whose heartbeat is old
    -- belongs to a process that died: the next rebuild marks it failed and drops its version.
    heartbeat_at   timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);
-- At most one unfinished rebuild per projection.
CREATE UNIQUE INDEX projection_rebuilds_active ON projection_rebuilds (projection)
    WHERE state IN ('running', 'catching_up', 'swapping');
CREATE INDEX projection_rebuilds_recent ON projection_rebuilds (projection, started_at DESC);

-- Dead letters: every event a projector gave up on, recorded when the poison queue
-- publishes it to jobboard.dlq.<projector> (the topic stays the transport; this table is
-- what operators list, inspect and re-drive).
CREATE TABLE projection_dead_letters (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    projection      text        NOT NULL,
    message_uuid    text        NOT NULL,
    event_id        text        NOT NULL DEFAULT '',
    event_type      text        NOT NULL DEFAULT '',
    stream_id       text        NOT NULL DEFAULT '',
    global_position bigint      NOT NULL DEFAULT 0,
    topic           text        NOT NULL DEFAULT '',
    reason          text        NOT NULL DEFAULT '',
    payload         bytea       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    dead_at         timestamptz NOT NULL DEFAULT now(),
    replayed_at     timestamptz,
    replay_error    text        NOT NULL DEFAULT '',
    UNIQUE (projection, message_uuid)
);
CREATE INDEX projection_dead_letters_open ON projection_dead_letters (projection, id) WHERE replayed_at IS NULL;

-- +goose Down
DROP TABLE projection_dead_letters;
DROP TABLE projection_rebuilds;
