package domain

import (
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of free-text fields, in characters (runes) after trimming surrounding space.
const (
	TitleMinLen              = 3
	TitleMaxLen              = 120
	DescriptionMinLen        = 20
	DescriptionMaxLen        = 20_000
	MaxTags                  = 20
	TagMaxLen                = 40
	MaxRegions               = 20
	RegionMaxLen             = 60
	MaxCountries             = 250
	CoverLetterMaxLen        = 10_000
	NameMaxLen               = 200
	CompanyDescriptionMaxLen = 10_000
	EmailMaxLen              = 254
	URLMaxLen                = 2048
	// MinUTCOffset and MaxUTCOffset bound a time-zone range, in hours.
	MinUTCOffset = -12.0
	MaxUTCOffset = 14.0
)

// checkText validates a trimmed string's length and characters. singleLine refuses control
// characters (newlines, tabs); multi-line text may hold newlines and tabs.
func checkText(p *problems, field, s string, minLen, maxLen int, singleLine bool) {
	if !utf8.ValidString(s) {
		p.add(field, "must be valid UTF-8 text")
		return
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0 && minLen > 0:
		p.add(field, "is required")
		return
	case n < minLen:
		p.add(field, "must be at least %d characters", minLen)
		return
	case n > maxLen:
		p.add(field, "must be at most %d characters", maxLen)
		return
	}
	for _, r := range s {
		if unicode.IsControl(r) && (singleLine || (r != '\n' && r != '\r' && r != '\t')) {
			p.add(field, "must not contain control characters")
			return
		}
	}
}

// normaliseEmail is the comparison key of an address: trimmed and lower-cased. Mailbox
// local parts are case-sensitive in theory and never in practice.
func normaliseEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CompanyEmailKey is the uniqueness key of a company's e-mail address (one company per
// address): the address trimmed and lower-cased. Reserve it scoped to companies.
func CompanyEmailKey(email string) string { return normaliseEmail(email) }

// CandidateEmailKey is the uniqueness key of a candidate's e-mail address; the same
// normalisation as CompanyEmailKey, to be reserved in the candidates' scope.
func CandidateEmailKey(email string) string { return normaliseEmail(email) }

// ApplicationKey is the uniqueness key of a candidate's application to a job, to be reserved
// in the applications' scope: one application per candidate and job. Application ids are
// random, so this key, not the id, is what stops a second application.
// migrations/00055_token_life_cycle.sql builds the same key in SQL for stored applications.
func ApplicationKey(jobID, candidateID string) string { return jobID + "/" + candidateID }

// checkEmail validates a bare address (no display name) with net/mail and asks for a dot
// in the domain, since mail to a single-label host never reaches anyone here. It returns
// the trimmed address; case is kept as given.
func checkEmail(p *problems, field, raw string) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		p.add(field, "is required")
		return s
	}
	if utf8.RuneCountInString(s) > EmailMaxLen {
		p.add(field, "must be at most %d characters", EmailMaxLen)
		return s
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		p.add(field, "must be an e-mail address like name@example.com")
		return s
	}
	at := strings.LastIndexByte(s, '@')
	if domain := s[at+1:]; !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		p.add(field, "must be an e-mail address like name@example.com")
	}
	return s
}

// checkHTTPURL validates an absolute http or https URL with a host and returns it trimmed.
// An empty value is reported as required when required, else accepted as "absent".
func checkHTTPURL(p *problems, field, raw string, required bool) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		if required {
			p.add(field, "is required")
		}
		return ""
	}
	if len(s) > URLMaxLen {
		p.add(field, "must be at most %d characters", URLMaxLen)
		return s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" ||
		strings.ContainsAny(s, " \t\r\n") {
		p.add(field, "must be an absolute http or https URL")
	}
	return s
}

// Currency is an ISO 4217 currency code in circulation, e.g. EUR. The zero value is invalid.
type Currency struct{ code string }

// ParseCurrency accepts a known ISO 4217 code in upper case ("EUR").
func ParseCurrency(s string) (Currency, error) {
	if len(s) != 3 || strings.ToUpper(s) != s {
		return Currency{}, fmt.Errorf("must be an ISO 4217 currency code of 3 upper-case letters")
	}
	if _, ok := currencyCodes[s]; !ok {
		return Currency{}, fmt.Errorf("must be a known ISO 4217 currency code")
	}
	return Currency{code: s}, nil
}

// String returns the code ("" for the zero value).
func (c Currency) String() string { return c.code }

// IsZero reports whether c is the invalid zero value.
func (c Currency) IsZero() bool { return c.code == "" }

// MarshalText refuses the zero value.
func (c Currency) MarshalText() ([]byte, error) {
	if c.IsZero() {
		return nil, fmt.Errorf("marshal zero Currency")
	}
	return []byte(c.code), nil
}

// UnmarshalText accepts what ParseCurrency accepts.
func (c *Currency) UnmarshalText(b []byte) error {
	v, err := ParseCurrency(string(b))
	if err != nil {
		return fmt.Errorf("currency %q: %w", string(b), err)
	}
	*c = v
	return nil
}

// IsCountryCode reports whether s is an assigned ISO 3166-1 alpha-2 code in upper case.
func IsCountryCode(s string) bool {
	_, ok := countryCodes[s]
	return ok
}

// Money is a positive amount in minor units (cents) of a currency: a listing price or a
// payment. The zero value is invalid.
type Money struct {
	amount   int64
	currency Currency
}

// NewMoney builds a positive amount. The currency may be given in any case ("eur" as Stripe
// writes it, or "EUR"); it is stored upper-case.
func NewMoney(amount int64, currency string) (Money, error) {
	var p problems
	if amount <= 0 {
		p.add("amount", "must be a positive amount in minor units")
	}
	c, err := ParseCurrency(strings.ToUpper(strings.TrimSpace(currency)))
	if err != nil {
		p.add("currency", "%s", err.Error())
	}
	if err := p.err(); err != nil {
		return Money{}, err
	}
	return Money{amount: amount, currency: c}, nil
}

// Amount in minor units.
func (m Money) Amount() int64 { return m.amount }

// Currency of the amount.
func (m Money) Currency() Currency { return m.currency }

// IsZero reports whether m is the invalid zero value.
func (m Money) IsZero() bool { return m.currency.IsZero() }

func (m Money) String() string { return fmt.Sprintf("%d %s", m.amount, m.currency) }
