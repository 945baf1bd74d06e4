package notifier

import (
	"strings"
	"testing"
)

func TestParseSMTPURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url              string
		host             string
		port             int
		tls, user, error string
	}{
		{url: "smtp://127.0.0.1:1025", host: "127.0.0.1", port: 1025, tls: TLSOpportunistic},
		{url: "smtp://localhost:1025?starttls=none", host: "localhost", port: 1025, tls: TLSNone},
		{url: "smtp://u:p@relay.example.com", host: "relay.example.com", port: 587, tls: TLSRequired, user: "u"},
		{url: "smtp://relay.example.com:2525?starttls=opportunistic", host: "relay.example.com", port: 2525, tls: TLSOpportunistic},
		{url: "smtps://u:p@relay.example.com", host: "relay.example.com", port: 465, tls: TLSImplicit, user: "u"},
		{url: "smtps://relay.example.com?starttls=none", error: "starttls does not apply"},
		{url: "smtp://relay.example.com?starttls=maybe", error: "want required, opportunistic or none"},
		{url: "smtp://relay.example.com?tls=1", error: "unknown parameter"},
		{url: "http://relay.example.com", error: "want smtp://"},
		{url: "smtp://relay.example.com:99999", error: "port"},
	} {
		c, err := ParseSMTPURL(tc.url)
		if tc.error != "" {
			if err == nil || !strings.Contains(err.Error(), tc.error) {
				t.Errorf("%s: err %v, want %q", tc.url, err, tc.error)
			}
			continue
		}
		if err != nil || c.Host != tc.host || c.Port != tc.port || c.TLS != tc.tls || c.Username != tc.user {
			t.Errorf("%s: %+v %v", tc.url, c, err)
		}
	}
	c, _ := ParseSMTPURL("smtps://jobboard:s3cret@relay.example.com")
	if r := c.Redacted(); strings.Contains(r, "s3cret") || !strings.Contains(r, "jobboard:xxxxx@relay.example.com:465") {
		t.Errorf("redacted %q", r)
	}
	if _, err := ParseSMTPURL("smtp://u:s3cret@relay.example.com:x"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("an invalid URL's error %v quotes the password or is missing", err)
	}
}

func TestParseFromGivesTheMessageIDDomain(t *testing.T) {
	t.Parallel()
	if d, err := ParseFrom("jobboard <noreply@jobs.example.com>"); err != nil || d != "jobs.example.com" {
		t.Fatalf("got %q %v", d, err)
	}
	if _, err := ParseFrom("noreply"); err == nil {
		t.Fatal("an address without a domain was accepted")
	}
	if a, b := MessageID("k", "d"), MessageID("k", "d"); a != b || !strings.HasSuffix(a, "@d") || MessageID("k2", "d") == a {
		t.Fatalf("Message-IDs %q %q are not deterministic per key", a, b)
	}
}
