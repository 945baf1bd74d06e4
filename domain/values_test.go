package domain

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNewJobDetails(t *testing.T) {
	t.Parallel()
	t.Run("normalises text, tags, regions and countries", func(t *testing.T) {
		t.Parallel()
		in := validDetailsInput()
		in.Title = "  Senior Go Engineer \t"
		in.Tags = []string{" Go ", "go", "PostgreSQL", "kafka"}
		in.Location.Regions = []string{"EMEA", " EMEA "}
		in.Location.Countries = []string{"DE", "FR", "DE"}
		d := mustDetails(t, in)
		if d.Title() != "Senior Go Engineer" || !slices.Equal(d.Tags(), []string{"go", "postgresql", "kafka"}) ||
			!slices.Equal(d.Location().Regions(), []string{"EMEA"}) || !slices.Equal(d.Location().Countries(), []string{"DE", "FR"}) {
			t.Fatalf("not normalised: %+v", d.Input())
		}
		if d.EmploymentType() != EmploymentTypeFullTime || d.Seniority() != SenioritySenior || d.ApplyURL() != "https://example.com/jobs/1" ||
			d.Description() != "Build an event-sourced job marketplace with us." || !d.Location().Remote() {
			t.Fatalf("unexpected details: %+v", d.Input())
		}
		s, ok := d.Salary()
		if !ok || s.Min() != 80_000_00 || s.Max() != 110_000_00 || s.Currency().String() != "EUR" || s.Period() != SalaryPeriodYear {
			t.Fatalf("salary = %+v", s)
		}
		tz, ok := d.Location().Timezones()
		if !ok || tz.MinUTCOffset() != -1 || tz.MaxUTCOffset() != 3 {
			t.Fatalf("timezones = %+v", tz)
		}
	})
	t.Run("accepts the minimal job", func(t *testing.T) {
		t.Parallel()
		d := mustDetails(t, JobDetailsInput{Title: "Dev", Description: strings.Repeat("d", DescriptionMinLen), EmploymentType: "internship", Seniority: "junior"})
		if _, ok := d.Salary(); ok {
			t.Fatal("salary where none was given")
		}
		if _, ok := d.Location().Timezones(); ok {
			t.Fatal("timezones where none were given")
		}
		if in := d.Input(); in.Tags == nil || in.Location.Regions == nil || in.Location.Countries == nil {
			t.Fatal("Input has nil slices")
		}
	})
	t.Run("accepts the limits", func(t *testing.T) {
		t.Parallel()
		in := validDetailsInput()
		in.Title = strings.Repeat("é", TitleMaxLen)
		in.Description = strings.Repeat("é", DescriptionMaxLen)
		in.Tags = make([]string, MaxTags)
		for i := range in.Tags {
			in.Tags[i] = strings.Repeat(string(rune('a'+i)), TagMaxLen)
		}
		in.Location.Timezones = &TimezonesInput{MinUTCOffset: -12, MaxUTCOffset: 14}
		in.Salary = &SalaryInput{Min: 100, Max: 100, Currency: "JPY", Period: "hour"}
		mustDetails(t, in)
		in.Location.Timezones = &TimezonesInput{MinUTCOffset: 5.75, MaxUTCOffset: 5.75}
		mustDetails(t, in)
	})
	cases := []struct {
		name   string
		edit   func(in *JobDetailsInput)
		fields []string
	}{
		{"lists every field at fault at once", func(in *JobDetailsInput) {
			in.Title = "Go"
			in.Description = "too short"
			in.EmploymentType = "gig"
			in.Seniority = ""
			in.Location = LocationInput{
				Regions:   []string{"EMEA", " "},
				Countries: []string{"DE", "de", "XX", "FRA"},
				Timezones: &TimezonesInput{MinUTCOffset: -13, MaxUTCOffset: 5.3},
			}
			in.Salary = &SalaryInput{Min: 200, Max: 100, Currency: "eur", Period: "week"}
			in.Tags = []string{"go", "", strings.Repeat("t", TagMaxLen+1)}
			in.ApplyURL = "mailto:jobs@example.com"
		}, []string{
			"title", "description", "employment_type", "seniority",
			"location.regions[1]", "location.countries[1]", "location.countries[2]", "location.countries[3]",
			"location.timezones.min_utc_offset", "location.timezones.max_utc_offset",
			"salary.min", "salary.currency", "salary.period",
			"tags[1]", "tags[2]", "apply_url",
		}},
		{"refuses a title too long", func(in *JobDetailsInput) { in.Title = strings.Repeat("x", TitleMaxLen+1) }, []string{"title"}},
		{"refuses a title with a newline", func(in *JobDetailsInput) { in.Title = "Senior\nGo" }, []string{"title"}},
		{"refuses invalid UTF-8", func(in *JobDetailsInput) { in.Title = "Go \xff dev" }, []string{"title"}},
		{"refuses a description too long", func(in *JobDetailsInput) { in.Description = strings.Repeat("x", DescriptionMaxLen+1) }, []string{"description"}},
		{"refuses more than 20 tags", func(in *JobDetailsInput) { in.Tags = slices.Repeat([]string{"go"}, MaxTags+1) }, []string{"tags"}},
		{"refuses negative salaries", func(in *JobDetailsInput) { in.Salary = &SalaryInput{Min: -1, Max: -2, Currency: "EUR", Period: "year"} }, []string{"salary.min", "salary.max"}},
		{"refuses a salary without currency or period", func(in *JobDetailsInput) { in.Salary = &SalaryInput{Min: 1, Max: 2} }, []string{"salary.currency", "salary.period"}},
		{"refuses an unknown currency", func(in *JobDetailsInput) { in.Salary.Currency = "ABC" }, []string{"salary.currency"}},
		{"refuses a time-zone range upside down", func(in *JobDetailsInput) {
			in.Location.Timezones = &TimezonesInput{MinUTCOffset: 3, MaxUTCOffset: -1}
		}, []string{"location.timezones.min_utc_offset"}},
		{"refuses an offset beyond +14", func(in *JobDetailsInput) {
			in.Location.Timezones = &TimezonesInput{MinUTCOffset: 0, MaxUTCOffset: 14.25}
		}, []string{"location.timezones.max_utc_offset"}},
		{"refuses a relative apply URL", func(in *JobDetailsInput) { in.ApplyURL = "/apply" }, []string{"apply_url"}},
		{"refuses an apply URL without host", func(in *JobDetailsInput) { in.ApplyURL = "https://" }, []string{"apply_url"}},
		{"refuses a region too long", func(in *JobDetailsInput) { in.Location.Regions = []string{strings.Repeat("r", RegionMaxLen+1)} }, []string{"location.regions[0]"}},
		{"refuses too many regions", func(in *JobDetailsInput) { in.Location.Regions = slices.Repeat([]string{"EMEA"}, MaxRegions+1) }, []string{"location.regions"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := validDetailsInput()
			c.edit(&in)
			d, err := NewJobDetails(in)
			if !d.IsZero() {
				t.Fatal("refused details are not zero")
			}
			wantFields(t, err, c.fields...)
		})
	}
	t.Run("reports the salary range as a typed error", func(t *testing.T) {
		t.Parallel()
		in := validDetailsInput()
		in.Salary.Min, in.Salary.Max = 3, 2
		_, err := NewJobDetails(in)
		var sr SalaryRangeError
		if !errors.As(err, &sr) || sr.Min != 3 || sr.Max != 2 || !errors.Is(sr, ErrValidation) {
			t.Fatalf("SalaryRangeError = %v (%v)", sr, err)
		}
	})
}

