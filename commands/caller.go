package commands

import (
	"github.com/jobboard/jobboard/internal/apperr"
)

// Role is who an actor is to the system.
type Role string

// Roles. Employers and candidates authenticate with the tokens their registration returned;
// operators with a configured token; the system acts on its own (expiry, webhooks).
const (
	RoleAnonymous Role = "anonymous"
	RoleEmployer  Role = "employer"
	RoleCandidate Role = "candidate"
	RoleOperator  Role = "operator"
	RoleSystem    Role = "system"
)

// Actor is who asks for a command: an employer's company id, a candidate id, or a system
// component ("stripe", "expiry-scheduler").
type Actor struct {
	Role Role
	ID   string
}

// String is the actor as stored in event metadata: "employer:<company id>".
func (a Actor) String() string {
	if a.Role == "" {
		return string(RoleAnonymous)
	}
	if a.ID == "" {
		return string(a.Role)
	}
	return string(a.Role) + ":" + a.ID
}

// Caller is the context of a command, stored with its events as metadata.
type Caller struct {
	Actor Actor
	// CorrelationID ties together everything one request caused; a new one is made when empty.
	CorrelationID string
	// CausationID is what caused the command (the request id, the webhook's event id); the
	// correlation id when empty.
	CausationID string
	// IdempotencyKey is the client's Idempotency-Key, if any.
	IdempotencyKey string
	// TraceParent is the W3C traceparent of the request, if any.
	TraceParent string
}

// Metadata is what is stored with every event of one append.
type Metadata struct {
	CorrelationID  string
	CausationID    string
	Actor          string
	Command        string
	IdempotencyKey string
	TraceParent    string
}

func (c Caller) metadata(command string, ids IDGenerator) Metadata {
	m := Metadata{
		CorrelationID:  c.CorrelationID,
		CausationID:    c.CausationID,
		Actor:          c.Actor.String(),
		Command:        command,
		IdempotencyKey: c.IdempotencyKey,
		TraceParent:    c.TraceParent,
	}
	if m.CorrelationID == "" {
		m.CorrelationID = ids()
	}
	if m.CausationID == "" {
		m.CausationID = m.CorrelationID
	}
	return m
}

// requireRole refuses actors of another role (the HTTP layer authorises first; this keeps
// the handlers safe when called from elsewhere).
func requireRole(a Actor, roles ...Role) error {
	for _, r := range roles {
		if a.Role == r && (a.ID != "" || r == RoleSystem || r == RoleOperator) {
			return nil
		}
	}
	if a.Role == "" || a.Role == RoleAnonymous {
		return apperr.New(apperr.Unauthorized, "authentication required")
	}
	return apperr.New(apperr.Forbidden, "%s may not do this", a.Role)
}
