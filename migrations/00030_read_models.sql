-- +goose Up
-- Read side. Each projection version owns a PostgreSQL schema of its own (rm_v1 for the read
-- tables, search_v1 for the job search projector's side tables), apart from the event store,
-- so a rebuild can fill version N+1 in a new schema beside the live N and swap by flipping
-- projection_versions. Queries resolve the live schema from projection_versions.

CREATE TABLE projection_versions (
    projection  text        NOT NULL,
    version     integer     NOT NULL CHECK (version > 0),
    state       text        NOT NULL CHECK (state IN ('live', 'rebuilding', 'retired', 'failed')),
    pg_schema   text        NOT NULL,
    es_index    text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    promoted_at timestamptz,
    PRIMARY KEY (projection, version)
);
-- At most one live version per projection.
CREATE UNIQUE INDEX projection_versions_live ON projection_versions (projection) WHERE state = 'live';

INSERT INTO projection_versions (projection, version, state, pg_schema, es_index, promoted_at) VALUES
    ('ReadTablesProjector', 1, 'live', 'rm_v1', NULL, now()),
    ('JobSearchProjector', 1, 'live', 'search_v1', 'jobs-v1', now());

-- ReadTablesProjector v1 ------------------------------------------------------------------
CREATE SCHEMA rm_v1;

-- applied_streams: the highest stream version the projection applied, per stream. It makes
-- redeliveries no-ops and answers read-your-writes waits.
CREATE TABLE rm_v1.applied_streams (
    stream_id       text        PRIMARY KEY,
    version         bigint      NOT NULL,
    global_position bigint      NOT NULL DEFAULT 0,
    applied_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rm_v1.companies (
    id            text PRIMARY KEY,
    name          text        NOT NULL,
    email         text        NOT NULL,
    website       text        NOT NULL DEFAULT '',
    description   text        NOT NULL DEFAULT '',
    registered_at timestamptz NOT NULL,
    version       bigint      NOT NULL
);

CREATE TABLE rm_v1.candidates (
    id            text PRIMARY KEY,
    name          text        NOT NULL,
    email         text        NOT NULL,
    registered_at timestamptz NOT NULL,
    version       bigint      NOT NULL
);

CREATE TABLE rm_v1.jobs (
    id              text PRIMARY KEY,
    company_id      text        NOT NULL,
    status          text        NOT NULL,
    title           text        NOT NULL,
    description     text        NOT NULL,
    employment_type text        NOT NULL,
    seniority       text        NOT NULL,
    location        jsonb       NOT NULL,
    salary          jsonb,
    tags            text[]      NOT NULL DEFAULT '{}',
    apply_url       text        NOT NULL DEFAULT '',
    plan            text        NOT NULL DEFAULT '',
    featured        boolean     NOT NULL DEFAULT false,
    payment_id      text        NOT NULL DEFAULT '',
    payment_status  text        NOT NULL DEFAULT '',
    posted_at       timestamptz NOT NULL,
    published_at    timestamptz,
    expires_at      timestamptz,
    closed_at       timestamptz,
    expired_at      timestamptz,
    updated_at      timestamptz NOT NULL,
    version         bigint      NOT NULL
);
CREATE INDEX jobs_company ON rm_v1.jobs (company_id, posted_at DESC, id DESC);
CREATE INDEX jobs_company_open ON rm_v1.jobs (company_id, expires_at) WHERE status = 'published';

CREATE TABLE rm_v1.applications (
    id           text PRIMARY KEY,
    job_id       text        NOT NULL,
    company_id   text        NOT NULL,
    candidate_id text        NOT NULL,
    status       text        NOT NULL,
    resume_url   text        NOT NULL,
    cover_letter text        NOT NULL DEFAULT '',
    submitted_at timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    version      bigint      NOT NULL
);
CREATE INDEX applications_job ON rm_v1.applications (job_id, submitted_at DESC, id DESC);
CREATE INDEX applications_candidate ON rm_v1.applications (candidate_id, submitted_at DESC, id DESC);

-- JobSearchProjector v1: what it needs to build search documents ---------------------------
CREATE SCHEMA search_v1;

CREATE TABLE search_v1.applied_streams (
    stream_id       text        PRIMARY KEY,
    version         bigint      NOT NULL,
    global_position bigint      NOT NULL DEFAULT 0,
    applied_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE search_v1.companies (
    id   text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE search_v1.jobs (
    id           text PRIMARY KEY,
    company_id   text        NOT NULL,
    details      jsonb       NOT NULL,
    status       text        NOT NULL,
    featured     boolean     NOT NULL DEFAULT false,
    posted_at    timestamptz NOT NULL,
    published_at timestamptz,
    expires_at   timestamptz,
    -- indexed: the job has a search document (it was published at least once).
    indexed      boolean     NOT NULL DEFAULT false,
    version      bigint      NOT NULL
);
CREATE INDEX search_jobs_company ON search_v1.jobs (company_id) WHERE indexed;

-- +goose Down
DROP SCHEMA search_v1 CASCADE;
DROP SCHEMA rm_v1 CASCADE;
DROP TABLE projection_versions;