func TestJobDetailsPatch(t *testing.T) {
	t.Parallel()
	d := mustDetails(t, validDetailsInput())
	t.Run("changes only the patched fields", func(t *testing.T) {
		t.Parallel()
		loc := LocationInput{Remote: false, Countries: []string{"NL"}}
		got, err := d.Patch(JobDetailsPatch{Location: &loc, ApplyURL: ptr(""), Tags: ptr([]string{"Rust"})})
		if err != nil {
			t.Fatal(err)
		}
		want := validDetailsInput()
		want.Location = LocationInput{Countries: []string{"NL"}, Regions: []string{}}
		want.ApplyURL = ""
		want.Tags = []string{"rust"}
		if !got.Equal(mustDetails(t, want)) {
			t.Fatalf("patched = %+v", got.Input())
		}
		if f := d.changedFields(got); !slices.Equal(f, []string{"location", "tags", "apply_url"}) {
			t.Fatalf("changed fields = %q", f)
		}
		if !d.Equal(mustDetails(t, validDetailsInput())) {
			t.Fatal("Patch changed the original")
		}
	})
	t.Run("validates the result as a whole", func(t *testing.T) {
		t.Parallel()
		_, err := d.Patch(JobDetailsPatch{Description: ptr("short"), EmploymentType: ptr("freelance")})
		wantFields(t, err, "description", "employment_type")
	})
	if !(JobDetailsPatch{}).IsEmpty() || (JobDetailsPatch{RemoveSalary: true}).IsEmpty() {
		t.Fatal("IsEmpty")
	}
}

