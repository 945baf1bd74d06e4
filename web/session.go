package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/jobboard/jobboard/commands"
)

// sessionCookie is the name of the session cookie.
const sessionCookie = "jb_session"

// Session is who is signed in: an employer (Role employer, ID the company id) or a
// candidate. The zero Session is a visitor.
type Session struct {
	Role commands.Role `json:"r"`
	ID   string        `json:"s"`
	// Name is shown in the header ("Signed in as …").
	Name    string `json:"n,omitempty"`
	Expires int64  `json:"e"`
}

// SignedIn reports whether someone is signed in.
func (s Session) SignedIn() bool { return s.ID != "" }

// Employer and Candidate tell the roles apart in templates.
func (s Session) Employer() bool  { return s.SignedIn() && s.Role == commands.RoleEmployer }
func (s Session) Candidate() bool { return s.SignedIn() && s.Role == commands.RoleCandidate }

// caller is the command context of a request made in this session.
func (s Session) caller(r *http.Request) commands.Caller {
	c := commands.Caller{CorrelationID: r.Header.Get("X-Request-Id")}
	if s.SignedIn() {
		c.Actor = commands.Actor{Role: s.Role, ID: s.ID}
	} else {
		c.Actor = commands.Actor{Role: commands.RoleAnonymous}
	}
	return c
}

type sessionKey struct{}

// sessionFrom is the request's session (the zero Session for a visitor).
func sessionFrom(ctx context.Context) Session {
	s, _ := ctx.Value(sessionKey{}).(Session)
	return s
}

// The MAC domains keep each signed value of this package from being taken for another.
const (
	sessionMACDomain = "jobboard web session v1\n"
	cursorMACDomain  = "jobboard web cursor v1\n"
)

func (s *Server) mac(domain string, payload []byte) []byte {
	m := hmac.New(sha256.New, s.cfg.SigningKey)
	m.Write([]byte(domain))
	m.Write(payload)
	return m.Sum(nil)
}

// seal signs payload: "<base64 payload>.<base64 mac>".
func (s *Server) seal(domain string, payload []byte) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(s.mac(domain, payload))
}

// unseal returns the payload of a sealed value, false when it was not sealed by us.
func (s *Server) unseal(domain, v string) ([]byte, bool) {
	if len(v) > 4096 {
		return nil, false
	}
	p, m, ok := strings.Cut(v, ".")
	if !ok {
		return nil, false
	}
	enc := base64.RawURLEncoding.Strict()
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac(domain, payload)) {
		return nil, false
	}
	return payload, true
}

// loadSession reads the session cookie; a missing, forged or expired one is a visitor.
func (s *Server) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sess Session
		if c, err := r.Cookie(sessionCookie); err == nil {
			if payload, ok := s.unseal(sessionMACDomain, c.Value); ok && json.Unmarshal(payload, &sess) == nil {
				if sess.Expires < s.cfg.Now().Unix() || (sess.Role != commands.RoleEmployer && sess.Role != commands.RoleCandidate) {
					sess = Session{}
				}
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	})
}

// startSession sets the session cookie of a fresh sign-in.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, sess Session) {
	exp := s.cfg.Now().Add(s.cfg.SessionTTL)
	sess.Expires = exp.Unix()
	payload, _ := json.Marshal(sess)
	http.SetCookie(w, s.cookie(r, s.seal(sessionMACDomain, payload), exp))
}

// endSession clears the session cookie.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	c := s.cookie(r, "", time.Unix(0, 0))
	c.MaxAge = -1
	http.SetCookie(w, c)
}

// cookie is the session cookie: HttpOnly (no script reads it), SameSite=Lax (not sent with
// cross-site posts, sent when following a link from an e-mail), Secure over TLS.
func (s *Server) cookie(r *http.Request, value string, expires time.Time) *http.Cookie {
	return &http.Cookie{
		Name: sessionCookie, Value: value, Path: "/", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.cfg.SecureCookies || r.TLS != nil,
	}
}

// requireRole sends a visitor (or someone of another role) to the sign-in page and
// returns false.
func (s *Server) requireRole(w http.ResponseWriter, r *http.Request, role commands.Role) (Session, bool) {
	sess := sessionFrom(r.Context())
	if sess.SignedIn() && sess.Role == role {
		return sess, true
	}
	http.Redirect(w, r, "/signin?role="+string(role), http.StatusSeeOther)
	return sess, false
}

// homeOf is where a role lands after signing in.
func homeOf(role commands.Role) string {
	if role == commands.RoleEmployer {
		return "/employer"
	}
	return "/me/applications"
}
