package api

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/internal/apperr"
)

// Idempotency-Key on POST (API.md): the first request with a key claims it in PostgreSQL
// (INSERT … ON CONFLICT DO NOTHING on (principal, key)), runs, and stores its answer; a
// repeat with the same key, method, path and body gets the stored answer (same status and
// body, header Idempotent-Replayed: true) and runs nothing; the same key with another body,
// method or path is 422. A repeat that arrives while the first is still running waits up to
// IdempotencyConfig.Wait for it, then answers 409 with Retry-After. Because all the state is
// in PostgreSQL this holds across any number of `serve` instances.
//
// Answers with a 5xx status or 429 are not kept (the key is released, so the client may
// retry with it); every other answer, errors included, is. A claim whose request never
// finished (its instance died) is taken over after LockTimeout. Keys expire after TTL.

// IdempotencyConfig configures the Idempotency-Key store.
type IdempotencyConfig struct {
	// TTL is how long an answer is kept for repeats. Default 24 h.
	TTL time.Duration
	// Wait is how long a repeat waits for the first request to finish before 409. Default 2 s.
	Wait time.Duration
	// PollInterval is how often a waiting repeat looks again. Default 50 ms.
	PollInterval time.Duration
	// LockTimeout is after how long an unfinished claim is considered abandoned. Default 2 min
	// (longer than the server's write timeout, so a live request is never taken over).
	LockTimeout time.Duration
}

func (c *IdempotencyConfig) setDefaults() {
	if c.TTL == 0 {
		c.TTL = 24 * time.Hour
	}
	if c.Wait == 0 {
		c.Wait = 2 * time.Second
	}
	if c.PollInterval == 0 {
		c.PollInterval = 50 * time.Millisecond
	}
	if c.LockTimeout == 0 {
		c.LockTimeout = 2 * time.Minute
	}
}

// Validate reports every problem of the configuration.
func (c IdempotencyConfig) Validate() error {
	var errs []error
	if c.TTL < 0 || c.Wait < 0 || c.PollInterval < 0 || c.LockTimeout < 0 {
		errs = append(errs, errors.New("idempotency: durations must not be negative"))
	}
	return errors.Join(errs...)
}

// IdempotencyStore keeps the answers of idempotent requests in PostgreSQL
// (migrations/00020_idempotency_keys.sql).
type IdempotencyStore struct {
	pool *pgxpool.Pool
	cfg  IdempotencyConfig
}

