package api

import (
	"github.com/jobboard/jobboard/application"

	"context"
	"net/http"
	"strings"

	"github.com/jobboard/jobboard/internal/apperr"
)

// Role is what a bearer token lets its holder do.
type Role string

const (
	RoleEmployer  Role = "employer"
	RoleCandidate Role = "candidate"
	RoleOperator  Role = "operator"
)

// Principal is the authenticated caller.
type Principal struct {
	Role Role
	// ID is the company id of an employer, the candidate id of a candidate, the name of an
	// operator.
	ID string
}

// Actor is how the principal is recorded in event metadata.
func (p Principal) Actor() string {
	switch p.Role {
	case RoleEmployer:
		return "employer:" + p.ID
	case RoleCandidate:
		return "candidate:" + p.ID
	case RoleOperator:
		return "operator:" + p.ID
	default:
		return "anonymous"
	}
}

// key scopes idempotency keys: two callers never share one.
func (p Principal) key() string { return p.Actor() }

type principalKey struct{}

func withPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// principalFrom returns the caller; the zero Principal (anonymous) on public routes.
func principalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// authenticate requires a bearer token: an operator's token from configuration (compared in
// constant time) or an account's token (looked up by its hash). Missing or unknown: 401.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			s.writeError(w, r, apperr.New(apperr.Unauthorized, "a bearer token is required (Authorization: Bearer <token>)"))
			return
		}
		var p Principal
		if name, ok := s.operatorNamed(token); ok {
			p = Principal{Role: RoleOperator, ID: name}
		} else {
			actor, err := s.app.Tokens.Authenticate.Handle(r.Context(), application.Authenticate{Token: token})
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			p = Principal{Role: Role(actor.Role), ID: actor.ID}
		}
		if rec := accessRecordFrom(r.Context()); rec != nil {
			rec.actor = p.Actor()
		}
		next.ServeHTTP(w, r.WithContext(withPrincipal(r.Context(), p)))
	})
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// requireRole answers 403 to a caller whose role may not use the route.
func requireRole(ctx context.Context, roles ...Role) (Principal, error) {
	p := principalFrom(ctx)
	for _, r := range roles {
		if p.Role == r {
			return p, nil
		}
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return p, apperr.New(apperr.Forbidden, "only %s tokens may do this", strings.Join(names, " or "))
}

// operatorOnly guards the admin routes.
func (s *Server) operatorOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := requireRole(r.Context(), RoleOperator); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
