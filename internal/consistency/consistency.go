// Package consistency is the read-your-writes token: a command answers with the stream
// versions it produced, a query that is handed the token waits until its projection has
// applied them. The token is opaque to clients (a URL-safe string) and versioned, so its
// encoding can change without breaking tokens already handed out.
//
// It imports the standard library only: commands/ builds tokens, the read side parses them.
package consistency

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Limits that keep a hostile token cheap to parse.
const (
	// MaxTokenLen is the longest token Parse accepts, in bytes.
	MaxTokenLen = 4096
	// MaxPositions is the most stream positions one token may carry.
	MaxPositions = 64
)

// prefix versions the encoding.
const prefix = "v1:"

// ErrInvalidToken: a token is not one this package made.
var ErrInvalidToken = errors.New("invalid consistency token")

// Position is a stream at a version: a reader is consistent with it once it has applied
// the stream's events up to and including Version.
type Position struct {
	StreamID string
	Version  int64
}

// Token encodes positions as an opaque URL-safe string. Several positions of one stream
// keep the highest version; the order of positions does not matter. Positions with an empty
// stream id or a version below 1 are left out; with none left, Token returns "".
func Token(positions ...Position) string {
	ps := normalise(positions)
	if len(ps) == 0 {
		return ""
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = strconv.FormatInt(p.Version, 10) + ":" + url.QueryEscape(p.StreamID)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(prefix + strings.Join(parts, ",")))
}

// Merge combines tokens into one that waits for all of their positions. Empty tokens are
// ignored; an invalid one is an error.
func Merge(tokens ...string) (string, error) {
	ps, err := ParseAll(tokens...)
	if err != nil {
		return "", err
	}
	return Token(ps...), nil
}

// ParseAll decodes several tokens into the positions that wait for all of them: the highest
// version per stream, sorted by stream. Empty tokens are ignored; an invalid one is an error.
func ParseAll(tokens ...string) ([]Position, error) {
	var all []Position
	for _, t := range tokens {
		if t == "" {
			continue
		}
		ps, err := Parse(t)
		if err != nil {
			return nil, err
		}
		all = append(all, ps...)
	}
	return normalise(all), nil
}

// Parse decodes a token made by Token. Garbage, an unknown encoding version, an empty
// token and oversized tokens are errors wrapping ErrInvalidToken.
func Parse(token string) ([]Position, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidToken)
	}
	if len(token) > MaxTokenLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, MaxTokenLen)
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url", ErrInvalidToken)
	}
	body, ok := strings.CutPrefix(string(raw), prefix)
	if !ok {
		return nil, fmt.Errorf("%w: unknown encoding", ErrInvalidToken)
	}
	parts := strings.Split(body, ",")
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
		id, err := url.QueryUnescape(stream)
		if err != nil || id == "" {
			return nil, fmt.Errorf("%w: malformed stream id", ErrInvalidToken)
		}
		out = append(out, Position{StreamID: id, Version: version})
	}
	return normalise(out), nil
}

// normalise drops empty positions, keeps the highest version per stream and sorts by stream.
func normalise(positions []Position) []Position {
	best := make(map[string]int64, len(positions))
	for _, p := range positions {
		if p.StreamID == "" || p.Version < 1 {
			continue
		}
		if p.Version > best[p.StreamID] {
			best[p.StreamID] = p.Version
		}
	}
	out := make([]Position, 0, len(best))
	for id, v := range best {
		out = append(out, Position{StreamID: id, Version: v})
	}
	slices.SortFunc(out, func(a, b Position) int { return strings.Compare(a.StreamID, b.StreamID) })
	return out
}
