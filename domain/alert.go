package domain

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Alert limits. The search criteria of an alert are bounded like the query of
// GET /v1/jobs (the API reads both with one reader); the domain checks them again so that
// no alert outside them is ever recorded.
const (
	// MaxAlertsPerCandidate bounds the live alerts of one candidate: every alert is
	// percolated against every published job, so alerts cost work on each publication.
	MaxAlertsPerCandidate = 25
	AlertQueryMaxLen      = 256
	AlertQueryMaxWords    = 16
)

// AlertFrequency says when an alert emails: at each matching publication, or in a daily
// or weekly digest.
type AlertFrequency struct{ slug string }

// Values of AlertFrequency.
var (
	AlertFrequencyInstant = AlertFrequency{"instant"}
	AlertFrequencyDaily   = AlertFrequency{"daily"}
	AlertFrequencyWeekly  = AlertFrequency{"weekly"}
)

var alertFrequencyValues = []AlertFrequency{AlertFrequencyInstant, AlertFrequencyDaily, AlertFrequencyWeekly}

// ParseAlertFrequency returns the AlertFrequency whose slug is s.
func ParseAlertFrequency(s string) (AlertFrequency, error) {
	return parseSlug(alertFrequencyValues, s)
}

// String returns the slug ("" for the zero value).
func (v AlertFrequency) String() string { return v.slug }

// IsZero reports whether v is the invalid zero value.
func (v AlertFrequency) IsZero() bool { return v.slug == "" }

// Period is how far back a digest of this frequency looks (0 for instant alerts).
func (v AlertFrequency) Period() time.Duration {
	switch v {
	case AlertFrequencyDaily:
		return 24 * time.Hour
	case AlertFrequencyWeekly:
		return 7 * 24 * time.Hour
	}
	return 0
}

// Reasons an alert ends (AlertDeleted.Reason).
const (
	AlertDeletedByCandidate = "deleted"
	AlertUnsubscribed       = "unsubscribed"
)

// AlertCriteria is a saved search: the filters and sort of GET /v1/jobs, normalised as
// that query reads them (tags lower-case, country and currency upper-case). Zero values
// do not filter.
type AlertCriteria struct {
	Q              string
	Tags           []string
	Remote         *bool
	Region         string
	Country        string
	EmploymentType string
	Seniority      string
	SalaryMin      int64
	Currency       string
	CompanyID      string
	Sort           string
}

// normalise checks c against the bounds of the search query and returns it normalised.
func (c AlertCriteria) normalise(p *problems) AlertCriteria {
	c.Q = strings.TrimSpace(c.Q)
	if !utf8.ValidString(c.Q) || utf8.RuneCountInString(c.Q) > AlertQueryMaxLen {
		p.add("q", "must be valid text of at most %d characters", AlertQueryMaxLen)
	} else if len(strings.Fields(c.Q)) > AlertQueryMaxWords {
		p.add("q", "must have at most %d words", AlertQueryMaxWords)
	}
	tags := make([]string, 0, len(c.Tags))
	for _, t := range c.Tags {
		t = strings.ToLower(strings.TrimSpace(t))
		switch {
		case t == "":
		case !utf8.ValidString(t) || utf8.RuneCountInString(t) > TagMaxLen:
			p.add("tags", "each tag must be valid text of at most %d characters", TagMaxLen)
		case !slices.Contains(tags, t):
			tags = append(tags, t)
		}
	}
	if len(tags) > MaxTags {
		p.add("tags", "must name at most %d tags", MaxTags)
	}
	c.Tags = tags
	c.Region = strings.TrimSpace(c.Region)
	if utf8.RuneCountInString(c.Region) > RegionMaxLen {
		p.add("region", "must be at most %d characters", RegionMaxLen)
	}
	if c.Country = strings.ToUpper(strings.TrimSpace(c.Country)); c.Country != "" && !IsCountryCode(c.Country) {
		p.add("country", "must be an ISO 3166-1 alpha-2 country code")
	}
	if c.EmploymentType != "" {
		if _, err := ParseEmploymentType(c.EmploymentType); err != nil {
			p.addCause("employment_type", err)
		}
	}
	if c.Seniority != "" {
		if _, err := ParseSeniority(c.Seniority); err != nil {
			p.addCause("seniority", err)
		}
	}
	if c.SalaryMin < 0 {
		p.add("salary_min", "must not be negative")
	}
	if c.Currency = strings.ToUpper(strings.TrimSpace(c.Currency)); c.Currency != "" {
		if _, err := ParseCurrency(c.Currency); err != nil {
			p.addCause("currency", err)
		}
	}
	switch c.Sort {
	case "", "relevance", "newest", "salary":
	default:
		p.add("sort", "must be relevance, newest or salary")
	}
	return c
}

// AlertInput is what a candidate saves (POST /v1/candidates/me/alerts).
type AlertInput struct {
	Criteria  AlertCriteria
	Frequency string
}

// Alert is a candidate's saved search that emails new matching jobs. One stream per alert;
// deleting (or unsubscribing from) it ends it for good.
type Alert struct {
	aggregate
	candidateID string
	criteria    AlertCriteria
	frequency   AlertFrequency
	createdAt   time.Time
	deleted     bool
}

