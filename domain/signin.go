package domain

import (
	"errors"
	"fmt"
	"time"
)

// Sign-in links: a passwordless sign-in to the web pages. Someone asks for a link for an
// account's e-mail address; the link (signed by the front door, naming this aggregate's
// id as its nonce) is e-mailed; following it signs in, once, before it expires.

// Roles a sign-in link can sign in as.
const (
	SignInRoleEmployer  = "employer"
	SignInRoleCandidate = "candidate"
)

var (
	// ErrSignInLinkUsed: the link signed someone in already; links are single use.
	ErrSignInLinkUsed = errors.New("sign-in link already used")
	// ErrSignInLinkExpired: the link is past its expiry.
	ErrSignInLinkExpired = errors.New("sign-in link expired")
)

// SignInLink is one e-mailed sign-in link: requested, then used at most once.
type SignInLink struct {
	aggregate
	role      string
	accountID string
	expiresAt time.Time
	used      bool
}

// RequestSignInLink records SignInLinkRequested for the account accountID (a company for
// role employer, a candidate for role candidate) reached at email, usable until now+ttl.
func RequestSignInLink(id, role, accountID, email string, now time.Time, ttl time.Duration) (*SignInLink, error) {
	var p problems
	checkID(&p, "id", id)
	checkID(&p, "account_id", accountID)
	if role != SignInRoleEmployer && role != SignInRoleCandidate {
		p.add("role", "must be employer or candidate")
	}
	if ttl <= 0 {
		p.add("ttl", "must be positive")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	l := &SignInLink{}
	l.id = id
	l.record(&SignInLinkRequested{LinkID: id, Role: role, AccountID: accountID, Email: email, RequestedAt: utc(now), ExpiresAt: utc(now.Add(ttl))}, l.apply)
	return l, nil
}

// LoadSignInLink rebuilds a link from its stream; ErrNotFound when the stream is empty.
func LoadSignInLink(id string, history []Event) (*SignInLink, error) {
	l := &SignInLink{}
	if err := l.fold(StreamTypeSignInLink, EventSignInLinkRequested, id, history, l.apply); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *SignInLink) apply(e Event) {
	switch e := e.(type) {
	case *SignInLinkRequested:
		l.role, l.accountID, l.expiresAt = e.Role, e.AccountID, e.ExpiresAt
	case *SignInLinkUsed:
		l.used = true
	}
}

// Use signs in with the link: it must be for role and accountID (what the signed link
// names; anything else is ErrNotFound), unused and unexpired at now. It records
// SignInLinkUsed, so a second use is ErrSignInLinkUsed.
func (l *SignInLink) Use(role, accountID string, now time.Time) error {
	switch {
	case role != l.role || accountID != l.accountID:
		return fmt.Errorf("sign-in link %s: %w", l.id, ErrNotFound)
	case l.used:
		return ErrSignInLinkUsed
	case !now.Before(l.expiresAt):
		return ErrSignInLinkExpired
	}
	l.record(&SignInLinkUsed{LinkID: l.id, UsedAt: utc(now)}, l.apply)
	return nil
}

// StreamType of sign-in link streams.
func (l *SignInLink) StreamType() string { return StreamTypeSignInLink }

// ExpiresAt is when the link stops working.
func (l *SignInLink) ExpiresAt() time.Time { return l.expiresAt }

// SignInLinkRequested: someone asked for a sign-in link to the account. It holds the
// link's id (the nonce the signed link names) and where to send it, never the link's
// signature: whoever renders the e-mail signs the link with the server's key. Stored as
// "sign_in.link_requested" v1.
type SignInLinkRequested struct {
	LinkID      string
	Role        string
	AccountID   string
	Email       string
	RequestedAt time.Time
	ExpiresAt   time.Time
}

// SignInLinkUsed: the link signed its account in; it cannot be used again. Stored as
// "sign_in.link_used" v1.
type SignInLinkUsed struct {
	LinkID string
	UsedAt time.Time
}

func (*SignInLinkRequested) EventType() string  { return EventSignInLinkRequested }
func (*SignInLinkUsed) EventType() string       { return EventSignInLinkUsed }
func (*SignInLinkRequested) SchemaVersion() int { return 1 }
func (*SignInLinkUsed) SchemaVersion() int      { return 1 }

// SignInEmail validates the address someone asks a sign-in link for (as registrations
// validate theirs) and returns it trimmed; a *ValidationError names "email" otherwise.
func SignInEmail(raw string) (string, error) {
	var p problems
	email := checkEmail(&p, "email", raw)
	return email, p.err()
}
