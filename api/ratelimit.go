package api

import (
	"errors"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/jobboard/jobboard/internal/apperr"
)

// RateLimit is a token bucket per client (an IPv4 address, an IPv6 /64, or an authenticated
// principal): PerMinute requests a minute on average, bursts of up to Burst. A zero
// PerMinute disables the limit.
type RateLimit struct {
	// PerMinute is the sustained rate per client.
	PerMinute float64
	// Burst is how many requests a client may send at once.
	Burst int
}

// Validate reports a limit that cannot work.
func (l RateLimit) Validate() error {
	if l.PerMinute < 0 || math.IsNaN(l.PerMinute) || math.IsInf(l.PerMinute, 0) {
		return errors.New("rate per minute must be a finite number ≥ 0")
	}
	if l.PerMinute > 0 && l.Burst < 1 {
		return errors.New("burst must be at least 1")
	}
	return nil
}

// ipLimiter holds one token bucket per client key (see limitKey; principalLimited keys it by
// the authenticated principal instead). Buckets idle for longer than it takes to
// refill are forgotten (a full bucket is the same as a new one), so memory stays bounded by
// the number of recently active clients. Limits are per instance: behind N instances a
// client gets up to N times the rate.
type ipLimiter struct {
	limit   RateLimit
	trustXF bool
	now     func() time.Time

	mu        sync.Mutex
	clients   map[string]*ipBucket
	lastSweep time.Time
}

type ipBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(l RateLimit, trustForwardedFor bool, now func() time.Time) *ipLimiter {
	return &ipLimiter{limit: l, trustXF: trustForwardedFor, now: now, clients: map[string]*ipBucket{}}
}

// idle is how long a bucket takes to refill completely.
func (l *ipLimiter) idle() time.Duration {
	return time.Duration(float64(l.limit.Burst)/l.limit.PerMinute*float64(time.Minute)) + time.Minute
}

// allow takes a token for key, or says how long to wait for one.
func (l *ipLimiter) allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		for k, b := range l.clients {
			if now.Sub(b.seen) > l.idle() {
				delete(l.clients, k)
			}
		}
		l.lastSweep = now
	}
	b, ok := l.clients[key]
	if !ok {
		b = &ipBucket{lim: rate.NewLimiter(rate.Limit(l.limit.PerMinute/60), l.limit.Burst)}
		l.clients[key] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Minute
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// clientIP is the address the limit is keyed by: the TCP peer, or — only when configured to
// trust a proxy in front — the last address of X-Forwarded-For, the one that proxy appended
// (earlier entries are whatever the client claimed).
func clientIP(r *http.Request, trustForwardedFor bool) string {
	if trustForwardedFor {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if ip := net.ParseIP(strings.TrimSpace(parts[len(parts)-1])); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limitKey is the client a per-address limit counts against: an IPv4 address as is, an IPv6
// address by its /64, the smallest block one subscriber is usually given (an ISP hands out
// whole /64s, so keying by the full address would let one client take 2^64 buckets).
// IPv4-mapped IPv6 addresses count as the IPv4 address. What is not an address (a unix
// socket peer) is its own key.
func limitKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// rateLimited is the middleware of one route group limited per client address.
func (s *Server) rateLimited(l *ipLimiter) func(http.Handler) http.Handler {
	return s.limited(l, "too many requests from this address", func(r *http.Request) string {
		return limitKey(clientIP(r, l.trustXF))
	})
}

// principalLimited is the middleware of one route group limited per authenticated principal,
// wherever their requests come from; it runs after authenticate.
func (s *Server) principalLimited(l *ipLimiter) func(http.Handler) http.Handler {
	return s.limited(l, "too many requests from this account", func(r *http.Request) string {
		p := principalFrom(r.Context())
		return string(p.Role) + ":" + p.ID
	})
}

func (s *Server) limited(l *ipLimiter, who string, key func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if l == nil || l.limit.PerMinute == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ok, wait := l.allow(key(r))
			if !ok {
				s.writeError(w, r, &apperr.Error{Code: apperr.RateLimited, RetryAfterSeconds: int(math.Ceil(wait.Seconds())),
					Message: who + "; retry after the time in Retry-After"})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
