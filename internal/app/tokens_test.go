package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// currentToken reads GET /v1/tokens/current and returns its created_at and last_used_at.
func currentToken(c client, token string) (answer, time.Time, *time.Time) {
	c.t.Helper()
	a := c.must(c.do("GET", "/v1/tokens/current", token, nil), 200)
	created, err := time.Parse(time.RFC3339Nano, a.str("created_at"))
	if err != nil {
		c.t.Fatalf("created_at: %v (%s)", err, a.raw)
	}
	var lastUsed *time.Time
	if s := a.str("last_used_at"); s != "" {
		lu, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			c.t.Fatalf("last_used_at: %v (%s)", err, a.raw)
		}
		lastUsed = &lu
	}
	return a, created, lastUsed
}

// TestTokenLifeCycle: an employer rotates its token through the API; the old token is
// refused at once, the new one works, GET /v1/tokens/current shows when it was issued and
// (throttled) last used, and the rotation is in the company's stream without any secret.
func TestTokenLifeCycle(t *testing.T) {
	t.Parallel()
	cfg := stackConfig(t)
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	db, err := pgx.Connect(context.Background(), cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(context.Background()) })
	companyID, oldToken := registerCompany(c)

	a, registeredAt, lastUsed := currentToken(c, oldToken)
	if a.str("role") != "employer" || a.str("subject_id") != companyID || lastUsed == nil {
		t.Fatalf("current token: %s", a.raw)
	}
	t.Run("last_used_at is written at most once a minute", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		c.must(c.do("POST", "/v1/jobs", oldToken, jobBody()), 201)
		if _, _, again := currentToken(c, oldToken); again == nil || !again.Equal(*lastUsed) {
			t.Fatalf("two uses within a minute both wrote last_used_at: %v, then %v", lastUsed, again)
		}
		var backdated time.Time
		if err := db.QueryRow(context.Background(), `UPDATE credentials SET last_used_at = last_used_at - interval '2 minutes'
			WHERE subject_id = $1 RETURNING last_used_at`, companyID).Scan(&backdated); err != nil {
			t.Fatal(err)
		}
		if _, _, moved := currentToken(c, oldToken); moved == nil || !moved.After(backdated.Add(time.Minute)) {
			t.Fatalf("a use after a stale last_used_at (%v) did not move it: %v", backdated, moved)
		}
	})

	key := uuid.NewString()
	rotated := c.must(c.do("POST", "/v1/tokens/rotate", oldToken, nil, "Idempotency-Key", key), 201)
	newToken := rotated.str("token")
	if newToken == "" || newToken == oldToken || !strings.HasPrefix(newToken, "jbc_") {
		t.Fatalf("rotate answered %s", rotated.raw)
	}
	t.Run("the old token answers 401 at once, the new one works", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		c.must(c.do("POST", "/v1/jobs", oldToken, jobBody()), 401)
		c.must(c.do("GET", "/v1/tokens/current", oldToken, nil), 401)
		c.must(c.do("POST", "/v1/tokens/rotate", oldToken, nil), 401)
		c.must(c.do("POST", "/v1/jobs", newToken, jobBody()), 201)
	})
	t.Run("current shows the rotation as the token's creation", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		a, created, used := currentToken(c, newToken)
		if a.str("subject_id") != companyID || !created.After(registeredAt) || used == nil || used.Before(created.Add(-time.Second)) {
			t.Fatalf("after rotation: %s (registered at %v)", a.raw, registeredAt)
		}
	})
	t.Run("a repeat with the same Idempotency-Key answers the same new token", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		again := c.must(c.do("POST", "/v1/tokens/rotate", newToken, nil, "Idempotency-Key", key), 201)
		if again.str("token") != newToken || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("repeat answered %s", again.raw)
		}
		c.must(c.do("GET", "/v1/tokens/current", newToken, nil), 200)
	})
	t.Run("the stream records the rotation and no secret", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		items := events(c, "stream="+companyID, func(items []map[string]any) bool {
			return countType(items, "company.token_rotated") == 1
		})
		if n := countType(items, "company.token_rotated"); n != 1 {
			t.Fatalf("%d company.token_rotated events, want 1: %v", n, items)
		}
		raw, _ := json.Marshal(items)
		for _, tok := range []string{oldToken, newToken} {
			h := sha256.Sum256([]byte(tok))
			for _, secret := range []string{tok, strings.TrimPrefix(tok, "jbc_"), hex.EncodeToString(h[:]), base64.StdEncoding.EncodeToString(h[:])} {
				if strings.Contains(string(raw), secret) {
					t.Fatalf("the stream holds a token or its hash: %s", raw)
				}
			}
		}
	})
	t.Run("a candidate rotates too", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		reg := c.must(c.do("POST", "/v1/candidates", "", map[string]any{"name": "Ada", "email": uuid.NewString() + "@ada.test"}), 201)
		r := c.must(c.do("POST", "/v1/tokens/rotate", reg.str("token"), nil), 201)
		c.must(c.do("GET", "/v1/tokens/current", reg.str("token"), nil), 401)
		if a, _, _ := currentToken(c, r.str("token")); a.str("role") != "candidate" || a.str("subject_id") != reg.str("id") {
			t.Fatalf("candidate's current token: %s", a.raw)
		}
	})
	t.Run("operators cannot rotate (their tokens are configuration) and see their role only", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		c.must(c.do("POST", "/v1/tokens/rotate", operatorToken, nil), 403)
		a := c.must(c.do("GET", "/v1/tokens/current", operatorToken, nil), 200)
		if a.str("role") != "operator" || a.body["created_at"] != nil || a.body["last_used_at"] != nil {
			t.Fatalf("operator's current token: %s", a.raw)
		}
		c.must(c.do("POST", "/v1/tokens/rotate", "", nil), 401)
	})
}

