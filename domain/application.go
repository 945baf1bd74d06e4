package domain

import (
	"fmt"
	"strings"
	"time"
)

// Application is a candidate's application to a job. Its life:
//
//	submitted ─> reviewing ─> interviewing ─> offered ─> hired
//
// The employer may reject it, and the candidate may withdraw it, from any open status
// (submitted, reviewing, interviewing, offered). hired, rejected and withdrawn are final.
// Steps cannot be skipped.
type Application struct {
	aggregate
	jobID       string
	companyID   string
	candidateID string
	status      ApplicationStatus
	resumeURL   string
	coverLetter string
	submittedAt time.Time
}

// nextStatus lists the statuses the employer may move an open application to.
var nextStatus = map[ApplicationStatus][]ApplicationStatus{
	ApplicationStatusSubmitted:    {ApplicationStatusReviewing, ApplicationStatusRejected},
	ApplicationStatusReviewing:    {ApplicationStatusInterviewing, ApplicationStatusRejected},
	ApplicationStatusInterviewing: {ApplicationStatusOffered, ApplicationStatusRejected},
	ApplicationStatusOffered:      {ApplicationStatusHired, ApplicationStatusRejected},
}

// IsOpen reports whether an application in status s can still move on (or be withdrawn).
func (s ApplicationStatus) IsOpen() bool { _, ok := nextStatus[s]; return ok }

// CanChangeStatus reports whether the employer may move an application from one status to
// another (withdrawal is the candidate's, see Application.Withdraw).
func CanChangeStatus(from, to ApplicationStatus) bool {
	for _, s := range nextStatus[from] {
		if s == to {
			return true
		}
	}
	return false
}

// SubmitApplication records ApplicationSubmitted: the candidate applies to job, which must
// take applications at now (else ErrJobNotPublished, ErrJobClosed or ErrJobExpired). The
// application's id is made by the caller and must reveal nothing (a random UUID): one
// application per candidate and job is enforced outside the aggregate, by reserving
// ApplicationKey in the same transaction as the append. Input is validated first: every
// field at fault is listed.
func SubmitApplication(id string, job JobForApplication, candidateID, resumeURL, coverLetter string, now time.Time) (*Application, error) {
	var p problems
	checkID(&p, "id", id)
	checkID(&p, "candidate_id", candidateID)
	resumeURL = checkHTTPURL(&p, "resume_url", resumeURL, true)
	coverLetter = strings.TrimSpace(coverLetter)
	checkText(&p, "cover_letter", coverLetter, 0, CoverLetterMaxLen, false)
	if job == nil {
		p.add("job", "is required")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	if err := job.AcceptApplications(now); err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	a := &Application{}
	a.id = id
	a.record(&ApplicationSubmitted{
		ApplicationID: a.id,
		JobID:         job.ID(),
		CompanyID:     job.CompanyID(),
		CandidateID:   candidateID,
		ResumeURL:     resumeURL,
		CoverLetter:   coverLetter,
		SubmittedAt:   utc(now),
	}, a.apply)
	return a, nil
}

// LoadApplication rebuilds an application from its stream; ErrNotFound when empty.
func LoadApplication(id string, history []Event) (*Application, error) {
	a := &Application{}
	if err := a.fold(StreamTypeApplication, EventApplicationSubmitted, id, history, a.apply); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Application) apply(e Event) {
	switch e := e.(type) {
	case *ApplicationSubmitted:
		a.jobID, a.companyID, a.candidateID = e.JobID, e.CompanyID, e.CandidateID
		a.resumeURL, a.coverLetter, a.submittedAt = e.ResumeURL, e.CoverLetter, e.SubmittedAt
		a.status = ApplicationStatusSubmitted
	case *ApplicationStatusChanged:
		a.status = e.To
	case *ApplicationWithdrawn:
		a.status = ApplicationStatusWithdrawn
	}
}

// ChangeStatus is the employer (companyID, the job's company) moving the application to
// status to: reviewing, interviewing, offered, hired or rejected, one step at a time (see
// Application). Asking for the current status is a no-op; an illegal move is a
// StatusTransitionError (ErrIllegalTransition).
func (a *Application) ChangeStatus(companyID string, to ApplicationStatus, now time.Time) error {
	if companyID != a.companyID {
		return fmt.Errorf("application %s: %w", a.id, ErrNotOwner)
	}
	if to.IsZero() {
		var p problems
		p.add("status", "must be one of reviewing, interviewing, offered, hired, rejected")
		return p.err()
	}
	if to == a.status {
		return nil
	}
	if !CanChangeStatus(a.status, to) {
		return StatusTransitionError{From: a.status, To: to}
	}
	a.record(&ApplicationStatusChanged{
		ApplicationID: a.id, JobID: a.jobID, CompanyID: a.companyID, CandidateID: a.candidateID,
		From: a.status, To: to, ChangedAt: utc(now),
	}, a.apply)
	return nil
}

// Withdraw is the candidate taking the application back, from any open status. A no-op
// when already withdrawn; StatusTransitionError once hired or rejected.
func (a *Application) Withdraw(candidateID string, now time.Time) error {
	if candidateID != a.candidateID {
		return fmt.Errorf("application %s: %w", a.id, ErrNotOwner)
	}
	if a.status == ApplicationStatusWithdrawn {
		return nil
	}
	if !a.status.IsOpen() {
		return StatusTransitionError{From: a.status, To: ApplicationStatusWithdrawn}
	}
	a.record(&ApplicationWithdrawn{
		ApplicationID: a.id, JobID: a.jobID, CompanyID: a.companyID, CandidateID: a.candidateID,
		From: a.status, WithdrawnAt: utc(now),
	}, a.apply)
	return nil
}

// StreamType of application streams.
func (a *Application) StreamType() string { return StreamTypeApplication }

// JobID of the job applied to.
func (a *Application) JobID() string { return a.jobID }

// CompanyID of the job's company (the employer who may change the status).
func (a *Application) CompanyID() string { return a.companyID }

// CandidateID of the candidate who applied.
func (a *Application) CandidateID() string { return a.candidateID }

// Status of the application.
func (a *Application) Status() ApplicationStatus { return a.status }

// ResumeURL the candidate gave.
func (a *Application) ResumeURL() string { return a.resumeURL }

// CoverLetter the candidate wrote, "" if none.
func (a *Application) CoverLetter() string { return a.coverLetter }

// SubmittedAt is when the candidate applied.
func (a *Application) SubmittedAt() time.Time { return a.submittedAt }
