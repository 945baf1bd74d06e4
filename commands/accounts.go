package commands

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

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
			credential: &Credential{TokenHash: HashToken(token), Role: RoleEmployer, SubjectID: id},
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
			credential: &Credential{TokenHash: HashToken(token), Role: RoleCandidate, SubjectID: id},
		}, nil
	})
	if err != nil {
		return RegistrationResult{}, err
	}
	return RegistrationResult{Result: res, Token: token}, nil
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
