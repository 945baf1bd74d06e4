package domain

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
)

// JobDetailsInput is the plain, unvalidated shape of a job's details as the API receives
// them (POST /v1/jobs). NewJobDetails validates and normalises it; JobDetails.Input gives it
// back, normalised; RestoreJobDetails reads it back from history. Its JSON is not what is
// stored: job.posted and job.details_changed store storedevents' own details type.
type JobDetailsInput struct {
	Title          string        `json:"title"`
	Description    string        `json:"description"`
	EmploymentType string        `json:"employment_type"`
	Seniority      string        `json:"seniority"`
	Location       LocationInput `json:"location"`
	Salary         *SalaryInput  `json:"salary,omitempty"`
	Tags           []string      `json:"tags"`
	ApplyURL       string        `json:"apply_url,omitempty"`
}

// LocationInput is where a job is done. Countries are ISO 3166-1 alpha-2 codes in upper case;
// regions are free names ("EMEA", "Bay Area").
type LocationInput struct {
	Remote    bool            `json:"remote"`
	Regions   []string        `json:"regions"`
	Countries []string        `json:"countries"`
	Timezones *TimezonesInput `json:"timezones,omitempty"`
}

// TimezonesInput is the range of UTC offsets a remote team works in, in hours from -12 to
// +14, in steps of a quarter hour (5.5 is India, 5.75 Nepal); min ≤ max.
type TimezonesInput struct {
	MinUTCOffset float64 `json:"min_utc_offset"`
	MaxUTCOffset float64 `json:"max_utc_offset"`
}

// SalaryInput is a salary range in minor units of an ISO 4217 currency, per period.
type SalaryInput struct {
	Min      int64  `json:"min"`
	Max      int64  `json:"max"`
	Currency string `json:"currency"`
	Period   string `json:"period"`
}

// JobDetails are the validated, normalised details of a job listing. The zero value has
// no title and is never recorded.
type JobDetails struct {
	title          string
	description    string
	employmentType EmploymentType
	seniority      Seniority
	location       Location
	salary         Salary
	hasSalary      bool
	tags           []string
	applyURL       string
}

// Location is a validated LocationInput.
type Location struct {
	remote       bool
	regions      []string
	countries    []string
	timezones    Timezones
	hasTimezones bool
}

// Timezones is a validated TimezonesInput.
type Timezones struct {
	min, max float64
}

// Salary is a validated SalaryInput.
type Salary struct {
	min, max int64
	currency Currency
	period   SalaryPeriod
}

// NewJobDetails validates in and returns the normalised details: text trimmed, tags
// trimmed, lower-cased and deduplicated (first occurrence kept), regions and countries
// deduplicated. Every field at fault is listed in the returned *ValidationError.
func NewJobDetails(in JobDetailsInput) (JobDetails, error) {
	var p problems
	d := JobDetails{
		title:       strings.TrimSpace(in.Title),
		description: strings.TrimSpace(in.Description),
		applyURL:    "",
	}
	checkText(&p, "title", d.title, TitleMinLen, TitleMaxLen, true)
	checkText(&p, "description", d.description, DescriptionMinLen, DescriptionMaxLen, false)
	d.employmentType = parseEnumField(&p, "employment_type", in.EmploymentType, ParseEmploymentType)
	d.seniority = parseEnumField(&p, "seniority", in.Seniority, ParseSeniority)
	d.location = newLocation(&p, "location", in.Location)
	if in.Salary != nil {
		d.salary, d.hasSalary = newSalary(&p, "salary", *in.Salary), true
	}
	d.tags = normaliseTags(&p, "tags", in.Tags)
	d.applyURL = checkHTTPURL(&p, "apply_url", in.ApplyURL, false)
	if err := p.err(); err != nil {
		return JobDetails{}, err
	}
	return d, nil
}

func parseEnumField[T any](p *problems, field, s string, parse func(string) (T, error)) T {
	if s == "" {
		p.add(field, "is required")
		var zero T
		return zero
	}
	v, err := parse(s)
	if err != nil {
		p.add(field, "%s", err.Error())
	}
	return v
}

func newLocation(p *problems, field string, in LocationInput) Location {
	l := Location{remote: in.Remote, regions: []string{}, countries: []string{}}
	if len(in.Regions) > MaxRegions {
		p.add(field+".regions", "must have at most %d regions", MaxRegions)
	}
	for i, r := range in.Regions {
		r = strings.TrimSpace(r)
		before := len(p.fields)
		checkText(p, fmt.Sprintf("%s.regions[%d]", field, i), r, 1, RegionMaxLen, true)
		if len(p.fields) == before && !slices.Contains(l.regions, r) {
			l.regions = append(l.regions, r)
		}
	}
	if len(in.Countries) > MaxCountries {
		p.add(field+".countries", "must have at most %d countries", MaxCountries)
	}
	for i, c := range in.Countries {
		f := fmt.Sprintf("%s.countries[%d]", field, i)
		switch {
		case len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z':
			p.add(f, "must be an ISO 3166-1 alpha-2 country code of 2 upper-case letters")
		case !IsCountryCode(c):
			p.add(f, "must be an assigned ISO 3166-1 alpha-2 country code")
		case !slices.Contains(l.countries, c):
			l.countries = append(l.countries, c)
		}
	}
	if tz := in.Timezones; tz != nil {
		f := field + ".timezones"
		okMin := checkOffset(p, f+".min_utc_offset", tz.MinUTCOffset)
		okMax := checkOffset(p, f+".max_utc_offset", tz.MaxUTCOffset)
		if okMin && okMax && tz.MinUTCOffset > tz.MaxUTCOffset {
			p.add(f+".min_utc_offset", "must not be greater than max_utc_offset")
		}
		l.timezones, l.hasTimezones = Timezones{min: tz.MinUTCOffset, max: tz.MaxUTCOffset}, true
	}
	return l
}

