package consistency_test

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/jobboard/jobboard/internal/consistency"
)

func signer(t testing.TB, key string) *consistency.Signer {
	t.Helper()
	s, err := consistency.NewSigner([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const testKey = "test-signing-key-of-at-least-32-bytes"

func TestNewSignerRefusesShortKeys(t *testing.T) {
	t.Parallel()
	if _, err := consistency.NewSigner([]byte("short")); err == nil {
		t.Fatal("a short key was accepted")
	}
}

func TestTokenRoundTrips(t *testing.T) {
	t.Parallel()
	s := signer(t, testKey)
	cases := map[string][]consistency.Position{
		"one stream":            {{StreamID: "8f8b8a4e-0d6a-4a59-9d47-3a2b5c1d0e01", Version: 3}},
		"several streams":       {{StreamID: "b", Version: 1}, {StreamID: "a", Version: 7}},
		"separators in the ids": {{StreamID: "a:b,c%d e.f", Version: 2}, {StreamID: "ünïcode", Version: 9}},
		"stream types":          {{StreamID: "j", StreamType: "job", Version: 4}, {StreamID: "a:b", StreamType: "sign_in", Version: 1}},
		"separators in a type":  {{StreamID: "x", StreamType: "a:b,c%", Version: 2}},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tok := s.Token(in...)
			if strings.ContainsAny(tok, "+/=?&#, ") {
				t.Fatalf("token %q is not URL-safe or holds a comma", tok)
			}
			got, err := s.Parse(tok)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(got) != len(in) {
				t.Fatalf("got %v, want %v", got, in)
			}
			for _, p := range in {
				if !containsPosition(got, p) {
					t.Errorf("position %v missing from %v", p, got)
				}
			}
		})
	}
}

func containsPosition(ps []consistency.Position, p consistency.Position) bool {
	for _, g := range ps {
		if g == p {
			return true
		}
	}
	return false
}

func TestTokenKeepsTheHighestVersionPerStream(t *testing.T) {
	t.Parallel()
	s := signer(t, testKey)
	tok := s.Token(consistency.Position{StreamID: "s", Version: 2}, consistency.Position{StreamID: "s", Version: 5}, consistency.Position{StreamID: "", Version: 1})
	got, err := s.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if want := []consistency.Position{{StreamID: "s", Version: 5}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if s.Token() != "" {
		t.Error("a token of nothing should be empty")
	}
}

func TestATokenOfTooManyStreamsStillVerifies(t *testing.T) {
	t.Parallel()
	s := signer(t, testKey)
	var in []consistency.Position
	for i := range consistency.MaxPositions + 3 {
		in = append(in, consistency.Position{StreamID: string(rune('a' + i)), Version: 1})
	}
	got, err := s.Parse(s.Token(in...))
	if err != nil || len(got) != consistency.MaxPositions {
		t.Fatalf("got %d positions, %v; want %d", len(got), err, consistency.MaxPositions)
	}
}

func TestParseAllCombinesTokens(t *testing.T) {
	t.Parallel()
	s := signer(t, testKey)
	a := s.Token(consistency.Position{StreamID: "a", Version: 1})
	b := s.Token(consistency.Position{StreamID: "b", Version: 2}, consistency.Position{StreamID: "a", Version: 3})
	got, err := s.ParseAll(a, "", b)
	if err != nil {
		t.Fatal(err)
	}
	want := []consistency.Position{{StreamID: "a", Version: 3}, {StreamID: "b", Version: 2}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := s.ParseAll(a, "garbage!"); !errors.Is(err, consistency.ErrInvalidToken) {
		t.Fatalf("ParseAll with garbage: %v", err)
	}
}

// A v2 token (no stream types), issued before v3, still verifies: its positions carry no
// type, so every reader waits for them as before.
func TestAV2TokenStillParsesWithoutTypes(t *testing.T) {
	t.Parallel()
	s := signer(t, testKey)
	payload := "v2:3:" + "0190c0de-0000-7000-8000-000000000001" + ",1:b%3Ac"
	tok := base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + consistency.MacOf(t, s, payload)
	got, err := s.Parse(tok)
	if err != nil {
		t.Fatalf("a v2 token is refused: %v", err)
	}
	want := []consistency.Position{{StreamID: "0190c0de-0000-7000-8000-000000000001", Version: 3}, {StreamID: "b:c", Version: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// Combined with a v3 token of the same stream, the stream takes the known type.
	v3 := s.Token(consistency.Position{StreamID: "b:c", StreamType: "alert", Version: 2})
	all, err := s.ParseAll(tok, v3)
	if err != nil {
		t.Fatal(err)
	}
	want[1] = consistency.Position{StreamID: "b:c", StreamType: "alert", Version: 2}
	if !reflect.DeepEqual(all, want) {
		t.Fatalf("got %v, want %v", all, want)
	}
}

// New tokens are v3: the stream type travels with each position.
func TestTokensAreV3WithTheStreamType(t *testing.T) {
	t.Parallel()
	s := signer(t, testKey)
	tok := s.Token(consistency.Position{StreamID: "a", StreamType: "job", Version: 7})
	body, _, _ := strings.Cut(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || string(payload) != "v3:7:job:a" {
		t.Fatalf("payload %q, %v; want v3:7:job:a", payload, err)
	}
}

func TestParseRefusesWhatItDidNotSign(t *testing.T) {
	t.Parallel()
	s := signer(t, testKey)
	good := s.Token(consistency.Position{StreamID: "a", Version: 1})
	body, _, _ := strings.Cut(good, ".")
	enc := func(p string) string { return base64.RawURLEncoding.EncodeToString([]byte(p)) }
	// signed makes a token of any payload under the right key, to reach the payload checks.
	signed := func(payload string) string {
		return enc(payload) + "." + consistency.MacOf(t, s, payload)
	}
	tampered := []byte(good)
	tampered[3] ^= 1
	for name, tok := range map[string]string{
		"empty":            "",
		"not base64":       "***.***",
		"unsigned v1":      enc("v1:1:a"),
		"no signature":     body,
		"empty signature":  body + ".",
		"tampered":         string(tampered),
		"other payload":    enc("v2:1000000:a") + good[len(body):],
		"foreign key":      signer(t, "another-signing-key-of-32-bytes-or-more").Token(consistency.Position{StreamID: "a", Version: 1}),
		"too long":         strings.Repeat("A", consistency.MaxTokenLen+1),
		"unknown version":  signed("v4:1:job:a"),
		"v3 without type":  signed("v3:1:a"),
		"v3 bad type":      signed("v3:1:%zz:a"),
		"zero version":     signed("v2:0:a"),
		"negative version": signed("v2:-1:a"),
		"leading zero":     signed("v2:01:a"),
		"empty stream":     signed("v2:1:"),
		"empty body":       signed("v2:"),
		"bad escape":       signed("v2:1:%zz"),
		"too many":         signed("v2:" + strings.Repeat("1:a,", consistency.MaxPositions) + "1:a"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if ps, err := s.Parse(tok); !errors.Is(err, consistency.ErrInvalidToken) {
				t.Fatalf("Parse(%q) = %v, %v; want ErrInvalidToken", tok, ps, err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	s := signer(f, testKey)
	f.Add(s.Token(consistency.Position{StreamID: "a", Version: 1}))
	f.Add("")
	f.Add("djI6MTph.AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		ps, err := s.Parse(tok)
		if err != nil {
			return
		}
		back, err := s.Parse(s.Token(ps...))
		if err != nil || !reflect.DeepEqual(back, ps) {
			t.Fatalf("re-encoding %v gives %v, %v", ps, back, err)
		}
	})
}

// A token whose last character differs only in the unused bits of the final base64 group
// decodes to the same bytes under a lenient decoder; it is not what the server issued.
func TestATokenWithChangedPaddingBitsIsRefused(t *testing.T) {
	t.Parallel()
	s, err := consistency.NewSigner([]byte("signing-key-for-tests-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	good := s.Token(consistency.Position{StreamID: "0190c0de-0000-7000-8000-000000000001", Version: 3})
	if _, err := s.Parse(good); err != nil {
		t.Fatalf("the issued token is refused: %v", err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, good[len(good)-1])
	for delta := 1; delta < 4; delta++ { // the same high bits, other low (padding) bits
		c := alphabet[last&^3|(last+delta)&3]
		changed := good[:len(good)-1] + string(c)
		if _, err := s.Parse(changed); err == nil {
			t.Errorf("%q (last character %q for %q) was accepted", changed, c, good[len(good)-1])
		}
	}
}
