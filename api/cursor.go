package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// Cursors are opaque to clients. The read models make a position (an Elasticsearch
// search_after, a PostgreSQL keyset) and the API seals it here, the one place cursors are
// signed and checked: position "." base64url(HMAC-SHA256(SigningKey, scope, position)).
// The scope names the list and the parameters that select its rows (route, owner, filters,
// sort; not limit), so a cursor only continues the query that issued it: a forged,
// tampered, truncated or foreign cursor is a 400 naming cursor before any read model sees
// it, and never reaches Elasticsearch or PostgreSQL as a value they could choke on.

// cursorScope names the query a cursor belongs to.
type cursorScope []string

// maxCursorLen bounds a cursor a client sends back; the API issues far shorter ones.
const maxCursorLen = 1024

// cursorMACDomain separates the MACs of cursors from those of other values signed with the
// same key (consistency tokens), so one can never pass for the other.
const cursorMACDomain = "jobboard cursor v1"

func (s *Server) cursorMAC(scope cursorScope, pos string) []byte {
	// JSON keeps the parts apart: ["a","b"] and ["a\x00b"] sign differently.
	parts, _ := json.Marshal(append(cursorScope{cursorMACDomain, pos}, scope...))
	m := hmac.New(sha256.New, s.cfg.SigningKey)
	m.Write(parts)
	return m.Sum(nil)
}

// sealCursor signs the read model's position pos for scope; "" (no next page) stays "".
func (s *Server) sealCursor(scope cursorScope, pos string) string {
	if pos == "" {
		return ""
	}
	return pos + "." + base64.RawURLEncoding.EncodeToString(s.cursorMAC(scope, pos))
}

// openCursor returns the position of a cursor sealed for scope, or false for anything
// else. The empty cursor is the first page.
func (s *Server) openCursor(scope cursorScope, cursor string) (string, bool) {
	if cursor == "" {
		return "", true
	}
	if len(cursor) > maxCursorLen {
		return "", false
	}
	i := strings.LastIndexByte(cursor, '.')
	if i <= 0 {
		return "", false
	}
	pos := cursor[:i]
	mac, err := base64.RawURLEncoding.Strict().DecodeString(cursor[i+1:])
	if err != nil || !hmac.Equal(mac, s.cursorMAC(scope, pos)) {
		return "", false
	}
	return pos, true
}

// cursor reads the cursor parameter of a query of scope into the read model's position,
// naming cursor when it is not one this server issued for that query.
func (s *Server) cursor(q *queryReader, scope cursorScope) string {
	pos, ok := s.openCursor(scope, q.one("cursor"))
	if !ok {
		q.bad("cursor", "is not a cursor of this query: send the next_cursor of the previous page unchanged, with the same parameters")
	}
	return pos
}