func TestJobDetailsJSON(t *testing.T) {
	t.Parallel()
	d := mustDetails(t, validDetailsInput())
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"title":"Senior Go Engineer","description":"Build an event-sourced job marketplace with us.",` +
		`"employment_type":"full_time","seniority":"senior","location":{"remote":true,"regions":["EMEA"],"countries":["DE","FR"],` +
		`"timezones":{"min_utc_offset":-1,"max_utc_offset":3}},"salary":{"min":8000000,"max":11000000,"currency":"EUR","period":"year"},` +
		`"tags":["go","postgresql"],"apply_url":"https://example.com/jobs/1"}`
	if string(b) != want {
		t.Fatalf("JSON =\n%s\nwant\n%s", b, want)
	}
	back, err := RestoreJobDetails(d.Input())
	if err != nil || !back.Equal(d) {
		t.Fatalf("round trip: %v %+v", err, back.Input())
	}
	// History is trusted: a title recorded under older, looser rules still loads.
	old := JobDetailsInput{Title: "Go", Description: "x", EmploymentType: "contract", Seniority: "mid", Location: LocationInput{Remote: true}}
	if back, err = RestoreJobDetails(old); err != nil || back.Title() != "Go" {
		t.Fatalf("old details: %v", err)
	}
	if _, err := RestoreJobDetails(JobDetailsInput{Title: "Go", EmploymentType: "gig", Seniority: "mid"}); err == nil {
		t.Fatal("unknown enum decoded")
	}
}

func TestEnums(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"full_time", "part_time", "contract", "internship"} {
		if v, err := ParseEmploymentType(s); err != nil || v.String() != s {
			t.Errorf("ParseEmploymentType(%q) = %v, %v", s, v, err)
		}
	}
	for _, s := range []string{"", "Full_Time", "fulltime"} {
		if _, err := ParseEmploymentType(s); err == nil {
			t.Errorf("ParseEmploymentType(%q) accepted", s)
		}
	}
	if !(Seniority{}).IsZero() || SeniorityLead.IsZero() {
		t.Error("IsZero")
	}
	if _, err := json.Marshal(struct{ S Seniority }{}); err == nil {
		t.Error("zero enum marshalled")
	}
	var p ListingPlan
	if err := json.Unmarshal([]byte(`"featured"`), &p); err != nil || p != ListingPlanFeatured {
		t.Errorf("unmarshal plan: %v %v", p, err)
	}
	if len(SeniorityValues()) != 5 || len(SalaryPeriodValues()) != 3 || len(JobStatusValues()) != 4 || len(PaymentStatusValues()) != 5 {
		t.Error("enum value counts")
	}
}

func TestCodes(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"DE", "US", "GB", "JP", "BR", "ZA", "AQ"} {
		if !IsCountryCode(c) {
			t.Errorf("%s is a country code", c)
		}
	}
	for _, c := range []string{"UK", "EU", "XX", "de", "DEU", ""} {
		if IsCountryCode(c) {
			t.Errorf("%s is not a country code", c)
		}
	}
	if len(countryCodes) != 249 {
		t.Errorf("%d country codes, want 249", len(countryCodes))
	}
	for _, c := range []string{"EUR", "USD", "GBP", "JPY", "CHF", "INR"} {
		if _, err := ParseCurrency(c); err != nil {
			t.Errorf("ParseCurrency(%s): %v", c, err)
		}
	}
	for _, c := range []string{"eur", "XXX", "XAU", "ABC", "EU", ""} {
		if _, err := ParseCurrency(c); err == nil {
			t.Errorf("ParseCurrency(%s) accepted", c)
		}
	}
}

func TestNewMoney(t *testing.T) {
	t.Parallel()
	m, err := NewMoney(4900, " eur ")
	if err != nil || m.Amount() != 4900 || m.Currency().String() != "EUR" || m.String() != "4900 EUR" {
		t.Fatalf("NewMoney = %v, %v", m, err)
	}
	_, err = NewMoney(0, "EURO")
	wantFields(t, err, "amount", "currency")
}
