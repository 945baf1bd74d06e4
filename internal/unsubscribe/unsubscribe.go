// Package unsubscribe signs and verifies the one-click unsubscribe links of e-mails
// (RFC 8058): the notifier puts a token in every optional message's List-Unsubscribe URL,
// and the API acts on a token it can verify. A token names one alert, or one e-mail
// category of one account, and nothing else: it holds no bearer token and authorises
// nothing but that unsubscribe. It imports the standard library only.
package unsubscribe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// macDomain separates these MACs from the other values signed with the same key
// (consistency tokens, cursors), so none can pass for another.
const macDomain = "jobboard unsubscribe v1"

// MinKeyLen is the shortest key accepted.
const MinKeyLen = 32

// maxTokenLen bounds a token read back; the ones issued are far shorter.
const maxTokenLen = 512

// Kinds of Target.
const (
	KindAlert    = "alert"
	KindCategory = "category"
)

// Target is what a token unsubscribes from: an alert (ID is the alert's id) or an e-mail
// category of an account (ID is the account's id, Role "candidate" or "employer").
type Target struct {
	Kind     string `json:"k"`
	ID       string `json:"i"`
	Role     string `json:"r,omitempty"`
	Category string `json:"c,omitempty"`
}

// ErrInvalid: the token was not signed by this key for a valid target.
var ErrInvalid = errors.New("unsubscribe: not a valid unsubscribe token")

// Signer makes and checks tokens with one HMAC key (SIGNING_KEY).
type Signer struct{ key []byte }

// NewSigner returns a Signer over key.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeyLen {
		return nil, errors.New("unsubscribe: signing key shorter than 32 bytes")
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

func (s *Signer) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(macDomain))
	m.Write([]byte{0})
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Token signs t: base64url(JSON) "." base64url(HMAC-SHA256).
func (s *Signer) Token(t Target) string {
	b, _ := json.Marshal(t)
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

// Parse returns the target of a token this signer issued; ErrInvalid otherwise.
func (s *Signer) Parse(token string) (Target, error) {
	if len(token) > maxTokenLen {
		return Target{}, ErrInvalid
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return Target{}, ErrInvalid
	}
	mac, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.mac(payload)) {
		return Target{}, ErrInvalid
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil {
		return Target{}, ErrInvalid
	}
	var t Target
	if err := json.Unmarshal(b, &t); err != nil || t.ID == "" {
		return Target{}, ErrInvalid
	}
	switch {
	case t.Kind == KindAlert:
	case t.Kind == KindCategory && (t.Role == "candidate" || t.Role == "employer") && t.Category != "":
	default:
		return Target{}, ErrInvalid
	}
	return t, nil
}
