package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

// The bodies of the command routes. Each decodeX reads a body strictly and checks what can
// be checked without state (through the domain's own validation, so the rules live in one
// place); the command handlers check the rest. The fuzz targets call exactly these.

// validationID stands for the id a command will make, when the domain's validation needs one.
const validationID = "00000000-0000-0000-0000-000000000000"

func decodeRegisterCompany(w http.ResponseWriter, r *http.Request) (domain.CompanyInput, error) {
	var in domain.CompanyInput
	if err := decodeBody(w, r, &in, false); err != nil {
		return in, err
	}
	if _, err := domain.RegisterCompany(validationID, in, time.Now()); err != nil {
		return in, fromValidation(err)
	}
	return in, nil
}

func decodeRegisterCandidate(w http.ResponseWriter, r *http.Request) (domain.CandidateInput, error) {
	var in domain.CandidateInput
	if err := decodeBody(w, r, &in, false); err != nil {
		return in, err
	}
	if _, err := domain.RegisterCandidate(validationID, in, time.Now()); err != nil {
		return in, fromValidation(err)
	}
	return in, nil
}

func decodePostJob(w http.ResponseWriter, r *http.Request) (domain.JobDetailsInput, error) {
	var in domain.JobDetailsInput
	if err := decodeBody(w, r, &in, false); err != nil {
		return in, err
	}
	if _, err := domain.NewJobDetails(in); err != nil {
		return in, fromValidation(err)
	}
	return in, nil
}

// patchFields are the members PATCH /v1/jobs/{id} accepts, in API order.
var patchFields = []string{"title", "description", "employment_type", "seniority", "location", "salary", "tags", "apply_url"}

// decodeUpdateJob reads a partial update. encoding/json cannot tell an absent member from
// null, so the object is split into raw members first: absent leaves a field alone,
// "salary": null removes the salary, null elsewhere is refused.
func decodeUpdateJob(w http.ResponseWriter, r *http.Request) (domain.JobDetailsPatch, error) {
	var patch domain.JobDetailsPatch
	var raw map[string]json.RawMessage
	if err := decodeBody(w, r, &raw, false); err != nil {
		return patch, err
	}
	if raw == nil {
		return patch, invalidField("body", "must be a JSON object")
	}
	var fields []apperr.FieldError
	bad := func(err error) {
		if ae, ok := err.(*apperr.Error); ok {
			fields = append(fields, ae.Fields...)
		}
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch {
		case k == "":
			fields = append(fields, apperr.FieldError{Field: "body", Message: `member "" is not a known field`})
		case !slices.Contains(patchFields, k):
			fields = append(fields, apperr.FieldError{Field: k, Message: "is not a known field"})
		}
	}
	member := func(name string, dst any) bool {
		v, ok := raw[name]
		if !ok {
			return false
		}
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			if name == "salary" {
				patch.RemoveSalary = true
				return false
			}
			fields = append(fields, apperr.FieldError{Field: name, Message: "must not be null"})
			return false
		}
		if err := decodeJSON(v, dst); err != nil {
			bad(prefixFields(name, err))
			return false
		}
		return true
	}
	str := func(name string, dst **string) {
		var s string
		if member(name, &s) {
			*dst = &s
		}
	}
	str("title", &patch.Title)
	str("description", &patch.Description)
	str("employment_type", &patch.EmploymentType)
	str("seniority", &patch.Seniority)
	str("apply_url", &patch.ApplyURL)
	var loc domain.LocationInput
	if member("location", &loc) {
		patch.Location = &loc
	}
	var sal domain.SalaryInput
	if member("salary", &sal) {
		patch.Salary = &sal
	}
	var tags []string
	if member("tags", &tags) {
		patch.Tags = &tags
	}
	if len(fields) > 0 {
		return patch, apperr.InvalidFields(fields...)
	}
	if patch.IsEmpty() {
		return patch, invalidField("body", "names no field to change")
	}
	// Fields given are checked as the domain would check them on a complete job; fields left
	// out are taken from a valid placeholder so only the client's own mistakes are listed.
	if _, err := placeholderDetails.Patch(patch); err != nil {
		return patch, fromValidation(err)
	}
	return patch, nil
}

