package domain

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const testAlertID = "a1000000-0000-4000-8000-000000000001"

func TestCreateAlert(t *testing.T) {
	t.Parallel()
	t.Run("normalises the criteria as the search query reads them", func(t *testing.T) {
		a, err := CreateAlert(testAlertID, testCandidateID, AlertInput{Frequency: "daily", Criteria: AlertCriteria{
			Q: "  go  ", Tags: []string{"Go", " go ", "", "Kafka"}, Country: "de", Currency: "eur"}}, at(0))
		if err != nil {
			t.Fatal(err)
		}
		want := &AlertCreated{AlertID: testAlertID, CandidateID: testCandidateID, Frequency: AlertFrequencyDaily, CreatedAt: at(0),
			Criteria: AlertCriteria{Q: "go", Tags: []string{"go", "kafka"}, Country: "DE", Currency: "EUR"}}
		if got := a.Changes(); len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Fatalf("changes %#v, want %#v", got, want)
		}
	})
	t.Run("refuses what GET /v1/jobs refuses, naming each field", func(t *testing.T) {
		tags := make([]string, MaxTags+1)
		for i := range tags {
			tags[i] = strings.Repeat("t", i+1)
		}
		_, err := CreateAlert(testAlertID, testCandidateID, AlertInput{Frequency: "hourly", Criteria: AlertCriteria{
			Q: strings.Repeat("word ", AlertQueryMaxWords+1), Tags: tags, Country: "XX", EmploymentType: "gig",
			Seniority: "guru", SalaryMin: -1, Currency: "ZZZ", Sort: "random"}}, at(0))
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("err = %v", err)
		}
		got := map[string]bool{}
		for _, f := range ve.Fields {
			got[f.Field] = true
		}
		for _, f := range []string{"q", "tags", "country", "employment_type", "seniority", "salary_min", "currency", "sort", "frequency"} {
			if !got[f] {
				t.Errorf("no problem named %s in %v", f, ve.Fields)
			}
		}
	})
}

func TestDeleteAlert(t *testing.T) {
	t.Parallel()
	created := &AlertCreated{AlertID: testAlertID, CandidateID: testCandidateID, Frequency: AlertFrequencyInstant, CreatedAt: at(0)}
	a, err := LoadAlert(testAlertID, []Event{created})
	if err != nil {
		t.Fatal(err)
	}
	a.Delete(AlertUnsubscribed, at(1))
	if ch := a.Changes(); len(ch) != 1 || ch[0].(*AlertDeleted).Reason != AlertUnsubscribed || !a.Deleted() {
		t.Fatalf("changes %#v", ch)
	}
	t.Run("deleting again is a no-op", func(t *testing.T) {
		b, err := LoadAlert(testAlertID, []Event{created, &AlertDeleted{AlertID: testAlertID, CandidateID: testCandidateID, Reason: AlertDeletedByCandidate, DeletedAt: at(1)}})
		if err != nil {
			t.Fatal(err)
		}
		b.Delete(AlertUnsubscribed, at(2))
		if len(b.Changes()) != 0 {
			t.Fatalf("changes %#v", b.Changes())
		}
	})
}

func TestEmailPreferences(t *testing.T) {
	t.Parallel()
	c, err := RegisterCandidate(testCandidateID, CandidateInput{Name: "Ada", Email: "ada@example.com"}, at(0))
	if err != nil {
		t.Fatal(err)
	}
	c.ClearChanges()
	if err := c.SetEmailPreferences([]EmailCategory{EmailJobAlerts, EmailJobAlerts}, at(1)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetEmailPreferences([]EmailCategory{EmailJobAlerts}, at(2)); err != nil {
		t.Fatal(err)
	}
	if ch := c.Changes(); len(ch) != 1 || !reflect.DeepEqual(ch[0].(*CandidateEmailPreferencesSet).Off, []EmailCategory{EmailJobAlerts}) {
		t.Fatalf("changes %#v (the repeat must be a no-op)", ch)
	}
	if err := c.SetEmailPreferences([]EmailCategory{EmailListingNotices}, at(3)); !errors.Is(err, ErrValidation) {
		t.Fatalf("an employer's category for a candidate: %v", err)
	}
}
