package commands

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jobboard/jobboard/domain"
)

// Token prefixes tell a company's token from a candidate's at a glance (and to secret
// scanners).
const (
	CompanyTokenPrefix   = "jbc_"
	CandidateTokenPrefix = "jbk_"
)

// tokenBytes is the entropy of a bearer token.
const tokenBytes = 32

// newToken returns a random bearer token with prefix.
func newToken(prefix string) (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new token: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken is how a bearer token is stored and looked up: its SHA-256. Tokens carry 256
// random bits, so a fast unsalted hash is enough (there is nothing to brute-force).
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// RegistrationResult is the answer to a registration: the new account and its bearer token,
// shown this once (only its hash is stored).
type RegistrationResult struct {
	Result
	Token string
}

// RegisterCompany signs a company up (POST /v1/companies).
type RegisterCompany struct {
	Caller Caller
	Input  domain.CompanyInput
}

// RegisterCompanyHandler handles RegisterCompany.
type RegisterCompanyHandler struct {
	store EventStore
	clock Clock
	ids   IDGenerator
}

// NewRegisterCompanyHandler returns a handler; every dependency is required.
func NewRegisterCompanyHandler(store EventStore, clock Clock, ids IDGenerator) (*RegisterCompanyHandler, error) {
	if err := required(store, clock, ids); err != nil {
		return nil, fmt.Errorf("new register company handler: %w", err)
	}
	return &RegisterCompanyHandler{store: store, clock: clock, ids: ids}, nil
}

// Handle registers the company, reserves its e-mail address (one company per address,
// compared trimmed and case-insensitively) and stores its token's hash, all in one
// transaction. A taken address is apperr.Conflict.
func (h *RegisterCompanyHandler) Handle(ctx context.Context, cmd RegisterCompany) (RegistrationResult, error) {
	id := h.ids()
	token, err := newToken(CompanyTokenPrefix)
	if err != nil {
		return RegistrationResult{}, translate(err, "company")
	}
	x := execution{store: h.store, streamID: id, metadata: cmd.Caller.metadata("RegisterCompany", h.ids), what: "company"}
	res, err := x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		if s.Version != 0 {
			return decision{}, fmt.Errorf("company %s: %w", id, domain.ErrAlreadyExists)
		}
		c, err := domain.RegisterCompany(id, cmd.Input, h.clock())
		if err != nil {
			return decision{}, err
		}
		return decision{
			streamType: c.StreamType(),
			events:     c.Changes(),
			claims:     []Claim{{Scope: ClaimCompanyEmail, Key: domain.CompanyEmailKey(c.Email()), StreamID: id}},
			credential: &Credential{TokenHash: HashToken(token), Role: RoleEmployer, SubjectID: id, IssuedAt: c.RegisteredAt()},
		}, nil
	})
	if err != nil {
		return RegistrationResult{}, err
	}
	return RegistrationResult{Result: res, Token: token}, nil
}

// RegisterCandidate signs a candidate up (POST /v1/candidates).
type RegisterCandidate struct {
	Caller Caller
	Input  domain.CandidateInput
}

// RegisterCandidateHandler handles RegisterCandidate.
type RegisterCandidateHandler struct {
	store EventStore
	clock Clock
	ids   IDGenerator
}

// NewRegisterCandidateHandler returns a handler; every dependency is required.
func NewRegisterCandidateHandler(store EventStore, clock Clock, ids IDGenerator) (*RegisterCandidateHandler, error) {
	if err := required(store, clock, ids); err != nil {
		return nil, fmt.Errorf("new register candidate handler: %w", err)
	}
	return &RegisterCandidateHandler{store: store, clock: clock, ids: ids}, nil
}

