package domain

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var testApplicationID = "a0000000-0000-4000-8000-000000000001"

func publishedJob(t *testing.T) *Job {
	t.Helper()
	j, err := LoadJob(testJobID, []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0), listingPaid("p1", ListingPlanStandard, t0), jobPublished("p1", ListingPlanStandard, t0)})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func applicationSubmitted() *ApplicationSubmitted {
	return &ApplicationSubmitted{
		ApplicationID: testApplicationID, JobID: testJobID, CompanyID: testCompanyID, CandidateID: testCandidateID,
		ResumeURL: "https://cv.example.com/ada.pdf", CoverLetter: "I would love to.", SubmittedAt: at(time.Hour),
	}
}

func statusChanged(from, to ApplicationStatus, when time.Time) *ApplicationStatusChanged {
	return &ApplicationStatusChanged{
		ApplicationID: testApplicationID, JobID: testJobID, CompanyID: testCompanyID, CandidateID: testCandidateID,
		From: from, To: to, ChangedAt: when,
	}
}

// historyAt returns the history of an application that reached status.
func historyAt(status ApplicationStatus) []Event {
	h := []Event{applicationSubmitted()}
	path := []ApplicationStatus{ApplicationStatusSubmitted, ApplicationStatusReviewing, ApplicationStatusInterviewing, ApplicationStatusOffered, ApplicationStatusHired}
	switch status {
	case ApplicationStatusRejected:
		return append(h, statusChanged(ApplicationStatusSubmitted, ApplicationStatusRejected, at(2*time.Hour)))
	case ApplicationStatusWithdrawn:
		return append(h, &ApplicationWithdrawn{ApplicationID: testApplicationID, JobID: testJobID, CompanyID: testCompanyID, CandidateID: testCandidateID, From: ApplicationStatusSubmitted, WithdrawnAt: at(2 * time.Hour)})
	}
	for i := 1; i < len(path) && path[i-1] != status; i++ {
		h = append(h, statusChanged(path[i-1], path[i], at(time.Duration(i+1)*time.Hour)))
	}
	return h
}

func TestSubmitApplication(t *testing.T) {
	t.Parallel()
	t.Run("records the application to a published job on the stream of its id", func(t *testing.T) {
		t.Parallel()
		a, err := SubmitApplication(testApplicationID, publishedJob(t), testCandidateID, " https://cv.example.com/ada.pdf ", "\nI would love to.\n", at(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		thenEvents(t, nil, nil, a.Changes(), []Event{applicationSubmitted()})
		if a.ID() != testApplicationID || a.Status() != ApplicationStatusSubmitted || a.JobID() != testJobID ||
			a.CompanyID() != testCompanyID || a.CandidateID() != testCandidateID || a.Version() != 1 || a.StreamType() != "application" {
			t.Fatalf("unexpected state %+v", a)
		}
	})
	t.Run("accepts no cover letter", func(t *testing.T) {
		t.Parallel()
		a, err := SubmitApplication(testApplicationID, publishedJob(t), testCandidateID, "https://cv.example.com/ada.pdf", "", at(time.Hour))
		if err != nil || a.CoverLetter() != "" {
			t.Fatalf("SubmitApplication = %v, %q", err, a.CoverLetter())
		}
	})
	refusals := []struct {
		name  string
		given []Event
		now   time.Time
		err   error
	}{
		{"refuses a job awaiting payment", []Event{jobPosted(t)}, at(time.Hour), ErrJobNotPublished},
		{"refuses a closed job", []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0), listingPaid("p1", ListingPlanStandard, t0), jobPublished("p1", ListingPlanStandard, t0), jobClosed(t0)}, at(time.Hour), ErrJobClosed},
		{"refuses an expired job", []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0), listingPaid("p1", ListingPlanStandard, t0), jobPublished("p1", ListingPlanStandard, t0), jobExpired(at(listing))}, at(listing), ErrJobExpired},
		{"refuses a published job past expires_at", []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0), listingPaid("p1", ListingPlanStandard, t0), jobPublished("p1", ListingPlanStandard, t0)}, at(listing + time.Second), ErrJobExpired},
	}
	for _, c := range refusals {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			j, err := LoadJob(testJobID, c.given)
			if err != nil {
				t.Fatal(err)
			}
			a, err := SubmitApplication(testApplicationID, j, testCandidateID, "https://cv.example.com/ada.pdf", "", c.now)
			if !errors.Is(err, c.err) || a != nil {
				t.Fatalf("SubmitApplication = %v, %v; want %v", a, err, c.err)
			}
		})
	}
	t.Run("refuses invalid input, listing each field, before looking at the job", func(t *testing.T) {
		t.Parallel()
		j, err := LoadJob(testJobID, []Event{jobPosted(t)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = SubmitApplication("", j, " ", "ftp://cv.example.com/x", strings.Repeat("x", CoverLetterMaxLen+1), t0)
		wantFields(t, err, "id", "candidate_id", "resume_url", "cover_letter")
		_, err = SubmitApplication(testApplicationID, nil, testCandidateID, "", "", t0)
		wantFields(t, err, "resume_url", "job")
	})
}

func TestChangeApplicationStatus(t *testing.T) {
	t.Parallel()
	all := ApplicationStatusValues()
	// The employer's legal moves, written out independently of the implementation.
	legal := map[string]bool{
		"submitted>reviewing": true, "submitted>rejected": true,
		"reviewing>interviewing": true, "reviewing>rejected": true,
		"interviewing>offered": true, "interviewing>rejected": true,
		"offered>hired": true, "offered>rejected": true,
	}
	for _, from := range all {
		for _, to := range all {
			name := fmt.Sprintf("%s to %s", from, to)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				given := historyAt(from)
				a, err := LoadApplication(testApplicationID, given)
				if err != nil {
					t.Fatal(err)
				}
				if a.Status() != from {
					t.Fatalf("given status %s, want %s", a.Status(), from)
				}
				err = a.ChangeStatus(testCompanyID, to, at(10*time.Hour))
				switch {
				case from == to:
					thenEvents(t, err, nil, a.Changes(), nil)
				case legal[from.String()+">"+to.String()]:
					thenEvents(t, err, nil, a.Changes(), []Event{statusChanged(from, to, at(10*time.Hour))})
					if a.Status() != to {
						t.Errorf("status = %s, want %s", a.Status(), to)
					}
				default:
					thenEvents(t, err, ErrIllegalTransition, a.Changes(), nil)
					var te StatusTransitionError
					if !errors.As(err, &te) || te.From != from || te.To != to {
						t.Errorf("StatusTransitionError = %+v", te)
					}
				}
			})
		}
	}
	t.Run("refuses another company", func(t *testing.T) {
		t.Parallel()
		a, _ := LoadApplication(testApplicationID, historyAt(ApplicationStatusSubmitted))
		err := a.ChangeStatus(otherCompanyID, ApplicationStatusReviewing, t0)
		thenEvents(t, err, ErrNotOwner, a.Changes(), nil)
	})
	t.Run("refuses a missing status", func(t *testing.T) {
		t.Parallel()
		a, _ := LoadApplication(testApplicationID, historyAt(ApplicationStatusSubmitted))
		err := a.ChangeStatus(testCompanyID, ApplicationStatus{}, t0)
		wantFields(t, err, "status")
	})
}

