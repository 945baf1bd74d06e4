package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is a token bucket per client address (an IPv4 address, an IPv6 /64): PerMinute
// requests a minute on average, bursts of up to Burst. A zero PerMinute disables it.
type RateLimit struct {
	PerMinute float64
	Burst     int
}

// limiter holds a bucket per client key; buckets idle long enough to be full again are
// forgotten, so memory stays bounded by the recently active clients.
type limiter struct {
	limit   RateLimit
	trustXF bool
	now     func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(l RateLimit, trustXF bool, now func() time.Time) *limiter {
	return &limiter{limit: l, trustXF: trustXF, now: now, buckets: map[string]*bucket{}}
}

// allow takes a token for r's client.
func (l *limiter) allow(r *http.Request) bool {
	if l.limit.PerMinute <= 0 {
		return true
	}
	key, now := clientKey(r, l.trustXF), l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		idle := time.Duration(float64(l.limit.Burst)/l.limit.PerMinute*float64(time.Minute)) + time.Minute
		for k, b := range l.buckets {
			if now.Sub(b.seen) > idle {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.limit.PerMinute/60), l.limit.Burst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}

// clientKey is the address a limit counts against: the TCP peer, or the last
// X-Forwarded-For address when a trusted proxy is in front; IPv6 by its /64.
func clientKey(r *http.Request, trustXF bool) string {
	ip := ""
	if trustXF {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			ip = strings.TrimSpace(parts[len(parts)-1])
		}
	}
	if ip == "" {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip = host; err != nil {
			ip = r.RemoteAddr
		}
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a = a.Unmap().WithZone(""); a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// limited refuses, with our 429 page, the requests of a client past l.
func (s *Server) limited(l *limiter, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !l.allow(r) {
			w.Header().Set("Retry-After", "60")
			s.renderError(w, r, http.StatusTooManyRequests, "Too many requests", "Please wait a minute and try again.")
			return
		}
		next(w, r)
	}
}