func checkOffset(p *problems, field string, h float64) bool {
	switch {
	case math.IsNaN(h) || h < MinUTCOffset || h > MaxUTCOffset:
		p.add(field, "must be an offset in hours from %g to %+g", MinUTCOffset, MaxUTCOffset)
	case h*4 != math.Trunc(h*4):
		p.add(field, "must be a whole number of quarter hours (e.g. 5.5 or 5.75)")
	default:
		return true
	}
	return false
}

func newSalary(p *problems, field string, in SalaryInput) Salary {
	s := Salary{min: in.Min, max: in.Max}
	okMin, okMax := in.Min >= 0, in.Max >= 0
	if !okMin {
		p.add(field+".min", "must not be negative")
	}
	if !okMax {
		p.add(field+".max", "must not be negative")
	}
	if okMin && okMax && in.Min > in.Max {
		p.addCause(field+".min", SalaryRangeError{Min: in.Min, Max: in.Max})
	}
	if in.Currency == "" {
		p.add(field+".currency", "is required")
	} else if c, err := ParseCurrency(in.Currency); err != nil {
		p.add(field+".currency", "%s", err.Error())
	} else {
		s.currency = c
	}
	s.period = parseEnumField(p, field+".period", in.Period, ParseSalaryPeriod)
	return s
}

func normaliseTags(p *problems, field string, in []string) []string {
	tags := []string{}
	if len(in) > MaxTags {
		p.add(field, "must have at most %d tags", MaxTags)
	}
	for i, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		before := len(p.fields)
		checkText(p, fmt.Sprintf("%s[%d]", field, i), t, 1, TagMaxLen, true)
		if len(p.fields) == before && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags
}

// Title of the job.
func (d JobDetails) Title() string { return d.title }

// Description of the job (plain text).
func (d JobDetails) Description() string { return d.description }

// EmploymentType of the job.
func (d JobDetails) EmploymentType() EmploymentType { return d.employmentType }

// Seniority the job asks for.
func (d JobDetails) Seniority() Seniority { return d.seniority }

// Location of the job.
func (d JobDetails) Location() Location { return d.location }

// Salary of the job, if it states one.
func (d JobDetails) Salary() (Salary, bool) { return d.salary, d.hasSalary }

// Tags of the job, lower-case, without duplicates.
func (d JobDetails) Tags() []string { return slices.Clone(d.tags) }

// ApplyURL is where to apply outside jobboard; "" when applications go through jobboard.
func (d JobDetails) ApplyURL() string { return d.applyURL }

// IsZero reports whether d is the zero value (never a valid job).
func (d JobDetails) IsZero() bool { return d.title == "" }

// Remote reports whether the job can be done remotely.
func (l Location) Remote() bool { return l.remote }

// Regions the job is open to.
func (l Location) Regions() []string { return slices.Clone(l.regions) }

// Countries (ISO 3166-1 alpha-2) the job is open to.
func (l Location) Countries() []string { return slices.Clone(l.countries) }

// Timezones the team works in, if stated.
func (l Location) Timezones() (Timezones, bool) { return l.timezones, l.hasTimezones }

// MinUTCOffset in hours.
func (t Timezones) MinUTCOffset() float64 { return t.min }

// MaxUTCOffset in hours.
func (t Timezones) MaxUTCOffset() float64 { return t.max }

// Min of the range in minor units.
func (s Salary) Min() int64 { return s.min }

// Max of the range in minor units.
func (s Salary) Max() int64 { return s.max }

// Currency of the amounts.
func (s Salary) Currency() Currency { return s.currency }

// Period the amounts are paid for.
func (s Salary) Period() SalaryPeriod { return s.period }

