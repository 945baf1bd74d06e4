package repository

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/commands"
)

// maxTokenLen bounds what Lookup hashes; real tokens are 47 characters.
const maxTokenLen = 256

// Credentials finds whom a bearer token belongs to. Registrations store the tokens' hashes
// (commands.HashToken); the tokens themselves are never stored.
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
func (c *Credentials) Lookup(ctx context.Context, token string) (role commands.Role, subjectID string, found bool, err error) {
	if token == "" || len(token) > maxTokenLen {
		return "", "", false, nil
	}
	var r string
	err = c.pool.QueryRow(ctx, `SELECT role, subject_id FROM credentials WHERE token_hash = $1`,
		commands.HashToken(token)).Scan(&r, &subjectID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("look up credential: %w", err)
	}
	return commands.Role(r), subjectID, true, nil
}