// NewIdempotencyStore returns a store on pool.
func NewIdempotencyStore(pool *pgxpool.Pool, cfg IdempotencyConfig) (*IdempotencyStore, error) {
	if pool == nil {
		return nil, errors.New("api: idempotency store: nil pool")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &IdempotencyStore{pool: pool, cfg: cfg}, nil
}

// DeleteExpired removes keys older than the TTL and reports how many.
func (s *IdempotencyStore) DeleteExpired(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at < now()`)
	if err != nil {
		return 0, fmt.Errorf("delete expired idempotency keys: %w", err)
	}
	return tag.RowsAffected(), nil
}

// idemRequest identifies one request sent with a key.
type idemRequest struct {
	principal string
	key       string
	method    string
	path      string
	bodyHash  [32]byte
}

func (q idemRequest) keyHash() []byte {
	h := sha256.Sum256([]byte("jobboard idempotency key v1\x00" + q.key))
	return h[:]
}

// aead encrypts stored answers under a key derived from the Idempotency-Key itself, which
// the table does not hold (it holds a differently salted hash).
func (q idemRequest) aead() (cipher.AEAD, error) {
	k := sha256.Sum256([]byte("jobboard idempotency answer v1\x00" + q.principal + "\x00" + q.key))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// storedAnswer is a kept response.
type storedAnswer struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    []byte            `json:"body"`
}

func (q idemRequest) seal(a storedAnswer) ([]byte, error) {
	plain, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	g, err := q.aead()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return g.Seal(nonce, nonce, plain, nil), nil
}

func (q idemRequest) open(sealed []byte) (storedAnswer, error) {
	var a storedAnswer
	g, err := q.aead()
	if err != nil {
		return a, err
	}
	if len(sealed) < g.NonceSize() {
		return a, errors.New("stored answer too short")
	}
	plain, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], nil)
	if err != nil {
		return a, err
	}
	return a, json.Unmarshal(plain, &a)
}

// claim outcomes.
type claimOutcome int

const (
	claimRun    claimOutcome = iota // this request owns the key: run it
	claimReplay                     // answer with the stored answer
)

// claim takes the key for this request, or returns the answer of the first one.
func (s *IdempotencyStore) claim(ctx context.Context, q idemRequest) (claimOutcome, storedAnswer, error) {
	deadline := time.Now().Add(s.cfg.Wait)
	for {
		tag, err := s.pool.Exec(ctx, `INSERT INTO idempotency_keys (principal, key_hash, method, path, request_hash, state, expires_at)
			VALUES ($1, $2, $3, $4, $5, 'in_progress', now() + make_interval(secs => $6)) ON CONFLICT DO NOTHING`,
			q.principal, q.keyHash(), q.method, q.path, q.bodyHash[:], s.cfg.TTL.Seconds())
		if err != nil {
			return 0, storedAnswer{}, fmt.Errorf("claim idempotency key: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return claimRun, storedAnswer{}, nil
		}
		var (
			method, path, state string
			reqHash, sealed     []byte
			stale, expired      bool
		)
		err = s.pool.QueryRow(ctx, `SELECT method, path, request_hash, state, response,
				updated_at < now() - make_interval(secs => $3), expires_at < now()
			FROM idempotency_keys WHERE principal = $1 AND key_hash = $2`,
			q.principal, q.keyHash(), s.cfg.LockTimeout.Seconds()).Scan(&method, &path, &reqHash, &state, &sealed, &stale, &expired)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released or expired since the insert: claim again
		}
		if err != nil {
			return 0, storedAnswer{}, fmt.Errorf("read idempotency key: %w", err)
		}
		if expired {
			if _, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE principal = $1 AND key_hash = $2 AND expires_at < now()`,
				q.principal, q.keyHash()); err != nil {
				return 0, storedAnswer{}, fmt.Errorf("expire idempotency key: %w", err)
			}
			continue
		}
		if method != q.method || path != q.path || !bytes.Equal(reqHash, q.bodyHash[:]) {
			return 0, storedAnswer{}, apperr.New(apperr.Unprocessable,
				"this Idempotency-Key was used for another request (%s %s with another body); use a new key", method, path)
		}
		if state == "done" {
			a, err := q.open(sealed)
			if err != nil {
				return 0, storedAnswer{}, fmt.Errorf("open stored answer: %w", err)
			}
			return claimReplay, a, nil
		}
		if stale {
			tag, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET updated_at = now()
				WHERE principal = $1 AND key_hash = $2 AND state = 'in_progress' AND updated_at < now() - make_interval(secs => $3)`,
				q.principal, q.keyHash(), s.cfg.LockTimeout.Seconds())
			if err != nil {
				return 0, storedAnswer{}, fmt.Errorf("take over idempotency key: %w", err)
			}
			if tag.RowsAffected() == 1 {
				return claimRun, storedAnswer{}, nil
			}
			continue
		}
		if time.Now().After(deadline) {
			return 0, storedAnswer{}, &apperr.Error{Code: apperr.Conflict, RetryAfterSeconds: 1,
				Message: "a request with this Idempotency-Key is still in progress; retry later"}
		}
		select {
		case <-ctx.Done():
			return 0, storedAnswer{}, apperr.Wrap(apperr.Unavailable, ctx.Err(), "the request was cancelled")
		case <-time.After(s.cfg.PollInterval):
		}
	}
}

// finish stores the answer of the request that claimed the key.
func (s *IdempotencyStore) finish(ctx context.Context, q idemRequest, a storedAnswer) error {
	sealed, err := q.seal(a)
	if err != nil {
		return fmt.Errorf("seal answer: %w", err)
	}
	_, err = s.pool.Exec(ctx, `UPDATE idempotency_keys SET state = 'done', status_code = $3, response = $4, updated_at = now()
		WHERE principal = $1 AND key_hash = $2`, q.principal, q.keyHash(), a.Status, sealed)
	if err != nil {
		return fmt.Errorf("store idempotent answer: %w", err)
	}
	return nil
}

// release frees a claim whose answer is not kept (5xx, 429, a cancelled request).
func (s *IdempotencyStore) release(ctx context.Context, q idemRequest) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE principal = $1 AND key_hash = $2 AND state = 'in_progress'`,
		q.principal, q.keyHash())
	return err
}

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
		if r.Method != http.MethodPost || key == "" || s.cfg.Idempotency == nil {
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
		q := idemRequest{principal: principalFrom(r.Context()).key(), key: key, method: r.Method, path: r.URL.Path, bodyHash: sha256.Sum256(body)}
		outcome, answer, err := s.cfg.Idempotency.claim(r.Context(), q)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if outcome == claimReplay {
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
				if err := s.cfg.Idempotency.release(ctx, q); err != nil {
					s.log.ErrorContext(ctx, "release idempotency key", "error", err, "request_id", requestIDFrom(ctx))
				}
				return
			}
			a := storedAnswer{Status: tw.status, Headers: map[string]string{}, Body: tw.body.Bytes()}
			for _, h := range replayedHeaders {
				if v := tw.header.Get(h); v != "" {
					a.Headers[h] = v
				}
			}
			if err := s.cfg.Idempotency.finish(ctx, q, a); err != nil {
				s.log.ErrorContext(ctx, "store idempotent answer", "error", err, "request_id", requestIDFrom(ctx))
				_ = s.cfg.Idempotency.release(ctx, q)
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