// Input returns the details in their plain shape (a deep copy; slices are never nil).
func (d JobDetails) Input() JobDetailsInput {
	in := JobDetailsInput{
		Title:          d.title,
		Description:    d.description,
		EmploymentType: d.employmentType.String(),
		Seniority:      d.seniority.String(),
		Location: LocationInput{
			Remote:    d.location.remote,
			Regions:   append([]string{}, d.location.regions...),
			Countries: append([]string{}, d.location.countries...),
		},
		Tags:     append([]string{}, d.tags...),
		ApplyURL: d.applyURL,
	}
	if d.location.hasTimezones {
		in.Location.Timezones = &TimezonesInput{MinUTCOffset: d.location.timezones.min, MaxUTCOffset: d.location.timezones.max}
	}
	if d.hasSalary {
		in.Salary = &SalaryInput{Min: d.salary.min, Max: d.salary.max, Currency: d.salary.currency.String(), Period: d.salary.period.String()}
	}
	return in
}

// Equal reports whether d and o hold the same details.
func (d JobDetails) Equal(o JobDetails) bool { return reflect.DeepEqual(d.Input(), o.Input()) }

// MarshalJSON writes the JobDetailsInput shape, as the jobs read table keeps the details.
// Stored events do not use it: storedevents has a details type of its own.
func (d JobDetails) MarshalJSON() ([]byte, error) { return json.Marshal(d.Input()) }

// RestoreJobDetails rebuilds details read from stored history. It trusts the history: it
// restores enums and the currency but does not re-apply length rules, which may have
// tightened since the event was recorded (old shapes are the upcasters' business).
func RestoreJobDetails(in JobDetailsInput) (JobDetails, error) {
	var p problems
	r := JobDetails{
		title:       in.Title,
		description: in.Description,
		tags:        append([]string{}, in.Tags...),
		applyURL:    in.ApplyURL,
		location: Location{
			remote:    in.Location.Remote,
			regions:   append([]string{}, in.Location.Regions...),
			countries: append([]string{}, in.Location.Countries...),
		},
	}
	r.employmentType = parseEnumField(&p, "employment_type", in.EmploymentType, ParseEmploymentType)
	r.seniority = parseEnumField(&p, "seniority", in.Seniority, ParseSeniority)
	if tz := in.Location.Timezones; tz != nil {
		r.location.timezones, r.location.hasTimezones = Timezones{min: tz.MinUTCOffset, max: tz.MaxUTCOffset}, true
	}
	if s := in.Salary; s != nil {
		r.salary, r.hasSalary = Salary{min: s.Min, max: s.Max}, true
		r.salary.currency = parseEnumField(&p, "salary.currency", s.Currency, ParseCurrency)
		r.salary.period = parseEnumField(&p, "salary.period", s.Period, ParseSalaryPeriod)
	}
	if err := p.err(); err != nil {
		return JobDetails{}, fmt.Errorf("decode job details: %w", err)
	}
	return r, nil
}

// JobDetailsPatch is a partial update of a job's details: nil fields are left as they are.
// Location and Salary replace the whole object. RemoveSalary drops the salary (a JSON
// `"salary": null`); an ApplyURL pointing at "" removes the apply URL. It has no JSON tags on
// purpose: encoding/json cannot tell an absent field from null, so the API decodes the body
// its own way and fills this in.
type JobDetailsPatch struct {
	Title          *string
	Description    *string
	EmploymentType *string
	Seniority      *string
	Location       *LocationInput
	Salary         *SalaryInput
	RemoveSalary   bool
	Tags           *[]string
	ApplyURL       *string
}

// IsEmpty reports whether the patch changes nothing whatever the details.
func (p JobDetailsPatch) IsEmpty() bool { return reflect.DeepEqual(p, JobDetailsPatch{}) }

// Patch applies p to d and validates the result as a whole (a field that became invalid under
// newer rules must be fixed in the same patch).
func (d JobDetails) Patch(p JobDetailsPatch) (JobDetails, error) {
	if p.RemoveSalary && p.Salary != nil {
		var pr problems
		pr.add("salary", "cannot be both set and removed")
		return JobDetails{}, pr.err()
	}
	in := d.Input()
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&in.Title, p.Title)
	set(&in.Description, p.Description)
	set(&in.EmploymentType, p.EmploymentType)
	set(&in.Seniority, p.Seniority)
	set(&in.ApplyURL, p.ApplyURL)
	if p.Location != nil {
		in.Location = *p.Location
	}
	if p.Salary != nil {
		s := *p.Salary
		in.Salary = &s
	}
	if p.RemoveSalary {
		in.Salary = nil
	}
	if p.Tags != nil {
		in.Tags = *p.Tags
	}
	return NewJobDetails(in)
}

// changedFields names the top-level fields that differ between d and o, in API order.
func (d JobDetails) changedFields(o JobDetails) []string {
	a, b := d.Input(), o.Input()
	var out []string
	add := func(name string, same bool) {
		if !same {
			out = append(out, name)
		}
	}
	add("title", a.Title == b.Title)
	add("description", a.Description == b.Description)
	add("employment_type", a.EmploymentType == b.EmploymentType)
	add("seniority", a.Seniority == b.Seniority)
	add("location", reflect.DeepEqual(a.Location, b.Location))
	add("salary", reflect.DeepEqual(a.Salary, b.Salary))
	add("tags", slices.Equal(a.Tags, b.Tags))
	add("apply_url", a.ApplyURL == b.ApplyURL)
	return out
}
