package application

import "context"

// IdempotencyStore keeps the answers of requests sent with an idempotency key, across every
// instance: the first request with a key claims it, runs, and stores its answer; a repeat
// with the same key and the same request gets the stored answer and runs nothing; the same
// key with another request is Unprocessable; a repeat that arrives while the first still
// runs waits a little, then is a Conflict with a retry hint. repository.IdempotencyStore
// implements it over PostgreSQL.
type IdempotencyStore interface {
	// Claim takes the key for r (replay false: run the request, then Finish or Release), or
	// returns the answer the first request with the key stored (replay true).
	Claim(ctx context.Context, r IdempotentRequest) (answer StoredAnswer, replay bool, err error)
	// Finish stores the answer of the request that claimed the key.
	Finish(ctx context.Context, r IdempotentRequest, a StoredAnswer) error
	// Release frees a claim whose answer is not kept, so the client may retry with the key.
	Release(ctx context.Context, r IdempotentRequest) error
}

// IdempotentRequest identifies one request sent with a key.
type IdempotentRequest struct {
	// Principal scopes the key: two callers never share one.
	Principal string
	Key       string
	// Method and Path name the operation; BodyHash (SHA-256) its input.
	Method   string
	Path     string
	BodyHash [32]byte
}

// StoredAnswer is a kept answer: its status, the headers worth replaying and its body.
type StoredAnswer struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    []byte            `json:"body"`
}
