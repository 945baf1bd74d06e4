-- +goose Up
-- Issue 10: the owner sees every listing payment of a job (GET /v1/jobs/{id} `payments`),
-- with its status (requested, paid, failed, canceled, refunded). The table is added to every
-- live or rebuilding version of the read tables (readmodels.ReadTablesDDL creates it in new
-- versions). Payments of events applied before this migration are not in it: rebuild
-- ReadTablesProjector (POST /v1/admin/projections/ReadTablesProjector/rebuild) to fill them.
-- +goose StatementBegin
DO $$
DECLARE
    s text;
BEGIN
    FOR s IN SELECT v.pg_schema FROM projection_versions v
            JOIN information_schema.schemata n ON n.schema_name = v.pg_schema
            WHERE v.projection = 'ReadTablesProjector' AND v.state IN ('live', 'rebuilding')
    LOOP
        EXECUTE format($ddl$CREATE TABLE %I.job_payments (
    job_id       text        NOT NULL,
    payment_id   text        NOT NULL,
    plan         text        NOT NULL,
    amount       bigint      NOT NULL,
    currency     text        NOT NULL,
    status       text        NOT NULL,
    requested_at timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (job_id, payment_id)
)$ddl$, s);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    s text;
BEGIN
    FOR s IN SELECT v.pg_schema FROM projection_versions v
            JOIN information_schema.schemata n ON n.schema_name = v.pg_schema
            WHERE v.projection = 'ReadTablesProjector'
    LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I.job_payments', s);
    END LOOP;
END
$$;
-- +goose StatementEnd