// TestAnonymousIdempotencyKeysNeedEntropy: a sign-up's key must be at least 32 characters
// (a repeat would hand the new account's token to whoever guesses it); keys of
// authenticated callers keep their rules.
func TestAnonymousIdempotencyKeysNeedEntropy(t *testing.T) {
	t.Parallel()
	m := start(t, stackConfig(t))
	for _, path := range []string{"/v1/companies", "/v1/candidates"} {
		t.Run(path, func(t *testing.T) {
			c := client{t: t, base: m.URL()}
			body := map[string]any{"name": "Acme", "email": uuid.NewString() + "@acme.test"}
			short := c.must(c.do("POST", path, "", body, "Idempotency-Key", uuid.NewString()[:31]), 400)
			if !strings.Contains(short.raw, `"field":"Idempotency-Key"`) {
				t.Fatalf("400 does not name Idempotency-Key: %s", short.raw)
			}
			// The refused request registered nothing: the address is still free.
			key := uuid.NewString()[:32]
			first := c.must(c.do("POST", path, "", body, "Idempotency-Key", key), 201)
			again := c.must(c.do("POST", path, "", body, "Idempotency-Key", key), 201)
			if again.raw != first.raw || again.header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("a 32-character key was not kept: %s / %s", first.raw, again.raw)
			}
		})
	}
	t.Run("authenticated routes keep short keys", func(t *testing.T) {
		c := client{t: t, base: m.URL()}
		_, token := registerCompany(c)
		c.must(c.do("POST", "/v1/jobs", token, jobBody(), "Idempotency-Key", "k1"), 201)
	})
}

// TestConcurrentAppliesOfOneCandidateToOneJob: many applications of one candidate to one
// job at once through HTTP: one 201, the rest 409; the id is not derived from the pair.
func TestConcurrentAppliesOfOneCandidateToOneJob(t *testing.T) {
	t.Parallel()
	cfg := stackConfig(t)
	m := start(t, cfg)
	c := client{t: t, base: m.URL()}
	_, companyToken := registerCompany(c)
	jobID, _ := postAndPay(c, cfg.StripeWebhookSecret, companyToken, "Concurrent Applications", "standard")
	reg := c.must(c.do("POST", "/v1/candidates", "", map[string]any{"name": "Ada", "email": uuid.NewString() + "@ada.test"}), 201)
	candidateID, token := reg.str("id"), reg.str("token")

	const racers = 20
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		ids      []string
		start    = make(chan struct{})
	)
	for range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a := c.do("POST", "/v1/jobs/"+jobID+"/applications", token, map[string]any{"resume_url": "https://cv.example/ada.pdf"})
			mu.Lock()
			defer mu.Unlock()
			statuses[a.status]++
			if a.status == 201 {
				ids = append(ids, a.str("id"))
			}
		}()
	}
	close(start)
	wg.Wait()
	if statuses[201] != 1 || statuses[409] != racers-1 {
		t.Fatalf("statuses %v: want one 201 and %d 409", statuses, racers-1)
	}
	// Before issue 10 the id was this UUIDv5 of (job, candidate), computable by anyone.
	oldNamespace := uuid.MustParse("e4a3d9a1-c8f0-4c03-8f1d-40e48d40cd18")
	if derived := uuid.NewSHA1(oldNamespace, []byte(jobID+"\x00"+candidateID)).String(); ids[0] == derived {
		t.Fatalf("the application id %s is the UUIDv5 of (job, candidate)", ids[0])
	}
	c.must(c.do("POST", "/v1/jobs/"+jobID+"/applications", token, map[string]any{"resume_url": "https://cv.example/ada.pdf"}), 409)
}