// Handle registers the candidate like RegisterCompanyHandler registers a company.
func (h *RegisterCandidateHandler) Handle(ctx context.Context, cmd RegisterCandidate) (RegistrationResult, error) {
	id := h.ids()
	token, err := newToken(CandidateTokenPrefix)
	if err != nil {
		return RegistrationResult{}, translate(err, "candidate")
	}
	x := execution{store: h.store, streamID: id, metadata: cmd.Caller.metadata("RegisterCandidate", h.ids), what: "candidate"}
	res, err := x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		if s.Version != 0 {
			return decision{}, fmt.Errorf("candidate %s: %w", id, domain.ErrAlreadyExists)
		}
		c, err := domain.RegisterCandidate(id, cmd.Input, h.clock())
		if err != nil {
			return decision{}, err
		}
		return decision{
			streamType: c.StreamType(),
			events:     c.Changes(),
			claims:     []Claim{{Scope: ClaimCandidateEmail, Key: domain.CandidateEmailKey(c.Email()), StreamID: id}},
			credential: &Credential{TokenHash: HashToken(token), Role: RoleCandidate, SubjectID: id, IssuedAt: c.RegisteredAt()},
		}, nil
	})
	if err != nil {
		return RegistrationResult{}, err
	}
	return RegistrationResult{Result: res, Token: token}, nil
}

// RotateToken replaces the caller's bearer token (POST /v1/tokens/rotate): employers and
// candidates only, since operators' tokens are configuration.
type RotateToken struct {
	Caller Caller
}

// RotatedToken is the answer to RotateToken: the new bearer token, shown this once.
type RotatedToken struct {
	Result
	Token string
}

// RotateTokenHandler handles RotateToken.
type RotateTokenHandler struct {
	store EventStore
	clock Clock
	ids   IDGenerator
}

// NewRotateTokenHandler returns a handler; every dependency is required.
func NewRotateTokenHandler(store EventStore, clock Clock, ids IDGenerator) (*RotateTokenHandler, error) {
	if err := required(store, clock, ids); err != nil {
		return nil, fmt.Errorf("new rotate token handler: %w", err)
	}
	return &RotateTokenHandler{store: store, clock: clock, ids: ids}, nil
}

// tokenRotator is what Company and Candidate share for a rotation.
type tokenRotator interface {
	RotateToken(now time.Time)
	StreamType() string
	Changes() []domain.Event
}

// Handle appends company.token_rotated (or candidate.token_rotated) to the caller's
// account stream and, in the same transaction, replaces the account's credential with the
// new token's hash: once it commits, the old token no longer authenticates (credentials are
// looked up in PostgreSQL on every request, never cached). The event holds the time only,
// never the token nor its hash. Any other role is apperr.Forbidden.
func (h *RotateTokenHandler) Handle(ctx context.Context, cmd RotateToken) (RotatedToken, error) {
	a := cmd.Caller.Actor
	if err := requireRole(a, RoleEmployer, RoleCandidate); err != nil {
		return RotatedToken{}, err
	}
	what, prefix := "company", CompanyTokenPrefix
	if a.Role == RoleCandidate {
		what, prefix = "candidate", CandidateTokenPrefix
	}
	token, err := newToken(prefix)
	if err != nil {
		return RotatedToken{}, translate(err, what)
	}
	x := execution{store: h.store, streamID: a.ID, metadata: cmd.Caller.metadata("RotateToken", h.ids), what: what}
	res, err := x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		var (
			acc tokenRotator
			err error
		)
		if a.Role == RoleCandidate {
			if err = checkStreamType(s, domain.StreamTypeCandidate); err == nil {
				acc, err = domain.LoadCandidate(s.ID, s.Events)
			}
		} else if err = checkStreamType(s, domain.StreamTypeCompany); err == nil {
			acc, err = domain.LoadCompany(s.ID, s.Events)
		}
		if err != nil {
			return decision{}, err
		}
		now := h.clock()
		acc.RotateToken(now)
		return decision{
			streamType: acc.StreamType(),
			events:     acc.Changes(),
			credential: &Credential{TokenHash: HashToken(token), Role: a.Role, SubjectID: a.ID, IssuedAt: now.UTC()},
		}, nil
	})
	if err != nil {
		return RotatedToken{}, err
	}
	return RotatedToken{Result: res, Token: token}, nil
}

// required reports nil dependencies (including typed nils of func types and pointers that
// satisfy an interface).
func required(deps ...any) error {
	var errs []error
	for i, d := range deps {
		if isNil(d) {
			errs = append(errs, fmt.Errorf("dependency %d (%T) is nil", i+1, d))
		}
	}
	return errors.Join(errs...)
}
