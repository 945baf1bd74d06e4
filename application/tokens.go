package application

import (
	"context"
	"errors"
	"time"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/repository"
)

// Tokens resolve the bearer tokens of employers and candidates (operators' tokens are
// configuration, checked by the front door).
type Tokens struct {
	// Authenticate is the employer or candidate whose token this is, or Unauthorized.
	Authenticate Handler[Authenticate, commands.Actor]
	// Describe is what is stored about an employer's or candidate's token, or Unauthorized.
	Describe Handler[DescribeToken, TokenInfo]
}

// Authenticate names a bearer token to resolve.
type Authenticate struct{ Token string }

// DescribeToken names a bearer token to describe.
type DescribeToken struct{ Token string }

// TokenInfo is what is stored about a token.
type TokenInfo struct {
	Role      commands.Role
	SubjectID string
	// CreatedAt is when the token was issued (registration or last rotation).
	CreatedAt time.Time
	// LastUsedAt is when it last authenticated a request, to within a minute; nil if never.
	LastUsedAt *time.Time
}

// NewTokens builds the token handlers over the stored token hashes.
func NewTokens(lookup *repository.Credentials) (*Tokens, error) {
	if lookup == nil {
		return nil, errors.New("application: tokens: nil credentials")
	}
	unknown := func() error { return apperr.New(apperr.Unauthorized, "unknown bearer token") }
	return &Tokens{
		Authenticate: HandlerFunc[Authenticate, commands.Actor](func(ctx context.Context, q Authenticate) (commands.Actor, error) {
			role, id, found, err := lookup.Lookup(ctx, q.Token)
			if err != nil {
				return commands.Actor{}, apperr.Wrap(apperr.Unavailable, err, "the credentials could not be checked; retry")
			}
			if !found || (role != commands.RoleEmployer && role != commands.RoleCandidate) {
				return commands.Actor{}, unknown()
			}
			return commands.Actor{Role: role, ID: id}, nil
		}),
		Describe: HandlerFunc[DescribeToken, TokenInfo](func(ctx context.Context, q DescribeToken) (TokenInfo, error) {
			info, found, err := lookup.Describe(ctx, q.Token)
			if err != nil {
				return TokenInfo{}, apperr.Wrap(apperr.Unavailable, err, "the credentials could not be read; retry")
			}
			if !found {
				return TokenInfo{}, unknown()
			}
			return TokenInfo{Role: info.Role, SubjectID: info.SubjectID, CreatedAt: info.CreatedAt, LastUsedAt: info.LastUsedAt}, nil
		}),
	}, nil
}