// placeholderDetails is a valid job that decodeUpdateJob patches to validate a patch.
var placeholderDetails = func() domain.JobDetails {
	d, err := domain.NewJobDetails(domain.JobDetailsInput{
		Title: "Placeholder", Description: "A placeholder job used to validate patches.",
		EmploymentType: "full_time", Seniority: "mid", Tags: []string{},
	})
	if err != nil {
		panic(err)
	}
	return d
}()

// prefixFields puts the fields of a nested decoding error under name.
func prefixFields(name string, err error) error {
	ae, ok := err.(*apperr.Error)
	if !ok {
		return err
	}
	out := *ae
	out.Fields = make([]apperr.FieldError, len(ae.Fields))
	for i, f := range ae.Fields {
		switch {
		case f.Field == "body" || f.Field == "":
			f.Field = name
		case strings.HasPrefix(f.Field, "["):
			f.Field = name + f.Field
		default:
			f.Field = name + "." + f.Field
		}
		out.Fields[i] = f
	}
	return &out
}

// payForListingRequest is the body of POST /v1/jobs/{id}/payments.
type payForListingRequest struct {
	Plan string `json:"plan"`
}

func decodePayForListing(w http.ResponseWriter, r *http.Request) (payForListingRequest, error) {
	var in payForListingRequest
	if err := decodeBody(w, r, &in, false); err != nil {
		return in, err
	}
	if in.Plan == "" {
		return in, invalidField("plan", "is required (standard or featured)")
	}
	if _, err := domain.ParseListingPlan(in.Plan); err != nil {
		return in, invalidField("plan", err.Error())
	}
	return in, nil
}

// applyRequest is the body of POST /v1/jobs/{id}/applications.
type applyRequest struct {
	CoverLetter string `json:"cover_letter"`
	ResumeURL   string `json:"resume_url"`
}

func decodeApply(w http.ResponseWriter, r *http.Request) (applyRequest, error) {
	var in applyRequest
	if err := decodeBody(w, r, &in, false); err != nil {
		return in, err
	}
	var fields []apperr.FieldError
	switch u := strings.TrimSpace(in.ResumeURL); {
	case u == "":
		fields = append(fields, apperr.FieldError{Field: "resume_url", Message: "is required"})
	case !utf8.ValidString(u) || len(u) > domain.URLMaxLen:
		fields = append(fields, apperr.FieldError{Field: "resume_url", Message: fmt.Sprintf("must be an http(s) URL of at most %d characters", domain.URLMaxLen)})
	}
	if !utf8.ValidString(in.CoverLetter) || utf8.RuneCountInString(strings.TrimSpace(in.CoverLetter)) > domain.CoverLetterMaxLen {
		fields = append(fields, apperr.FieldError{Field: "cover_letter", Message: fmt.Sprintf("must be text of at most %d characters", domain.CoverLetterMaxLen)})
	}
	if len(fields) > 0 {
		return in, apperr.InvalidFields(fields...)
	}
	return in, nil
}

// changeApplicationStatusRequest is the body of POST /v1/applications/{id}/status.
type changeApplicationStatusRequest struct {
	Status string `json:"status"`
}

func decodeChangeApplicationStatus(w http.ResponseWriter, r *http.Request) (changeApplicationStatusRequest, error) {
	var in changeApplicationStatusRequest
	if err := decodeBody(w, r, &in, false); err != nil {
		return in, err
	}
	if in.Status == "" {
		return in, invalidField("status", "is required (reviewing, interviewing, offered, hired or rejected)")
	}
	st, err := domain.ParseApplicationStatus(in.Status)
	if err != nil {
		return in, invalidField("status", err.Error())
	}
	switch st.String() {
	case "reviewing", "interviewing", "offered", "hired", "rejected":
	default:
		return in, invalidField("status", "must be reviewing, interviewing, offered, hired or rejected")
	}
	return in, nil
}

// emptyRequest is the body of actions that take no fields (close, withdraw): absent, or {}.
type emptyRequest struct{}

func decodeEmpty(w http.ResponseWriter, r *http.Request) error {
	var in emptyRequest
	return decodeBody(w, r, &in, true)
}
