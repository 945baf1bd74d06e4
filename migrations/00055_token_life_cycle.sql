-- +goose Up
-- Tokens with a life cycle (issue 10) and application ids that reveal nothing.

-- When each token was last used, written at most once a minute per token by the
-- authentication lookup (repository.Credentials), so authenticating stays a read.
ALTER TABLE credentials ADD COLUMN last_used_at timestamptz;

-- One token per account: a rotation replaces the row in the transaction of its
-- *.token_rotated event, and this index makes a racing second insert fail instead of leaving
-- two live tokens.
CREATE UNIQUE INDEX credentials_one_per_subject ON credentials (role, subject_id);
DROP INDEX credentials_subject;

-- New applications get random ids, so one application per candidate and job is a claim
-- (scope 'application', key domain.ApplicationKey = job_id || '/' || candidate_id). The
-- applications stored so far (ids derived from the pair) are claimed here, so a candidate
-- who applied before this migration still cannot apply twice.
INSERT INTO unique_claims (scope, key, stream_id, claimed_at)
SELECT 'application', (data->>'job_id') || '/' || (data->>'candidate_id'), stream_id, recorded_at
FROM events
WHERE event_type = 'application.submitted'
ON CONFLICT (scope, key) DO NOTHING;

-- +goose Down
DELETE FROM unique_claims WHERE scope = 'application';
CREATE INDEX credentials_subject ON credentials (subject_id);
DROP INDEX credentials_one_per_subject;
ALTER TABLE credentials DROP COLUMN last_used_at;