// CreateAlert validates in and records AlertCreated for the candidate's new alert id.
func CreateAlert(id, candidateID string, in AlertInput, now time.Time) (*Alert, error) {
	var p problems
	checkID(&p, "id", id)
	checkID(&p, "candidate_id", candidateID)
	criteria := in.Criteria.normalise(&p)
	freq, err := ParseAlertFrequency(in.Frequency)
	if err != nil {
		p.addCause("frequency", err)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	a := &Alert{}
	a.id = id
	a.record(&AlertCreated{AlertID: id, CandidateID: candidateID, Criteria: criteria, Frequency: freq, CreatedAt: utc(now)}, a.apply)
	return a, nil
}

// LoadAlert rebuilds an alert from its stream; ErrNotFound when the stream is empty.
func LoadAlert(id string, history []Event) (*Alert, error) {
	a := &Alert{}
	if err := a.fold(StreamTypeAlert, EventAlertCreated, id, history, a.apply); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Alert) apply(e Event) {
	switch e := e.(type) {
	case *AlertCreated:
		a.candidateID, a.criteria, a.frequency, a.createdAt = e.CandidateID, e.Criteria, e.Frequency, e.CreatedAt
	case *AlertDeleted:
		a.deleted = true
	}
}

// Delete ends the alert (reason AlertDeletedByCandidate or AlertUnsubscribed); deleting
// an ended alert is a no-op.
func (a *Alert) Delete(reason string, now time.Time) {
	if a.deleted {
		return
	}
	a.record(&AlertDeleted{AlertID: a.id, CandidateID: a.candidateID, Reason: reason, DeletedAt: utc(now)}, a.apply)
}

// StreamType of alert streams.
func (a *Alert) StreamType() string { return StreamTypeAlert }

// CandidateID owns the alert.
func (a *Alert) CandidateID() string { return a.candidateID }

// Deleted reports whether the alert has ended.
func (a *Alert) Deleted() bool { return a.deleted }

// Criteria of the saved search.
func (a *Alert) Criteria() AlertCriteria { return a.criteria }

// Frequency of the alert's emails.
func (a *Alert) Frequency() AlertFrequency { return a.frequency }

// EmailCategory names a kind of message a recipient may turn off. Messages outside these
// categories (registration welcome, payment receipts, failed payments, refunds) are
// essential: they record money or an account and are always sent.
type EmailCategory string

// The categories that can be turned off.
const (
	// EmailJobAlerts: job alert emails (candidates).
	EmailJobAlerts EmailCategory = "job_alerts"
	// EmailApplicationUpdates: application submitted, status changed, withdrawn (candidates).
	EmailApplicationUpdates EmailCategory = "application_updates"
	// EmailApplicationsReceived: a new applicant (employers).
	EmailApplicationsReceived EmailCategory = "applications_received"
	// EmailListingNotices: listing published, expiring soon, expired (employers).
	EmailListingNotices EmailCategory = "listing_notices"
)

// CandidateEmailCategories and CompanyEmailCategories are the categories each role may
// turn off.
var (
	CandidateEmailCategories = []EmailCategory{EmailJobAlerts, EmailApplicationUpdates}
	CompanyEmailCategories   = []EmailCategory{EmailApplicationsReceived, EmailListingNotices}
)

// checkEmailCategories returns off sorted and without repeats, each one of allowed.
func checkEmailCategories(p *problems, off []EmailCategory, allowed []EmailCategory) []EmailCategory {
	out := make([]EmailCategory, 0, len(off))
	for _, c := range off {
		if !slices.Contains(allowed, c) {
			names := make([]string, len(allowed))
			for i, a := range allowed {
				names[i] = string(a)
			}
			p.add("off", "%q is not a category that can be turned off (%s)", c, strings.Join(names, ", "))
			continue
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// SetEmailPreferences records the categories the candidate turned off (all of them, as
// a whole); the same set again is a no-op.
func (c *Candidate) SetEmailPreferences(off []EmailCategory, now time.Time) error {
	var p problems
	off = checkEmailCategories(&p, off, CandidateEmailCategories)
	if err := p.err(); err != nil {
		return err
	}
	if slices.Equal(off, c.emailOff) {
		return nil
	}
	c.record(&CandidateEmailPreferencesSet{CandidateID: c.id, Off: off, SetAt: utc(now)}, c.apply)
	return nil
}

// EmailOff returns the categories the candidate turned off.
func (c *Candidate) EmailOff() []EmailCategory { return slices.Clone(c.emailOff) }

// SetEmailPreferences records the categories the company turned off, as
// Candidate.SetEmailPreferences.
func (c *Company) SetEmailPreferences(off []EmailCategory, now time.Time) error {
	var p problems
	off = checkEmailCategories(&p, off, CompanyEmailCategories)
	if err := p.err(); err != nil {
		return err
	}
	if slices.Equal(off, c.emailOff) {
		return nil
	}
	c.record(&CompanyEmailPreferencesSet{CompanyID: c.id, Off: off, SetAt: utc(now)}, c.apply)
	return nil
}

// EmailOff returns the categories the company turned off.
func (c *Company) EmailOff() []EmailCategory { return slices.Clone(c.emailOff) }
