package domain

import (
	"strings"
	"time"
)

// CandidateInput is what a candidate registers with (POST /v1/candidates).
type CandidateInput struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Candidate is a job seeker's account. One candidate per e-mail address is enforced
// outside the aggregate, by reserving CandidateEmailKey in the same transaction.
type Candidate struct {
	aggregate
	name         string
	email        string
	registeredAt time.Time
	// tokenIssuedAt is when the candidate's current bearer token was issued.
	tokenIssuedAt time.Time
	// emailOff are the e-mail categories the candidate turned off.
	emailOff []EmailCategory
}

// RegisterCandidate validates in and records CandidateRegistered for a new candidate with
// the caller-made id.
func RegisterCandidate(id string, in CandidateInput, now time.Time) (*Candidate, error) {
	var p problems
	checkID(&p, "id", id)
	name := strings.TrimSpace(in.Name)
	checkText(&p, "name", name, 1, NameMaxLen, true)
	email := checkEmail(&p, "email", in.Email)
	if err := p.err(); err != nil {
		return nil, err
	}
	c := &Candidate{}
	c.id = id
	c.record(&CandidateRegistered{CandidateID: id, Name: name, Email: email, RegisteredAt: utc(now)}, c.apply)
	return c, nil
}

// LoadCandidate rebuilds a candidate from its stream; ErrNotFound when the stream is empty.
func LoadCandidate(id string, history []Event) (*Candidate, error) {
	c := &Candidate{}
	if err := c.fold(StreamTypeCandidate, EventCandidateRegistered, id, history, c.apply); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Candidate) apply(e Event) {
	switch e := e.(type) {
	case *CandidateRegistered:
		c.name, c.email, c.registeredAt, c.tokenIssuedAt = e.Name, e.Email, e.RegisteredAt, e.RegisteredAt
	case *CandidateEmailPreferencesSet:
		c.emailOff = e.Off
	case *CandidateTokenRotated:
		c.tokenIssuedAt = e.RotatedAt
	}
}

// RotateToken records CandidateTokenRotated, as Company.RotateToken.
func (c *Candidate) RotateToken(now time.Time) {
	c.record(&CandidateTokenRotated{CandidateID: c.id, RotatedAt: utc(now)}, c.apply)
}

// TokenIssuedAt is when the current bearer token was issued: registration or last rotation.
func (c *Candidate) TokenIssuedAt() time.Time { return c.tokenIssuedAt }

// StreamType of candidate streams.
func (c *Candidate) StreamType() string { return StreamTypeCandidate }

// Name of the candidate.
func (c *Candidate) Name() string { return c.name }

// Email the candidate registered with, as given (see CandidateEmailKey for comparisons).
func (c *Candidate) Email() string { return c.email }

// RegisteredAt is when the candidate signed up.
func (c *Candidate) RegisteredAt() time.Time { return c.registeredAt }
