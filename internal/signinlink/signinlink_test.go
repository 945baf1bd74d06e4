package signinlink

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLinks(t *testing.T) {
	t.Parallel()
	key := []byte("a-signing-key-of-at-least-32-bytes!!")
	now := time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)
	l := Link{LinkID: "0195a1b2-0000-7000-8000-000000000005", Role: "employer", AccountID: "c1", ExpiresAt: now.Add(time.Minute).Unix()}
	u, err := URL(key, "https://jobs.example/", l)
	if err != nil || !strings.HasPrefix(u, "https://jobs.example/signin/link?t=") {
		t.Fatalf("URL = %q, %v", u, err)
	}
	token := strings.TrimPrefix(u, "https://jobs.example/signin/link?t=")
	t.Run("a link made with the key reads back", func(t *testing.T) {
		if got, err := Parse(key, token, now); err != nil || got != l {
			t.Fatalf("= %+v, %v", got, err)
		}
	})
	t.Run("an expired link is told apart", func(t *testing.T) {
		if _, err := Parse(key, token, now.Add(time.Minute)); !errors.Is(err, ErrExpired) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("another key, a changed payload or garbage do not read", func(t *testing.T) {
		other := []byte("another-signing-key-of-32-bytes-or-more")
		forged, _ := Token(other, Link{LinkID: l.LinkID, Role: "employer", AccountID: "c2", ExpiresAt: l.ExpiresAt})
		p, m, _ := strings.Cut(token, ".")
		for _, bad := range []string{"", "x", "a.b", forged, p + "x." + m, p + "." + m + "A", strings.Repeat("a", 2000)} {
			if _, err := Parse(key, bad, now); !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%.40q) = %v", bad, err)
			}
		}
	})
	t.Run("a short key is refused", func(t *testing.T) {
		if _, err := Token([]byte("short"), l); err == nil {
			t.Fatal("short key accepted")
		}
	})
}
