package domain

import (
	"strings"
	"time"
)

// CompanyInput is what a company registers with (POST /v1/companies).
type CompanyInput struct {
	Name        string `json:"name"`
	Email       string `json:"email"`
	Website     string `json:"website,omitempty"`
	Description string `json:"description,omitempty"`
}

// Company is an employer account. One company per e-mail address is enforced outside the
// aggregate, by reserving CompanyEmailKey in the same transaction as the append.
type Company struct {
	aggregate
	name         string
	email        string
	website      string
	description  string
	registeredAt time.Time
	// tokenIssuedAt is when the company's current bearer token was issued.
	tokenIssuedAt time.Time
	// emailOff are the e-mail categories the company turned off.
	emailOff []EmailCategory
}

// RegisterCompany validates in and records CompanyRegistered for a new company with the
// caller-made id. Every field at fault is listed in the *ValidationError.
func RegisterCompany(id string, in CompanyInput, now time.Time) (*Company, error) {
	var p problems
	checkID(&p, "id", id)
	name := strings.TrimSpace(in.Name)
	checkText(&p, "name", name, 1, NameMaxLen, true)
	email := checkEmail(&p, "email", in.Email)
	website := checkHTTPURL(&p, "website", in.Website, false)
	description := strings.TrimSpace(in.Description)
	checkText(&p, "description", description, 0, CompanyDescriptionMaxLen, false)
	if err := p.err(); err != nil {
		return nil, err
	}
	c := &Company{}
	c.id = id
	c.record(&CompanyRegistered{
		CompanyID:    id,
		Name:         name,
		Email:        email,
		Website:      website,
		Description:  description,
		RegisteredAt: utc(now),
	}, c.apply)
	return c, nil
}

// LoadCompany rebuilds a company from its stream; ErrNotFound when the stream is empty.
func LoadCompany(id string, history []Event) (*Company, error) {
	c := &Company{}
	if err := c.fold(StreamTypeCompany, EventCompanyRegistered, id, history, c.apply); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Company) apply(e Event) {
	switch e := e.(type) {
	case *CompanyRegistered:
		c.name, c.email, c.website, c.description = e.Name, e.Email, e.Website, e.Description
		c.registeredAt, c.tokenIssuedAt = e.RegisteredAt, e.RegisteredAt
	case *CompanyEmailPreferencesSet:
		c.emailOff = e.Off
	case *CompanyTokenRotated:
		c.tokenIssuedAt = e.RotatedAt
	}
}

// RotateToken records CompanyTokenRotated: the company's bearer token is replaced at now.
// The new token itself is the caller's to make and store (hashed) with the event.
func (c *Company) RotateToken(now time.Time) {
	c.record(&CompanyTokenRotated{CompanyID: c.id, RotatedAt: utc(now)}, c.apply)
}

// TokenIssuedAt is when the current bearer token was issued: registration or last rotation.
func (c *Company) TokenIssuedAt() time.Time { return c.tokenIssuedAt }

// StreamType of company streams.
func (c *Company) StreamType() string { return StreamTypeCompany }

// Name of the company.
func (c *Company) Name() string { return c.name }

// Email the company registered with, as given (see CompanyEmailKey for comparisons).
func (c *Company) Email() string { return c.email }

// Website of the company, "" if none.
func (c *Company) Website() string { return c.website }

// Description of the company, "" if none.
func (c *Company) Description() string { return c.description }

// RegisteredAt is when the company signed up.
func (c *Company) RegisteredAt() time.Time { return c.registeredAt }
