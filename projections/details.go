package projections

import (
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/readmodels"
)

// jobFields are a job's details in read-model shapes.
type jobFields struct {
	Title          string
	Description    string
	EmploymentType string
	Seniority      string
	Location       readmodels.Location
	Salary         *readmodels.Salary
	Tags           []string
	ApplyURL       string
}

func fieldsOf(in domain.JobDetailsInput) jobFields {
	f := jobFields{
		Title:          in.Title,
		Description:    in.Description,
		EmploymentType: in.EmploymentType,
		Seniority:      in.Seniority,
		Location: readmodels.Location{
			Remote:    in.Location.Remote,
			Regions:   nonNil(in.Location.Regions),
			Countries: nonNil(in.Location.Countries),
		},
		Tags:     nonNil(in.Tags),
		ApplyURL: in.ApplyURL,
	}
	if tz := in.Location.Timezones; tz != nil {
		f.Location.Timezones = &readmodels.Timezones{MinUTCOffset: tz.MinUTCOffset, MaxUTCOffset: tz.MaxUTCOffset}
	}
	if s := in.Salary; s != nil {
		f.Salary = &readmodels.Salary{Min: s.Min, Max: s.Max, Currency: s.Currency, Period: s.Period}
	}
	return f
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
