package web

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestLimiterCountsPerAddressAndRefills(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)
	l := newLimiter(RateLimit{PerMinute: 2, Burst: 2}, false, func() time.Time { return now })
	from := func(addr string) bool {
		r := httptest.NewRequest("POST", "/signin", nil)
		r.RemoteAddr = addr
		return l.allow(r)
	}
	if !from("192.0.2.1:1000") || !from("192.0.2.1:1001") || from("192.0.2.1:1002") {
		t.Fatal("want a burst of 2 from one address, then refusal")
	}
	if !from("192.0.2.2:1000") {
		t.Fatal("another address was refused")
	}
	// One /64 is one client.
	if !from("[2001:db8::1]:1") || !from("[2001:db8::2]:1") || from("[2001:db8::3]:1") {
		t.Fatal("addresses of one IPv6 /64 are not counted together")
	}
	now = now.Add(30 * time.Second)
	if !from("192.0.2.1:1003") || from("192.0.2.1:1004") {
		t.Fatal("want one token back after 30 s at 2 a minute")
	}
	if off := newLimiter(RateLimit{}, false, time.Now); !off.allow(httptest.NewRequest("POST", "/", nil)) {
		t.Fatal("a zero limit refused")
	}
}
