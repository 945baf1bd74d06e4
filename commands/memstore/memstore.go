// Package memstore is an in-memory commands.EventStore and commands.DueListings: the write
// side without PostgreSQL, for tests of command handlers that must run in milliseconds. It
// passes the same acceptance suite (commands/eventstoretest) as repository's PostgreSQL
// store, which is the store the program runs on. It imports commands and domain only.
package memstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
)

// Store keeps streams, claims, credentials and the listing schedule in maps under one mutex:
// an append is atomic because it holds the lock from its checks to its last write.
type Store struct {
	mu          sync.Mutex
	streams     map[string]*stream
	claims      map[claimKey]string            // → stream id
	credentials map[string]commands.Credential // by token hash
	schedule    map[string]*scheduled          // by job id
	counts      map[string]int                 // events by type
}

type stream struct {
	typ    string
	events []domain.Event
}

type claimKey struct{ scope, key string }

type scheduled struct {
	expiresAt, leasedUntil time.Time
}

var (
	_ commands.EventStore  = (*Store)(nil)
	_ commands.DueListings = (*Store)(nil)
)

// New returns an empty store.
func New() *Store {
	return &Store{
		streams:     map[string]*stream{},
		claims:      map[claimKey]string{},
		credentials: map[string]commands.Credential{},
		schedule:    map[string]*scheduled{},
		counts:      map[string]int{},
	}
}

// Load returns a copy of the stream's history.
func (s *Store) Load(ctx context.Context, streamID string) (commands.Stream, error) {
	if err := ctx.Err(); err != nil {
		return commands.Stream{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := commands.Stream{ID: streamID, Events: []domain.Event{}}
	if st, ok := s.streams[streamID]; ok {
		out.Type, out.Version = st.typ, int64(len(st.events))
		out.Events = slices.Clone(st.events)
	}
	return out, nil
}

// Append checks the claims first and the expected version next, as the PostgreSQL store
// does, and writes nothing unless every check passes.
func (s *Store) Append(ctx context.Context, req commands.AppendRequest) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	switch {
	case req.StreamID == "" || req.StreamType == "":
		return 0, fmt.Errorf("append to %q: empty stream id or type", req.StreamID)
	case req.ExpectedVersion < 0:
		return 0, fmt.Errorf("append to %s: expected version %d < 0", req.StreamID, req.ExpectedVersion)
	case len(req.Events) == 0:
		return 0, fmt.Errorf("append to %s: no events", req.StreamID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range req.Claims {
		if _, taken := s.claims[claimKey{c.Scope, c.Key}]; taken {
			return 0, &commands.ClaimTakenError{Scope: c.Scope, Key: c.Key}
		}
	}
	st := s.streams[req.StreamID]
	var current int64
	if st != nil {
		current = int64(len(st.events))
	}
	if current != req.ExpectedVersion {
		return 0, fmt.Errorf("append to %s: %w: at version %d, not %d", req.StreamID, commands.ErrConcurrencyConflict, current, req.ExpectedVersion)
	}
	if st == nil {
		st = &stream{typ: req.StreamType}
		s.streams[req.StreamID] = st
	}
	st.events = append(st.events, req.Events...)
	for _, e := range req.Events {
		s.counts[e.EventType()]++
	}
	for _, c := range req.Claims {
		s.claims[claimKey{c.Scope, c.Key}] = c.StreamID
	}
	if c := req.Credential; c != nil {
		for hash, old := range s.credentials {
			if old.Role == c.Role && old.SubjectID == c.SubjectID {
				delete(s.credentials, hash)
			}
		}
		s.credentials[string(c.TokenHash)] = *c
	}
	if sc := req.Schedule; sc != nil {
		if sc.Remove {
			delete(s.schedule, sc.JobID)
		} else {
			s.schedule[sc.JobID] = &scheduled{expiresAt: sc.ExpiresAt}
		}
	}
	return int64(len(st.events)), nil
}

// ClaimDueListings leases up to limit due, unleased listings, earliest expiry first.
func (s *Store) ClaimDueListings(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit < 0 {
		return nil, errors.New("claim due listings: negative limit")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []string
	for id, sc := range s.schedule {
		if !sc.expiresAt.After(now) && !sc.leasedUntil.After(now) {
			due = append(due, id)
		}
	}
	slices.SortFunc(due, func(a, b string) int {
		return cmp.Or(s.schedule[a].expiresAt.Compare(s.schedule[b].expiresAt), cmp.Compare(a, b))
	})
	due = due[:min(limit, len(due))]
	for _, id := range due {
		s.schedule[id].leasedUntil = now.Add(lease)
	}
	return due, nil
}

// Lookup returns whom a bearer token authenticates, as repository.Credentials.Lookup does
// over PostgreSQL.
func (s *Store) Lookup(ctx context.Context, token string) (role commands.Role, subjectID string, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.credentials[string(commands.HashToken(token))]
	return c.Role, c.SubjectID, ok, nil
}

// Credentials returns the number of stored credentials of a role.
func (s *Store) Credentials(role commands.Role) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.credentials {
		if c.Role == role {
			n++
		}
	}
	return n
}

// Claim returns the stream holding a claim, "" if none.
func (s *Store) Claim(scope, key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claims[claimKey{scope, key}]
}

// Scheduled returns when a job's listing is scheduled to expire; ok is false if it is not.
func (s *Store) Scheduled(jobID string) (expiresAt time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.schedule[jobID]
	if !ok {
		return time.Time{}, false
	}
	return sc.expiresAt, true
}

// CountEvents counts the stored events of a type, in one stream or ("" stream) everywhere.
func (s *Store) CountEvents(eventType, streamID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if streamID == "" {
		return s.counts[eventType]
	}
	n := 0
	if st, ok := s.streams[streamID]; ok {
		for _, e := range st.events {
			if e.EventType() == eventType {
				n++
			}
		}
	}
	return n
}

// ClaimHolder is the stream holding a claim, as repository.Store.ClaimHolder
// (commands.AccountLookup).
func (s *Store) ClaimHolder(_ context.Context, scope, key string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.claims[claimKey{scope, key}]
	return id, ok, nil
}
