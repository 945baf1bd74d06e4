package consistency_test

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/jobboard/jobboard/internal/consistency"
)

func TestTokenRoundTrips(t *testing.T) {
	t.Parallel()
	cases := map[string][]consistency.Position{
		"one stream":            {{StreamID: "8f8b8a4e-0d6a-4a59-9d47-3a2b5c1d0e01", Version: 3}},
		"several streams":       {{StreamID: "b", Version: 1}, {StreamID: "a", Version: 7}},
		"separators in the ids": {{StreamID: "a:b,c%d e", Version: 2}, {StreamID: "ünïcode", Version: 9}},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tok := consistency.Token(in...)
			if strings.ContainsAny(tok, "+/=?&# ") {
				t.Fatalf("token %q is not URL-safe", tok)
			}
			got, err := consistency.Parse(tok)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(got) != len(in) {
				t.Fatalf("got %v, want %v", got, in)
			}
			for _, p := range in {
				found := false
				for _, g := range got {
					found = found || g == p
				}
				if !found {
					t.Errorf("position %v missing from %v", p, got)
				}
			}
		})
	}
}

func TestTokenKeepsTheHighestVersionPerStream(t *testing.T) {
	t.Parallel()
	tok := consistency.Token(consistency.Position{StreamID: "s", Version: 2}, consistency.Position{StreamID: "s", Version: 5}, consistency.Position{StreamID: "", Version: 1})
	got, err := consistency.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if want := []consistency.Position{{StreamID: "s", Version: 5}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if consistency.Token() != "" {
		t.Error("a token of nothing should be empty")
	}
}

func TestMergeCombinesTokens(t *testing.T) {
	t.Parallel()
	a := consistency.Token(consistency.Position{StreamID: "a", Version: 1})
	b := consistency.Token(consistency.Position{StreamID: "b", Version: 2}, consistency.Position{StreamID: "a", Version: 3})
	m, err := consistency.Merge(a, "", b)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := consistency.Parse(m)
	want := []consistency.Position{{StreamID: "a", Version: 3}, {StreamID: "b", Version: 2}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := consistency.Merge(a, "garbage!"); !errors.Is(err, consistency.ErrInvalidToken) {
		t.Fatalf("Merge with garbage: %v", err)
	}
}

func TestParseRefusesGarbage(t *testing.T) {
	t.Parallel()
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for name, tok := range map[string]string{
		"empty":            "",
		"not base64":       "***",
		"padded base64":    base64.URLEncoding.EncodeToString([]byte("v1:1:a")) + "==",
		"unknown version":  enc("v2:1:a"),
		"no prefix":        enc("1:a"),
		"no version":       enc("v1:a"),
		"zero version":     enc("v1:0:a"),
		"negative version": enc("v1:-1:a"),
		"leading zero":     enc("v1:01:a"),
		"empty stream":     enc("v1:1:"),
		"empty body":       enc("v1:"),
		"bad escape":       enc("v1:1:%zz"),
		"too long":         strings.Repeat("A", consistency.MaxTokenLen+1),
		"too many":         enc("v1:" + strings.Repeat("1:a,", consistency.MaxPositions) + "1:a"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if ps, err := consistency.Parse(tok); !errors.Is(err, consistency.ErrInvalidToken) {
				t.Fatalf("Parse(%q) = %v, %v; want ErrInvalidToken", tok, ps, err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(consistency.Token(consistency.Position{StreamID: "a", Version: 1}))
	f.Add("")
	f.Add("djE6MTph")
	f.Fuzz(func(t *testing.T, tok string) {
		ps, err := consistency.Parse(tok)
		if err != nil {
			return
		}
		back, err := consistency.Parse(consistency.Token(ps...))
		if err != nil || !reflect.DeepEqual(back, ps) {
			t.Fatalf("re-encoding %v gives %v, %v", ps, back, err)
		}
	})
}