func TestWithdrawApplication(t *testing.T) {
	t.Parallel()
	for _, from := range ApplicationStatusValues() {
		t.Run("from "+from.String(), func(t *testing.T) {
			t.Parallel()
			a, err := LoadApplication(testApplicationID, historyAt(from))
			if err != nil {
				t.Fatal(err)
			}
			err = a.Withdraw(testCandidateID, at(10*time.Hour))
			switch from {
			case ApplicationStatusWithdrawn:
				thenEvents(t, err, nil, a.Changes(), nil)
			case ApplicationStatusHired, ApplicationStatusRejected:
				thenEvents(t, err, ErrIllegalTransition, a.Changes(), nil)
				var te StatusTransitionError
				if !errors.As(err, &te) || te.From != from || te.To != ApplicationStatusWithdrawn {
					t.Errorf("StatusTransitionError = %+v", te)
				}
			default:
				thenEvents(t, err, nil, a.Changes(), []Event{&ApplicationWithdrawn{
					ApplicationID: testApplicationID, JobID: testJobID, CompanyID: testCompanyID, CandidateID: testCandidateID,
					From: from, WithdrawnAt: at(10 * time.Hour),
				}})
				if a.Status() != ApplicationStatusWithdrawn {
					t.Errorf("status = %s", a.Status())
				}
			}
		})
	}
	t.Run("refuses another candidate", func(t *testing.T) {
		t.Parallel()
		a, _ := LoadApplication(testApplicationID, historyAt(ApplicationStatusSubmitted))
		err := a.Withdraw(otherCandidate, t0)
		thenEvents(t, err, ErrNotOwner, a.Changes(), nil)
	})
}

func TestLoadApplication(t *testing.T) {
	t.Parallel()
	if _, err := LoadApplication(testApplicationID, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty stream: %v", err)
	}
	if _, err := LoadApplication(testApplicationID, []Event{statusChanged(ApplicationStatusSubmitted, ApplicationStatusReviewing, t0)}); !errors.Is(err, ErrUnknownEvent) {
		t.Fatalf("headless stream: %v", err)
	}
	if _, err := LoadApplication(testApplicationID, []Event{applicationSubmitted(), jobClosed(t0)}); !errors.Is(err, ErrUnknownEvent) {
		t.Fatalf("foreign event: %v", err)
	}
}
