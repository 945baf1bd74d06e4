package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/jobboard/jobboard/application"
)

// Idempotency-Key on POST (API.md): the first request with a key claims it in the
// application's IdempotencyStore, runs, and stores its answer; a repeat with the same key,
// method, path and body gets the stored answer (same status and body, header
// Idempotent-Replayed: true) and runs nothing; the same key with another body, method or
// path is 422; a repeat while the first still runs waits, then is 409 with Retry-After.
//
// Answers with a 5xx status or 429 are not kept (the key is released, so the client may
// retry with it); every other answer, errors included, is.

// validIdempotencyKey: 1–255 visible ASCII characters.
func validIdempotencyKey(k string) bool { return visibleASCII(k, 255) }

// minAnonymousIdempotencyKeyLen is the shortest key the anonymous routes (sign-ups) take.
// Anonymous callers share one key scope and a repeat returns the first answer, which holds
// the new account's token: a key must be as hard to guess as a UUID (32 hex digits).
const minAnonymousIdempotencyKeyLen = 32

// replayedHeaders are the response headers kept with an answer.
var replayedHeaders = []string{"Content-Type", "Location", "ETag", "Retry-After"}

// idempotent is the middleware of every POST route that changes state. It must run after
// authenticate, since keys are scoped by the caller.
func (s *Server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if r.Method != http.MethodPost || key == "" || s.idem == nil {
			next.ServeHTTP(w, r)
			return
		}
		if !validIdempotencyKey(key) {
			s.writeError(w, r, invalidField("Idempotency-Key", "must be 1 to 255 visible ASCII characters"))
			return
		}
		if principalFrom(r.Context()).Role == "" && len(key) < minAnonymousIdempotencyKeyLen {
			s.writeError(w, r, invalidField("Idempotency-Key",
				fmt.Sprintf("must be at least %d characters without a bearer token (a UUID or 128 random bits), so that nobody can guess it", minAnonymousIdempotencyKeyLen)))
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		q := application.IdempotentRequest{Principal: principalFrom(r.Context()).key(), Key: key, Method: r.Method, Path: r.URL.Path, BodyHash: sha256.Sum256(body)}
		answer, replay, err := s.idem.Claim(r.Context(), q)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if replay {
			for k, v := range answer.Headers {
				w.Header().Set(k, v)
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(answer.Status)
			_, _ = w.Write(answer.Body)
			return
		}
		tw := &teeWriter{ResponseWriter: w, status: http.StatusOK}
		completed := false
		defer func() {
			// context.WithoutCancel: the answer must be stored (or the key released) even when
			// the client went away, or the key would stay claimed until LockTimeout.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
			defer cancel()
			if !completed || tw.status >= 500 || tw.status == http.StatusTooManyRequests {
				if err := s.idem.Release(ctx, q); err != nil {
					s.log.ErrorContext(ctx, "release idempotency key", "error", err, "request_id", requestIDFrom(ctx))
				}
				return
			}
			a := application.StoredAnswer{Status: tw.status, Headers: map[string]string{}, Body: tw.body.Bytes()}
			for _, h := range replayedHeaders {
				if v := tw.header.Get(h); v != "" {
					a.Headers[h] = v
				}
			}
			if err := s.idem.Finish(ctx, q, a); err != nil {
				s.log.ErrorContext(ctx, "store idempotent answer", "error", err, "request_id", requestIDFrom(ctx))
				_ = s.idem.Release(ctx, q)
			}
		}()
		next.ServeHTTP(tw, r)
		completed = true
	})
}

// teeWriter passes a response through and keeps a copy of it.
type teeWriter struct {
	http.ResponseWriter
	status      int
	header      http.Header
	body        bytes.Buffer
	wroteHeader bool
}

func (t *teeWriter) WriteHeader(code int) {
	if !t.wroteHeader {
		t.status, t.wroteHeader = code, true
		t.header = t.ResponseWriter.Header().Clone()
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *teeWriter) Write(b []byte) (int, error) {
	if !t.wroteHeader {
		t.WriteHeader(http.StatusOK)
	}
	t.body.Write(b)
	return t.ResponseWriter.Write(b)
}

func (t *teeWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
