// Package consistency is the read-your-writes token: a command answers with the stream
// versions it produced, a query that is handed the token waits until its projection has
// applied them. The token is opaque to clients (a URL-safe string), versioned, and signed
// with HMAC-SHA256 under the deployment's signing key: the server waits only on positions
// it handed out itself, so a client cannot make it wait on streams of its choosing, nor learn
// from the wait whether a stream exists.
//
// It imports the standard library only: the API encodes tokens with a Signer and verifies
// them with the same Signer.
package consistency

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Limits that keep a hostile token cheap to verify and a wait cheap to serve.
const (
	// MaxTokenLen is the longest token Parse accepts, in bytes.
	MaxTokenLen = 2048
	// MaxPositions is the most stream positions one token may carry. A command produces
	// one; a client that merges tokens sends several headers instead.
	MaxPositions = 16
	// MinKeyLen is the shortest signing key NewSigner accepts, in bytes.
	MinKeyLen = 32
)

// Encoding versions of the signed payload. v3 carries each position's stream type
// ("version:type:id"); v2 ("version:id") was issued before stream types were carried and
// is still read, its positions without a type (waited on by every reader), until every
// token of it has long expired from clients.
const (
	prefix   = "v3:"
	prefixV2 = "v2:"
)

// macContext separates the MACs of tokens from the other values the same key signs
// (cursors): a value signed for one purpose never verifies as another.
const macContext = "jobboard consistency token\n"

// ErrInvalidToken: a token is not one a Signer with this key made.
var ErrInvalidToken = errors.New("invalid consistency token")

// Position is a stream at a version: a reader is consistent with it once it has applied
// the stream's events up to and including Version. StreamType is the stream's type
// ("job"): a reader that never consumes that type is consistent with it at once. An empty
// StreamType (a v2 token) is unknown, and every reader waits for it.
type Position struct {
	StreamID   string
	StreamType string
	Version    int64
}

// Signer makes and verifies tokens under one key. It is safe for concurrent use.
type Signer struct {
	key []byte
}

// NewSigner returns a Signer with key, which must be at least MinKeyLen bytes and the same
// on every instance of a deployment (a token made by one instance is read by another).
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("consistency: signing key must be at least %d bytes", MinKeyLen)
	}
	return &Signer{key: slices.Clone(key)}, nil
}

// Token encodes positions as an opaque, signed, URL-safe string. Several positions of one
// stream keep the highest version; the order of positions does not matter. Positions with
// an empty stream id or a version below 1 are left out; with none left, Token returns "".
// Each position's StreamType is encoded with it (empty: unknown, waited on by every reader).
// Past MaxPositions only the first MaxPositions streams (by id) are kept, so every token
// made verifies.
func (s *Signer) Token(positions ...Position) string {
	ps := normalise(positions)
	if len(ps) == 0 {
		return ""
	}
	if len(ps) > MaxPositions {
		ps = ps[:MaxPositions]
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = strconv.FormatInt(p.Version, 10) + ":" + url.QueryEscape(p.StreamType) + ":" + url.QueryEscape(p.StreamID)
	}
	payload := []byte(prefix + strings.Join(parts, ","))
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

func (s *Signer) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(macContext))
	m.Write(payload)
	return m.Sum(nil)
}

// ParseAll verifies several tokens and returns the positions that wait for all of them: the
// highest version per stream, sorted by stream. Empty tokens are ignored; an invalid one is
// an error.
func (s *Signer) ParseAll(tokens ...string) ([]Position, error) {
	var all []Position
	for _, t := range tokens {
		if t == "" {
			continue
		}
		ps, err := s.Parse(t)
		if err != nil {
			return nil, err
		}
		all = append(all, ps...)
	}
	return normalise(all), nil
}

// Parse verifies and decodes a token made by Token under the same key. Garbage, a bad or
// foreign signature, an unknown encoding version, an empty token, too many positions and
// oversized tokens are errors wrapping ErrInvalidToken. The signature is checked before
// the payload is looked at.
func (s *Signer) Parse(token string) ([]Position, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidToken)
	}
	if len(token) > MaxTokenLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, MaxTokenLen)
	}
	body, sig, ok := strings.Cut(token, ".")
	if !ok {
		return nil, fmt.Errorf("%w: not signed", ErrInvalidToken)
	}
	payload, err := strict.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url", ErrInvalidToken)
	}
	mac, err := strict.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.mac(payload)) {
		return nil, fmt.Errorf("%w: bad signature", ErrInvalidToken)
	}
	rest, typed := strings.CutPrefix(string(payload), prefix)
	if !typed {
		var ok bool
		if rest, ok = strings.CutPrefix(string(payload), prefixV2); !ok {
			return nil, fmt.Errorf("%w: unknown encoding", ErrInvalidToken)
		}
	}
	parts := strings.Split(rest, ",")
	if len(parts) > MaxPositions {
		return nil, fmt.Errorf("%w: more than %d positions", ErrInvalidToken, MaxPositions)
	}
	out := make([]Position, 0, len(parts))
	for _, part := range parts {
		v, stream, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("%w: malformed position", ErrInvalidToken)
		}
		version, err := strconv.ParseInt(v, 10, 64)
		if err != nil || version < 1 || strconv.FormatInt(version, 10) != v {
			return nil, fmt.Errorf("%w: malformed version", ErrInvalidToken)
		}
		var streamType string
		if typed {
			var escapedType string
			if escapedType, stream, ok = strings.Cut(stream, ":"); !ok {
				return nil, fmt.Errorf("%w: malformed position", ErrInvalidToken)
			}
			if streamType, err = url.QueryUnescape(escapedType); err != nil {
				return nil, fmt.Errorf("%w: malformed stream type", ErrInvalidToken)
			}
		}
		id, err := url.QueryUnescape(stream)
		if err != nil || id == "" {
			return nil, fmt.Errorf("%w: malformed stream id", ErrInvalidToken)
		}
		out = append(out, Position{StreamID: id, StreamType: streamType, Version: version})
	}
	return normalise(out), nil
}

// normalise drops empty positions, keeps the highest version per stream and sorts by stream.
// A stream's type is the one any of its positions names (a stream has one type; an untyped
// position of a v2 token takes the type a v3 token knows).
func normalise(positions []Position) []Position {
	best := make(map[string]Position, len(positions))
	for _, p := range positions {
		if p.StreamID == "" || p.Version < 1 {
			continue
		}
		b := best[p.StreamID]
		b.StreamID, b.Version = p.StreamID, max(b.Version, p.Version)
		if b.StreamType == "" {
			b.StreamType = p.StreamType
		}
		best[p.StreamID] = b
	}
	out := make([]Position, 0, len(best))
	for _, p := range best {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Position) int { return strings.Compare(a.StreamID, b.StreamID) })
	return out
}

// strict decodes only the canonical encoding: a token whose unused trailing bits were
// changed is another string the server never issued, and is refused like any other.
var strict = base64.RawURLEncoding.Strict()
