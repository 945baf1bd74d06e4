package unsubscribe

import (
	"errors"
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	t.Parallel()
	s, err := NewSigner([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewSigner([]byte(strings.Repeat("o", 32)))
	alert := Target{Kind: KindAlert, ID: "a1000000-0000-4000-8000-000000000001"}
	tok := s.Token(alert)
	t.Run("reads back what it signed", func(t *testing.T) {
		got, err := s.Parse(tok)
		if err != nil || got != alert {
			t.Fatalf("Parse = %+v, %v", got, err)
		}
		cat := Target{Kind: KindCategory, ID: "d1", Role: "candidate", Category: "job_alerts"}
		if got, err := s.Parse(s.Token(cat)); err != nil || got != cat {
			t.Fatalf("Parse = %+v, %v", got, err)
		}
	})
	t.Run("refuses tampered, foreign and malformed tokens", func(t *testing.T) {
		payload, sig, _ := strings.Cut(tok, ".")
		forged := s.Token(Target{Kind: KindAlert, ID: "someone-else"})
		fp, _, _ := strings.Cut(forged, ".")
		for _, bad := range []string{"", "x", tok + "x", fp + "." + sig, payload, other.Token(alert), strings.Repeat("a", 600),
			s.Token(Target{Kind: "everything", ID: "x"}), s.Token(Target{Kind: KindCategory, ID: "x", Role: "operator", Category: "c"})} {
			if _, err := s.Parse(bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%q) = %v", bad, err)
			}
		}
	})
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
}
