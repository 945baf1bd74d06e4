// Package idempotency is the PostgreSQL adapter of application.IdempotencyStore: the
// answers of requests sent with an Idempotency-Key, kept across every instance.
package idempotency

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
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/internal/apperr"
)

// The idempotency keys of application.IdempotencyStore in PostgreSQL: the first request
// with a key claims it (INSERT … ON CONFLICT DO NOTHING on (principal, key hash)); a repeat
// with the same key, method, path and body gets the stored answer; the same key with another
// body, method or path is Unprocessable. A repeat that arrives while the first is still
// running waits up to Config.Wait for it, then is a Conflict with a retry hint.
// Because all the state is in PostgreSQL this holds across any number of `serve` instances.
// A claim whose request never finished (its instance died) is taken over after LockTimeout.
// Keys expire after TTL.

// Config configures the store.
type Config struct {
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

func (c *Config) setDefaults() {
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
func (c Config) Validate() error {
	var errs []error
	if c.TTL < 0 || c.Wait < 0 || c.PollInterval < 0 || c.LockTimeout < 0 {
		errs = append(errs, errors.New("idempotency: durations must not be negative"))
	}
	return errors.Join(errs...)
}

// Store keeps the answers of idempotent requests in PostgreSQL
// (migrations/00020_idempotency_keys.sql). Answers are stored encrypted under a key derived
// from the Idempotency-Key itself, which the table does not hold.
type Store struct {
	pool *pgxpool.Pool
	cfg  Config
}

var _ application.IdempotencyStore = (*Store)(nil)

// NewStore returns a store on pool.
func NewStore(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("idempotency: nil pool")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Store{pool: pool, cfg: cfg}, nil
}

// DeleteExpired removes keys older than the TTL and reports how many.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at < now()`)
	if err != nil {
		return 0, fmt.Errorf("delete expired idempotency keys: %w", err)
	}
	return tag.RowsAffected(), nil
}

func keyHash(q application.IdempotentRequest) []byte {
	h := sha256.Sum256([]byte("jobboard idempotency key v1\x00" + q.Key))
	return h[:]
}

// aead encrypts stored answers under a key derived from the Idempotency-Key itself, which
// the table does not hold (it holds a differently salted hash).
func aead(q application.IdempotentRequest) (cipher.AEAD, error) {
	k := sha256.Sum256([]byte("jobboard idempotency answer v1\x00" + q.Principal + "\x00" + q.Key))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func seal(q application.IdempotentRequest, a application.StoredAnswer) ([]byte, error) {
	plain, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	g, err := aead(q)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return g.Seal(nonce, nonce, plain, nil), nil
}

func open(q application.IdempotentRequest, sealed []byte) (application.StoredAnswer, error) {
	var a application.StoredAnswer
	g, err := aead(q)
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

// Claim takes the key for this request, or returns the answer of the first one.
func (s *Store) Claim(ctx context.Context, q application.IdempotentRequest) (application.StoredAnswer, bool, error) {
	var none application.StoredAnswer
	deadline := time.Now().Add(s.cfg.Wait)
	for {
		tag, err := s.pool.Exec(ctx, `INSERT INTO idempotency_keys (principal, key_hash, method, path, request_hash, state, expires_at)
			VALUES ($1, $2, $3, $4, $5, 'in_progress', now() + make_interval(secs => $6)) ON CONFLICT DO NOTHING`,
			q.Principal, keyHash(q), q.Method, q.Path, q.BodyHash[:], s.cfg.TTL.Seconds())
		if err != nil {
			return none, false, fmt.Errorf("claim idempotency key: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return none, false, nil
		}
		var (
			method, path, state string
			reqHash, sealed     []byte
			stale, expired      bool
		)
		err = s.pool.QueryRow(ctx, `SELECT method, path, request_hash, state, response,
				updated_at < now() - make_interval(secs => $3), expires_at < now()
			FROM idempotency_keys WHERE principal = $1 AND key_hash = $2`,
			q.Principal, keyHash(q), s.cfg.LockTimeout.Seconds()).Scan(&method, &path, &reqHash, &state, &sealed, &stale, &expired)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released or expired since the insert: claim again
		}
		if err != nil {
			return none, false, fmt.Errorf("read idempotency key: %w", err)
		}
		if expired {
			if _, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE principal = $1 AND key_hash = $2 AND expires_at < now()`,
				q.Principal, keyHash(q)); err != nil {
				return none, false, fmt.Errorf("expire idempotency key: %w", err)
			}
			continue
		}
		if method != q.Method || path != q.Path || !bytes.Equal(reqHash, q.BodyHash[:]) {
			return none, false, apperr.New(apperr.Unprocessable,
				"this Idempotency-Key was used for another request (%s %s with another body); use a new key", method, path)
		}
		if state == "done" {
			a, err := open(q, sealed)
			if err != nil {
				return none, false, fmt.Errorf("open stored answer: %w", err)
			}
			return a, true, nil
		}
		if stale {
			tag, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET updated_at = now()
				WHERE principal = $1 AND key_hash = $2 AND state = 'in_progress' AND updated_at < now() - make_interval(secs => $3)`,
				q.Principal, keyHash(q), s.cfg.LockTimeout.Seconds())
			if err != nil {
				return none, false, fmt.Errorf("take over idempotency key: %w", err)
			}
			if tag.RowsAffected() == 1 {
				return none, false, nil
			}
			continue
		}
		if time.Now().After(deadline) {
			return none, false, &apperr.Error{Code: apperr.Conflict, RetryAfterSeconds: 1,
				Message: "a request with this Idempotency-Key is still in progress; retry later"}
		}
		select {
		case <-ctx.Done():
			return none, false, apperr.Wrap(apperr.Unavailable, ctx.Err(), "the request was cancelled")
		case <-time.After(s.cfg.PollInterval):
		}
	}
}

// Finish stores the answer of the request that claimed the key.
func (s *Store) Finish(ctx context.Context, q application.IdempotentRequest, a application.StoredAnswer) error {
	sealed, err := seal(q, a)
	if err != nil {
		return fmt.Errorf("seal answer: %w", err)
	}
	_, err = s.pool.Exec(ctx, `UPDATE idempotency_keys SET state = 'done', status_code = $3, response = $4, updated_at = now()
		WHERE principal = $1 AND key_hash = $2`, q.Principal, keyHash(q), a.Status, sealed)
	if err != nil {
		return fmt.Errorf("store idempotent answer: %w", err)
	}
	return nil
}

// Release frees a claim whose answer is not kept (5xx, 429, a cancelled request).
func (s *Store) Release(ctx context.Context, q application.IdempotentRequest) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE principal = $1 AND key_hash = $2 AND state = 'in_progress'`,
		q.Principal, keyHash(q))
	return err
}
