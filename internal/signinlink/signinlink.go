// Package signinlink makes and checks the tokens of e-mailed sign-in links: the link names
// the sign_in stream (its nonce), the account and the role, until an expiry, signed with
// HMAC-SHA256 under the server's SIGNING_KEY. The web front door checks them; whoever
// e-mails the link (the notifier) makes them from the sign_in.link_requested event, which
// holds no secret. Single use is the event store's business (sign_in.link_used), not this
// package's. It imports the standard library only.
package signinlink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Path is the web page a link opens; the token is its "t" query parameter.
const Path = "/signin/link"

// macDomain keeps a link's signature from being taken for any other value signed with the
// same key (sessions, cursors, consistency tokens).
const macDomain = "jobboard sign-in link v1\n"

// MinKeyLen is the shortest key accepted.
const MinKeyLen = 32

// Link is what a sign-in link says.
type Link struct {
	// LinkID is the sign_in stream's id: the nonce that makes the link single use.
	LinkID string `json:"l"`
	// Role is "employer" or "candidate"; AccountID the company or candidate id.
	Role      string `json:"r"`
	AccountID string `json:"a"`
	// ExpiresAt is when the link stops working (Unix seconds).
	ExpiresAt int64 `json:"e"`
}

// ErrInvalid: the token was not made with the key, or does not parse.
var ErrInvalid = errors.New("signinlink: not a valid sign-in link")

// ErrExpired: a valid link past its expiry.
var ErrExpired = errors.New("signinlink: the sign-in link has expired")

// Token signs l with key.
func Token(key []byte, l Link) (string, error) {
	if len(key) < MinKeyLen {
		return "", errors.New("signinlink: key too short")
	}
	payload, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(mac(key, payload)), nil
}

// URL is the link to e-mail: baseURL (the site's public address, no trailing slash) +
// Path + the token.
func URL(key []byte, baseURL string, l Link) (string, error) {
	t, err := Token(key, l)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(baseURL, "/") + Path + "?t=" + t, nil
}

// Parse checks token's signature and expiry at now.
func Parse(key []byte, token string, now time.Time) (Link, error) {
	if len(token) > 1024 {
		return Link{}, ErrInvalid
	}
	p, m, ok := strings.Cut(token, ".")
	if !ok {
		return Link{}, ErrInvalid
	}
	enc := base64.RawURLEncoding.Strict()
	payload, err1 := enc.DecodeString(p)
	sig, err2 := enc.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, mac(key, payload)) {
		return Link{}, ErrInvalid
	}
	var l Link
	if err := json.Unmarshal(payload, &l); err != nil || l.LinkID == "" || l.AccountID == "" {
		return Link{}, ErrInvalid
	}
	if now.Unix() >= l.ExpiresAt {
		return l, ErrExpired
	}
	return l, nil
}

func mac(key, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(macDomain))
	h.Write(payload)
	return h.Sum(nil)
}
