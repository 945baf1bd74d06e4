-- +goose Up
-- Answers to POST requests sent with an Idempotency-Key, so a retried request returns the
-- first answer instead of running twice — across every `serve` instance, since the table is
-- the only state. The key is scoped by the caller (principal: "company:<id>",
-- "candidate:<id>", "operator", or "anonymous" on the public routes). Only a SHA-256 of the
-- key is stored, and the stored answer is encrypted with a key derived from the
-- Idempotency-Key (it may hold a freshly issued bearer token), so the table alone reveals
-- neither. Rows expire after 24 h (api.IdempotencyConfig.TTL); `serve` deletes expired rows.
CREATE TABLE idempotency_keys (
    principal     text        NOT NULL,
    key_hash      bytea       NOT NULL,
    method        text        NOT NULL,
    path          text        NOT NULL,
    request_hash  bytea       NOT NULL,
    state         text        NOT NULL CHECK (state IN ('in_progress', 'done')),
    status_code   integer,
    response      bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (principal, key_hash)
);

CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
