package repository

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/commands"
)

// maxTokenLen bounds what Lookup hashes; real tokens are 47 characters.
const maxTokenLen = 256

// LastUsedResolution is how stale a token's last_used_at may get: authentication writes it
// only when the stored value is older than this, so a busy token costs one write a minute,
// not one per request.
const LastUsedResolution = time.Minute

// Credentials finds whom a bearer token belongs to. Registrations and rotations store the
// tokens' hashes (commands.HashToken); the tokens themselves are never stored. Nothing is
// cached: every lookup asks PostgreSQL, so a rotated token fails from the rotation's commit.
type Credentials struct {
	pool *pgxpool.Pool
}

// NewCredentials returns the lookup over pool.
func NewCredentials(pool *pgxpool.Pool) (*Credentials, error) {
	if pool == nil {
		return nil, errors.New("repository: new credentials: nil pool")
	}
	return &Credentials{pool: pool}, nil
}

// Lookup returns the role (employer or candidate) and subject id (company or candidate id)
// of a bearer token; found is false for an unknown token. Operator tokens come from
// configuration and are not stored here.
//
// The same statement marks the token used: its UPDATE matches (and writes) only when
// last_used_at is older than LastUsedResolution, so most lookups stay one index read and
// one round trip.
func (c *Credentials) Lookup(ctx context.Context, token string) (role commands.Role, subjectID string, found bool, err error) {
	if token == "" || len(token) > maxTokenLen {
		return "", "", false, nil
	}
	var r string
	err = c.pool.QueryRow(ctx, `WITH hit AS (
			SELECT role, subject_id FROM credentials WHERE token_hash = $1
		), touch AS (
			UPDATE credentials SET last_used_at = now()
			WHERE token_hash = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))
		)
		SELECT role, subject_id FROM hit`,
		commands.HashToken(token), LastUsedResolution.Seconds()).Scan(&r, &subjectID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("look up credential: %w", err)
	}
	return commands.Role(r), subjectID, true, nil
}

// TokenInfo describes a stored token, never the token itself.
type TokenInfo struct {
	Role      commands.Role
	SubjectID string
	// CreatedAt is when the token was issued: registration or last rotation.
	CreatedAt time.Time
	// LastUsedAt is when it last authenticated a request, to within LastUsedResolution;
	// nil if never.
	LastUsedAt *time.Time
}

// Describe returns what is stored about token; found is false for an unknown token.
func (c *Credentials) Describe(ctx context.Context, token string) (info TokenInfo, found bool, err error) {
	if token == "" || len(token) > maxTokenLen {
		return TokenInfo{}, false, nil
	}
	var r string
	err = c.pool.QueryRow(ctx, `SELECT role, subject_id, created_at, last_used_at FROM credentials WHERE token_hash = $1`,
		commands.HashToken(token)).Scan(&r, &info.SubjectID, &info.CreatedAt, &info.LastUsedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return TokenInfo{}, false, nil
	}
	if err != nil {
		return TokenInfo{}, false, fmt.Errorf("describe credential: %w", err)
	}
	info.Role = commands.Role(r)
	return info, true, nil
}
