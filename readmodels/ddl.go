package readmodels

import "fmt"

// ReadTablesDDL returns the statements that create one version of the read tables in
// schema. Version 1 was created by migrations/00030_read_models.sql and 00056_job_payments.sql
// with the same shape;
// rebuilds create version N+1 with this, so the two must stay equal (a test compares them).
func ReadTablesDDL(schema string) ([]string, error) {
	if !ValidSchemaName(schema) {
		return nil, fmt.Errorf("readmodels: invalid schema name %q", schema)
	}
	return []string{
		`CREATE SCHEMA ` + schema,
		appliedStreamsDDL(schema),
		`CREATE TABLE ` + schema + `.companies (
    id            text PRIMARY KEY,
    name          text        NOT NULL,
    email         text        NOT NULL,
    website       text        NOT NULL DEFAULT '',
    description   text        NOT NULL DEFAULT '',
    registered_at timestamptz NOT NULL,
    version       bigint      NOT NULL
)`,
		`CREATE TABLE ` + schema + `.candidates (
    id            text PRIMARY KEY,
    name          text        NOT NULL,
    email         text        NOT NULL,
    registered_at timestamptz NOT NULL,
    version       bigint      NOT NULL
)`,
		`CREATE TABLE ` + schema + `.jobs (
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
)`,
		`CREATE INDEX jobs_company ON ` + schema + `.jobs (company_id, posted_at DESC, id DESC)`,
		`CREATE INDEX jobs_company_open ON ` + schema + `.jobs (company_id, expires_at) WHERE status = 'published'`,
		`CREATE TABLE ` + schema + `.applications (
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
)`,
		`CREATE INDEX applications_job ON ` + schema + `.applications (job_id, submitted_at DESC, id DESC)`,
		`CREATE INDEX applications_candidate ON ` + schema + `.applications (candidate_id, submitted_at DESC, id DESC)`,
		// migrations/00056_job_payments.sql
		`CREATE TABLE ` + schema + `.job_payments (
    job_id       text        NOT NULL,
    payment_id   text        NOT NULL,
    plan         text        NOT NULL,
    amount       bigint      NOT NULL,
    currency     text        NOT NULL,
    status       text        NOT NULL,
    requested_at timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (job_id, payment_id)
)`,
	}, nil
}

// SearchTablesDDL returns the statements that create one version of the job search
// projector's side tables in schema (version 1: migrations/00030_read_models.sql).
func SearchTablesDDL(schema string) ([]string, error) {
	if !ValidSchemaName(schema) {
		return nil, fmt.Errorf("readmodels: invalid schema name %q", schema)
	}
	return []string{
		`CREATE SCHEMA ` + schema,
		appliedStreamsDDL(schema),
		`CREATE TABLE ` + schema + `.companies (
    id   text PRIMARY KEY,
    name text NOT NULL
)`,
		`CREATE TABLE ` + schema + `.jobs (
    id           text PRIMARY KEY,
    company_id   text        NOT NULL,
    details      jsonb       NOT NULL,
    status       text        NOT NULL,
    featured     boolean     NOT NULL DEFAULT false,
    posted_at    timestamptz NOT NULL,
    published_at timestamptz,
    expires_at   timestamptz,
    indexed      boolean     NOT NULL DEFAULT false,
    version      bigint      NOT NULL
)`,
		`CREATE INDEX search_jobs_company ON ` + schema + `.jobs (company_id) WHERE indexed`,
	}, nil
}

func appliedStreamsDDL(schema string) string {
	return `CREATE TABLE ` + schema + `.applied_streams (
    stream_id       text        PRIMARY KEY,
    version         bigint      NOT NULL,
    global_position bigint      NOT NULL DEFAULT 0,
    applied_at      timestamptz NOT NULL DEFAULT now()
)`
}
