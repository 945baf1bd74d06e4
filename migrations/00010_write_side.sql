-- +goose Up
-- Write-side tables of the command handlers (commands/, repository/). Each is written in
-- the same transaction as the events it belongs to, never by projectors.

-- Unique claims: one company per e-mail address, one candidate per e-mail address. The
-- primary key makes the second of two racing registrations fail without a read-then-write
-- race; the claim commits or rolls back with the registration's events.
CREATE TABLE unique_claims (
    scope      text        NOT NULL,
    key        text        NOT NULL,
    stream_id  text        NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- Bearer tokens of employers and candidates, stored as their SHA-256 only.
CREATE TABLE credentials (
    token_hash bytea       PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    role       text        NOT NULL CHECK (role IN ('employer', 'candidate')),
    subject_id text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credentials_subject ON credentials (subject_id);

-- When each published job's listing runs out, for the expiry scheduler. A row is written
-- with the job.published event and deleted with job.closed / job.expired. leased_until is
-- set by the scheduler that claimed the row (SELECT … FOR UPDATE SKIP LOCKED), so several
-- schedulers share the due jobs; a lapsed lease lets another scheduler retry.
CREATE TABLE listing_schedule (
    job_id       text        PRIMARY KEY,
    expires_at   timestamptz NOT NULL,
    leased_until timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX listing_schedule_due ON listing_schedule (expires_at);

-- +goose Down
DROP TABLE listing_schedule;
DROP TABLE credentials;
DROP TABLE unique_claims;
