package api

import (
	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/commands"

	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/internal/apperr"
)

// registerTokenRoutes: the caller's own bearer token. Employers and candidates rotate it
// (the old one answers 401 from the rotation on) and see when it was issued and last used.
// Operators' tokens are configuration: rotating one is 403 (a valid token asking for an
// action it may not take), and current answers the role only, with no stored times.
//
// A rotation sent with an Idempotency-Key and repeated with the same key answers the same
// new token again: the repeat must authenticate, and only the new token still does, so it
// tells its holder nothing new (the stored answer is encrypted under the key).
func (s *Server) registerTokenRoutes(v1 *mux.Router) {
	g := group(v1, s.authenticate, s.idempotent)
	g.HandleFunc("/tokens/rotate", s.handleRotateToken).Methods(http.MethodPost)
	g.HandleFunc("/tokens/current", s.handleCurrentToken).Methods(http.MethodGet)
}

type rotatedTokenAnswer struct {
	Token string `json:"token"`
}

func (s *Server) handleRotateToken(w http.ResponseWriter, r *http.Request) {
	if _, err := requireRole(r.Context(), RoleEmployer, RoleCandidate); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := decodeEmpty(w, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.app.Commands.RotateToken.Handle(r.Context(), commands.RotateToken{Caller: caller(r)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, rotatedTokenAnswer{Token: res.Token})
}

type currentTokenAnswer struct {
	Role       Role       `json:"role"`
	SubjectID  string     `json:"subject_id"`
	CreatedAt  *time.Time `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func (s *Server) handleCurrentToken(w http.ResponseWriter, r *http.Request) {
	p := principalFrom(r.Context())
	w.Header().Set("Cache-Control", "no-store")
	if p.Role == RoleOperator {
		writeJSON(w, http.StatusOK, currentTokenAnswer{Role: p.Role, SubjectID: p.ID})
		return
	}
	token, _ := bearerToken(r)
	info, err := s.app.Tokens.Describe.Handle(r.Context(), application.DescribeToken{Token: token})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if Role(info.Role) != p.Role || info.SubjectID != p.ID {
		// Rotated between authentication and now: the token is no longer this account's.
		s.writeError(w, r, apperr.New(apperr.Unauthorized, "unknown bearer token"))
		return
	}
	created := info.CreatedAt.UTC()
	var lastUsed *time.Time
	if info.LastUsedAt != nil {
		t := info.LastUsedAt.UTC()
		lastUsed = &t
	}
	writeJSON(w, http.StatusOK, currentTokenAnswer{Role: Role(info.Role), SubjectID: info.SubjectID, CreatedAt: &created, LastUsedAt: lastUsed})
}
