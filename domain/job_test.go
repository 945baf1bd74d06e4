package domain

import (
	"errors"
	"testing"
	"time"
)

type jobCase struct {
	name  string
	given []Event
	when  func(j *Job) error
	then  []Event
	err   error
	check func(t *testing.T, j *Job, err error)
}

func runJobCases(t *testing.T, cases []jobCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			j, err := LoadJob(testJobID, c.given)
			if err != nil {
				t.Fatalf("LoadJob: %v", err)
			}
			err = c.when(j)
			thenEvents(t, err, c.err, j.Changes(), c.then)
			if got, want := j.ExpectedVersion(), len(c.given); got != want {
				t.Errorf("ExpectedVersion = %d, want %d", got, want)
			}
			if got, want := j.Version(), len(c.given)+len(j.Changes()); got != want {
				t.Errorf("Version = %d, want %d", got, want)
			}
			if c.check != nil {
				c.check(t, j, err)
			}
		})
	}
}

func wantStatus(want JobStatus) func(t *testing.T, j *Job, err error) {
	return func(t *testing.T, j *Job, _ error) {
		t.Helper()
		if j.Status() != want {
			t.Errorf("status = %s, want %s", j.Status(), want)
		}
	}
}

func TestPostJob(t *testing.T) {
	t.Parallel()
	t.Run("records job posted awaiting payment", func(t *testing.T) {
		t.Parallel()
		d := mustDetails(t, validDetailsInput())
		j, err := PostJob(testJobID, testCompanyID, d, at(0).In(time.FixedZone("CET", 3600)))
		thenEvents(t, err, nil, j.Changes(), []Event{jobPosted(t)})
		if j.Status() != JobStatusAwaitingPayment || j.ID() != testJobID || j.CompanyID() != testCompanyID ||
			j.Version() != 1 || j.ExpectedVersion() != 0 || !j.Details().Equal(d) || j.StreamType() != "job" {
			t.Fatalf("unexpected state: %+v", j)
		}
	})
	t.Run("refuses blank ids and missing details all at once", func(t *testing.T) {
		t.Parallel()
		_, err := PostJob(" ", "", JobDetails{}, t0)
		wantFields(t, err, "id", "company_id", "details")
	})
}

func TestUpdateJob(t *testing.T) {
	t.Parallel()
	changed := mustDetails(t, func() JobDetailsInput {
		in := validDetailsInput()
		in.Title = "Staff Go Engineer"
		in.Salary = nil
		return in
	}())
	runJobCases(t, []jobCase{
		{
			name:  "records the full new details when awaiting payment",
			given: []Event{jobPosted(t)},
			when: func(j *Job) error {
				return j.Update(testCompanyID, JobDetailsPatch{Title: ptr(" Staff Go Engineer "), RemoveSalary: true}, at(time.Hour))
			},
			then: []Event{&JobDetailsChanged{
				JobID: testJobID, CompanyID: testCompanyID, Details: changed,
				ChangedFields: []string{"title", "salary"}, ChangedAt: at(time.Hour),
			}},
		},
		{
			name:  "records changes while published",
			given: []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0), listingPaid("p1", ListingPlanStandard, t0), jobPublished("p1", ListingPlanStandard, t0)},
			when: func(j *Job) error {
				return j.Update(testCompanyID, JobDetailsPatch{Title: ptr("Staff Go Engineer"), RemoveSalary: true}, at(time.Hour))
			},
			then: []Event{&JobDetailsChanged{
				JobID: testJobID, CompanyID: testCompanyID, Details: changed,
				ChangedFields: []string{"title", "salary"}, ChangedAt: at(time.Hour),
			}},
			check: wantStatus(JobStatusPublished),
		},
		{
			name:  "is a no-op when nothing changes",
			given: []Event{jobPosted(t)},
			when: func(j *Job) error {
				return j.Update(testCompanyID, JobDetailsPatch{Title: ptr("Senior Go Engineer"), Tags: ptr([]string{"GO", "postgresql", "go"})}, t0)
			},
		},
		{
			name:  "is a no-op for an empty patch",
			given: []Event{jobPosted(t)},
			when:  func(j *Job) error { return j.Update(testCompanyID, JobDetailsPatch{}, t0) },
		},
		{
			name:  "refuses a closed job",
			given: []Event{jobPosted(t), jobClosed(t0)},
			when:  func(j *Job) error { return j.Update(testCompanyID, JobDetailsPatch{Title: ptr("Another title")}, t0) },
			err:   ErrJobClosed,
		},
		{
			name:  "refuses an expired job",
			given: []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0), listingPaid("p1", ListingPlanStandard, t0), jobPublished("p1", ListingPlanStandard, t0), jobExpired(at(listing))},
			when:  func(j *Job) error { return j.Update(testCompanyID, JobDetailsPatch{Title: ptr("Another title")}, t0) },
			err:   ErrJobExpired,
		},
		{
			name:  "refuses another company",
			given: []Event{jobPosted(t)},
			when:  func(j *Job) error { return j.Update(otherCompanyID, JobDetailsPatch{Title: ptr("Another title")}, t0) },
			err:   ErrNotOwner,
		},
		{
			name:  "refuses invalid fields, listing each",
			given: []Event{jobPosted(t)},
			when: func(j *Job) error {
				return j.Update(testCompanyID, JobDetailsPatch{Title: ptr("Go"), Seniority: ptr("guru"), Salary: &SalaryInput{Min: 5, Max: 1, Currency: "EUR", Period: "year"}}, t0)
			},
			err: ErrValidation,
			check: func(t *testing.T, _ *Job, err error) {
				wantFields(t, err, "title", "seniority", "salary.min")
				var sr SalaryRangeError
				if !errors.As(err, &sr) || sr != (SalaryRangeError{Min: 5, Max: 1}) {
					t.Errorf("errors.As SalaryRangeError = %v", sr)
				}
			},
		},
		{
			name:  "refuses setting and removing the salary at once",
			given: []Event{jobPosted(t)},
			when: func(j *Job) error {
				return j.Update(testCompanyID, JobDetailsPatch{Salary: &SalaryInput{Min: 1, Max: 2, Currency: "EUR", Period: "year"}, RemoveSalary: true}, t0)
			},
			err: ErrValidation,
		},
	})
}

func TestPayForListing(t *testing.T) {
	t.Parallel()
	std := mustMoney(t, 4900, "EUR")
	published := []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0), listingPaid("p1", ListingPlanStandard, at(time.Minute)), jobPublished("p1", ListingPlanStandard, at(time.Minute))}
	closed := append(append([]Event{}, published...), jobClosed(at(time.Hour)))
	expired := append(append([]Event{}, published...), jobExpired(at(time.Minute+listing)))
	runJobCases(t, []jobCase{
		{
			name:  "records a payment request for a job awaiting payment",
			given: []Event{jobPosted(t)},
			when: func(j *Job) error {
				return j.PayForListing(testCompanyID, "p1", ListingPlanFeatured, mustMoney(t, 9900, "eur"), listing, t0)
			},
			then:  []Event{paymentRequested("p1", ListingPlanFeatured, t0)},
			check: wantStatus(JobStatusAwaitingPayment),
		},
		{
			name:  "another plan cancels the open (here failed) payment and records the new one",
			given: []Event{jobPosted(t), paymentRequested("p1", ListingPlanFeatured, t0), paymentFailed("p1", t0)},
			when: func(j *Job) error {
				return j.PayForListing(testCompanyID, "p2", ListingPlanStandard, std, listing, at(time.Hour))
			},
			then: []Event{paymentCanceled("p1", "", "p2", at(time.Hour)), paymentRequested("p2", ListingPlanStandard, at(time.Hour))},
			check: func(t *testing.T, j *Job, _ error) {
				if ps := j.Payments(); len(ps) != 2 || ps[0].ID != "p1" || ps[0].Status != PaymentStatusCanceled || ps[1].ID != "p2" || ps[1].Status != PaymentStatusRequested {
					t.Errorf("payments = %+v", ps)
				}
			},
		},
		{
			name:  "the same plan while a payment is open records nothing",
			given: []Event{jobPosted(t), paymentRequested("p1", ListingPlanFeatured, t0), paymentFailed("p1", t0)},
			when: func(j *Job) error {
				return j.PayForListing(testCompanyID, "p2", ListingPlanFeatured, mustMoney(t, 9900, "EUR"), listing, at(time.Hour))
			},
			check: func(t *testing.T, j *Job, _ error) {
				if ps := j.Payments(); len(ps) != 1 {
					t.Errorf("payments = %+v", ps)
				}
			},
		},
		{
			name:  "is a no-op when repeated with the same id and terms",
			given: []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0)},
			when: func(j *Job) error {
				return j.PayForListing(testCompanyID, "p1", ListingPlanStandard, std, listing, at(time.Hour))
			},
		},
		{
			name:  "is a no-op when repeated after the payment published the job",
			given: published,
			when: func(j *Job) error {
				return j.PayForListing(testCompanyID, "p1", ListingPlanStandard, std, listing, at(time.Hour))
			},
		},
		{
			name:  "refuses the same id with other terms",
			given: []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0)},
			when: func(j *Job) error {
				return j.PayForListing(testCompanyID, "p1", ListingPlanFeatured, mustMoney(t, 9900, "EUR"), listing, t0)
			},
			err: ErrAlreadyExists,
		},
		{
			name:  "refuses a published job",
			given: published,
			when:  func(j *Job) error { return j.PayForListing(testCompanyID, "p2", ListingPlanStandard, std, listing, t0) },
			err:   ErrJobAlreadyPublished,
		},
		{
			name:  "renews a closed job, which awaits payment again",
			given: closed,
			when: func(j *Job) error {
				return j.PayForListing(testCompanyID, "p2", ListingPlanStandard, std, listing, at(2*time.Hour))
			},
			then:  []Event{paymentRequested("p2", ListingPlanStandard, at(2*time.Hour))},
			check: wantStatus(JobStatusAwaitingPayment),
		},
		{
			name:  "renews an expired job, which awaits payment again",
			given: expired,
			when: func(j *Job) error {
				return j.PayForListing(testCompanyID, "p2", ListingPlanStandard, std, listing, at(40*24*time.Hour))
			},
			then:  []Event{paymentRequested("p2", ListingPlanStandard, at(40*24*time.Hour))},
			check: wantStatus(JobStatusAwaitingPayment),
		},
		{
			name:  "refuses another company",
			given: []Event{jobPosted(t)},
			when: func(j *Job) error {
				return j.PayForListing(otherCompanyID, "p1", ListingPlanStandard, std, listing, t0)
			},
			err: ErrNotOwner,
		},
		{
			name:  "refuses missing terms, listing each",
			given: []Event{jobPosted(t)},
			when:  func(j *Job) error { return j.PayForListing(testCompanyID, "", ListingPlan{}, Money{}, 0, t0) },
			err:   ErrValidation,
			check: func(t *testing.T, _ *Job, err error) { wantFields(t, err, "payment_id", "plan", "price", "duration") },
		},
	})
}

func TestConfirmListingPayment(t *testing.T) {
	t.Parallel()
	requested := []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0)}
	paidAt := at(10 * time.Minute)
	published := append(append([]Event{}, requested...), listingPaid("p1", ListingPlanStandard, paidAt), jobPublished("p1", ListingPlanStandard, paidAt))
	runJobCases(t, []jobCase{
		{
			name:  "pays and publishes until paid_at plus the listing duration",
			given: requested,
			when:  func(j *Job) error { return j.ConfirmListingPayment("p1", 4900, "eur", paidAt) },
			then:  []Event{listingPaid("p1", ListingPlanStandard, paidAt), jobPublished("p1", ListingPlanStandard, paidAt)},
			check: func(t *testing.T, j *Job, _ error) {
				if j.Status() != JobStatusPublished || !j.PublishedAt().Equal(paidAt) || !j.ExpiresAt().Equal(paidAt.Add(listing)) || j.Featured() {
					t.Errorf("state: status %s published %s expires %s featured %v", j.Status(), j.PublishedAt(), j.ExpiresAt(), j.Featured())
				}
				if p, ok := j.Payment("p1"); !ok || p.Status != PaymentStatusPaid || !p.PaidAt.Equal(paidAt) {
					t.Errorf("payment = %+v", p)
				}
			},
		},
		{
			name:  "publishes a featured plan as featured",
			given: []Event{jobPosted(t), paymentRequested("p1", ListingPlanFeatured, t0)},
			when:  func(j *Job) error { return j.ConfirmListingPayment("p1", 9900, "EUR", paidAt) },
			then:  []Event{listingPaid("p1", ListingPlanFeatured, paidAt), jobPublished("p1", ListingPlanFeatured, paidAt)},
			check: func(t *testing.T, j *Job, _ error) {
				if !j.Featured() || j.Plan() != ListingPlanFeatured {
					t.Errorf("featured = %v, plan %s", j.Featured(), j.Plan())
				}
			},
		},
		{
			name:  "is a no-op for a payment already paid",
			given: published,
			when:  func(j *Job) error { return j.ConfirmListingPayment("p1", 4900, "EUR", at(time.Hour)) },
		},
		{
			name:  "pays a payment that failed before",
			given: append(append([]Event{}, requested...), paymentFailed("p1", at(time.Minute))),
			when:  func(j *Job) error { return j.ConfirmListingPayment("p1", 4900, "EUR", paidAt) },
			then:  []Event{listingPaid("p1", ListingPlanStandard, paidAt), jobPublished("p1", ListingPlanStandard, paidAt)},
		},
		{
			name:  "republishes a renewed job",
			given: append(append([]Event{}, published...), jobClosed(at(time.Hour)), paymentRequested("p2", ListingPlanFeatured, at(2*time.Hour))),
			when:  func(j *Job) error { return j.ConfirmListingPayment("p2", 9900, "EUR", at(3*time.Hour)) },
			then:  []Event{listingPaid("p2", ListingPlanFeatured, at(3*time.Hour)), jobPublished("p2", ListingPlanFeatured, at(3*time.Hour))},
			check: wantStatus(JobStatusPublished),
		},
		{
			name:  "owes nothing for a payment pending when the job was closed (the close is the later intent)",
			given: append(append([]Event{}, requested...), jobClosed(at(time.Minute))),
			when:  func(j *Job) error { return j.ConfirmListingPayment("p1", 4900, "EUR", paidAt) },
			err:   ErrNothingDue,
			check: wantStatus(JobStatusClosed),
		},
		{
			name: "owes nothing for a second payment once another published the job",
			given: []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0), paymentRequested("p2", ListingPlanFeatured, t0),
				listingPaid("p1", ListingPlanStandard, paidAt), jobPublished("p1", ListingPlanStandard, paidAt)},
			when: func(j *Job) error { return j.ConfirmListingPayment("p2", 9900, "EUR", at(time.Hour)) },
			err:  ErrNothingDue,
			check: func(t *testing.T, j *Job, _ error) {
				if !j.ExpiresAt().Equal(paidAt.Add(listing)) || j.Plan() != ListingPlanStandard {
					t.Errorf("publication changed: plan %s expires %s", j.Plan(), j.ExpiresAt())
				}
			},
		},
		{
			name: "owes nothing for a payment canceled for another plan",
			given: []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0),
				paymentCanceled("p1", "", "p2", at(time.Minute)), paymentRequested("p2", ListingPlanFeatured, at(time.Minute))},
			when:  func(j *Job) error { return j.ConfirmListingPayment("p1", 4900, "EUR", paidAt) },
			err:   ErrNothingDue,
			check: wantStatus(JobStatusAwaitingPayment),
		},
		{
			name: "owes nothing for a payment of an earlier period after the job expired",
			given: []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0), paymentRequested("p2", ListingPlanStandard, t0),
				listingPaid("p1", ListingPlanStandard, paidAt), jobPublished("p1", ListingPlanStandard, paidAt), jobExpired(paidAt.Add(listing))},
			when: func(j *Job) error { return j.ConfirmListingPayment("p2", 4900, "EUR", paidAt.Add(listing+time.Hour)) },
			err:  ErrNothingDue,
		},
		{
			name:  "renews an expired job with a payment requested after the expiry",
			given: append(append([]Event{}, published...), jobExpired(paidAt.Add(listing)), paymentRequested("p2", ListingPlanStandard, paidAt.Add(listing+time.Hour))),
			when:  func(j *Job) error { return j.ConfirmListingPayment("p2", 4900, "EUR", paidAt.Add(listing+2*time.Hour)) },
			then: []Event{listingPaid("p2", ListingPlanStandard, paidAt.Add(listing+2*time.Hour)),
				jobPublished("p2", ListingPlanStandard, paidAt.Add(listing+2*time.Hour))},
			check: wantStatus(JobStatusPublished),
		},
		{
			name: "is a no-op for a payment already refunded",
			given: []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0), jobClosed(at(time.Minute)),
				paymentRefunded("p1", ListingPlanStandard, RefundReasonJobClosed, paidAt, paidAt)},
			when: func(j *Job) error { return j.ConfirmListingPayment("p1", 4900, "EUR", paidAt) },
		},
		{
			name:  "refuses an unknown payment",
			given: requested,
			when:  func(j *Job) error { return j.ConfirmListingPayment("nope", 4900, "EUR", paidAt) },
			err:   ErrPaymentNotFound,
		},
		{
			name:  "refuses another amount",
			given: requested,
			when:  func(j *Job) error { return j.ConfirmListingPayment("p1", 490, "EUR", paidAt) },
			err:   ErrPaymentMismatch,
			check: func(t *testing.T, _ *Job, err error) {
				var pm PaymentMismatchError
				if !errors.As(err, &pm) || pm.WantAmount != 4900 || pm.GotAmount != 490 || pm.WantCurrency != "EUR" || pm.PaymentID != "p1" {
					t.Errorf("PaymentMismatchError = %+v", pm)
				}
			},
		},
		{
			name:  "refuses another currency",
			given: requested,
			when:  func(j *Job) error { return j.ConfirmListingPayment("p1", 4900, "usd", paidAt) },
			err:   ErrPaymentMismatch,
		},
	})
}

func TestRefundListingPayment(t *testing.T) {
	t.Parallel()
	paidAt := at(10 * time.Minute)
	closed := []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0), jobClosed(at(time.Minute))}
	publishedByOther := []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0), paymentRequested("p2", ListingPlanFeatured, t0),
		listingPaid("p1", ListingPlanStandard, paidAt), jobPublished("p1", ListingPlanStandard, paidAt)}
	canceled := []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0),
		paymentCanceled("p1", "", "p2", at(time.Minute)), paymentRequested("p2", ListingPlanFeatured, at(time.Minute))}
	runJobCases(t, []jobCase{
		{
			name:  "records the refund of a payment pending when the job was closed",
			given: closed,
			when:  func(j *Job) error { return j.RefundListingPayment("p1", "re_1", paidAt, at(time.Hour)) },
			then:  []Event{paymentRefunded("p1", ListingPlanStandard, RefundReasonJobClosed, paidAt, at(time.Hour))},
			check: func(t *testing.T, j *Job, _ error) {
				if p, _ := j.Payment("p1"); p.Status != PaymentStatusRefunded || !p.RefundedAt.Equal(at(time.Hour)) || !p.PaidAt.Equal(paidAt) {
					t.Errorf("payment = %+v", p)
				}
				if j.Status() != JobStatusClosed {
					t.Errorf("status = %s", j.Status())
				}
			},
		},
		{
			name:  "records the refund of a second payment after another published the job",
			given: publishedByOther,
			when:  func(j *Job) error { return j.RefundListingPayment("p2", "re_1", at(time.Hour), at(time.Hour)) },
			then:  []Event{paymentRefunded("p2", ListingPlanFeatured, RefundReasonAlreadyPaid, at(time.Hour), at(time.Hour))},
			check: wantStatus(JobStatusPublished),
		},
		{
			name:  "records the refund of a canceled payment",
			given: canceled,
			when:  func(j *Job) error { return j.RefundListingPayment("p1", "re_1", paidAt, paidAt) },
			then:  []Event{paymentRefunded("p1", ListingPlanStandard, RefundReasonCanceled, paidAt, paidAt)},
		},
		{
			name:  "is a no-op when already refunded (a redelivered webhook)",
			given: append(append([]Event{}, closed...), paymentRefunded("p1", ListingPlanStandard, RefundReasonJobClosed, paidAt, paidAt)),
			when:  func(j *Job) error { return j.RefundListingPayment("p1", "re_2", paidAt, at(time.Hour)) },
		},
		{
			name:  "refuses a payment that is due",
			given: []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0)},
			when:  func(j *Job) error { return j.RefundListingPayment("p1", "re_1", paidAt, paidAt) },
			err:   ErrPaymentDue,
		},
		{
			name:  "refuses a payment that paid for the listing",
			given: publishedByOther,
			when:  func(j *Job) error { return j.RefundListingPayment("p1", "re_1", paidAt, paidAt) },
			err:   ErrPaymentDue,
		},
		{
			name:  "refuses an unknown payment",
			given: closed,
			when:  func(j *Job) error { return j.RefundListingPayment("nope", "re_1", paidAt, paidAt) },
			err:   ErrPaymentNotFound,
		},
	})
}

func TestFailListingPayment(t *testing.T) {
	t.Parallel()
	requested := []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0)}
	runJobCases(t, []jobCase{
		{
			name:  "records a failed attempt; the job still awaits payment",
			given: requested,
			when:  func(j *Job) error { return j.FailListingPayment("p1", " card_declined ", at(time.Minute)) },
			then:  []Event{paymentFailed("p1", at(time.Minute))},
			check: wantStatus(JobStatusAwaitingPayment),
		},
		{
			name:  "is a no-op for a payment already failed",
			given: append(append([]Event{}, requested...), paymentFailed("p1", at(time.Minute))),
			when:  func(j *Job) error { return j.FailListingPayment("p1", "card_declined", at(time.Hour)) },
		},
		{
			name:  "is a no-op for a payment already paid",
			given: append(append([]Event{}, requested...), listingPaid("p1", ListingPlanStandard, t0), jobPublished("p1", ListingPlanStandard, t0)),
			when:  func(j *Job) error { return j.FailListingPayment("p1", "card_declined", at(time.Hour)) },
			check: wantStatus(JobStatusPublished),
		},
		{
			name:  "refuses an unknown payment",
			given: requested,
			when:  func(j *Job) error { return j.FailListingPayment("nope", "", t0) },
			err:   ErrPaymentNotFound,
		},
	})
}

func TestCloseJob(t *testing.T) {
	t.Parallel()
	published := []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0), listingPaid("p1", ListingPlanStandard, t0), jobPublished("p1", ListingPlanStandard, t0)}
	runJobCases(t, []jobCase{
		{
			name:  "closes a published job",
			given: published,
			when:  func(j *Job) error { return j.Close(testCompanyID, at(time.Hour)) },
			then:  []Event{jobClosed(at(time.Hour))},
			check: wantStatus(JobStatusClosed),
		},
		{
			name:  "closes a job awaiting payment",
			given: []Event{jobPosted(t)},
			when:  func(j *Job) error { return j.Close(testCompanyID, at(time.Hour)) },
			then:  []Event{jobClosed(at(time.Hour))},
			check: wantStatus(JobStatusClosed),
		},
		{
			name:  "is a no-op for a closed job",
			given: append(append([]Event{}, published...), jobClosed(at(time.Hour))),
			when:  func(j *Job) error { return j.Close(testCompanyID, at(2*time.Hour)) },
		},
		{
			name:  "refuses an expired job",
			given: append(append([]Event{}, published...), jobExpired(at(listing))),
			when:  func(j *Job) error { return j.Close(testCompanyID, at(listing+time.Hour)) },
			err:   ErrJobExpired,
		},
		{
			name:  "refuses another company",
			given: published,
			when:  func(j *Job) error { return j.Close(otherCompanyID, at(time.Hour)) },
			err:   ErrNotOwner,
		},
	})
}

func TestExpireJob(t *testing.T) {
	t.Parallel()
	published := []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0), listingPaid("p1", ListingPlanStandard, t0), jobPublished("p1", ListingPlanStandard, t0)}
	runJobCases(t, []jobCase{
		{
			name:  "expires a published job at expires_at",
			given: published,
			when:  func(j *Job) error { return j.Expire(at(listing)) },
			then:  []Event{jobExpired(at(listing))},
			check: wantStatus(JobStatusExpired),
		},
		{
			name:  "expires a published job after expires_at",
			given: published,
			when:  func(j *Job) error { return j.Expire(at(listing + time.Hour)) },
			then:  []Event{&JobExpired{JobID: testJobID, CompanyID: testCompanyID, ExpiresAt: at(listing), ExpiredAt: at(listing + time.Hour)}},
		},
		{
			name:  "is a no-op before expires_at",
			given: published,
			when:  func(j *Job) error { return j.Expire(at(listing - time.Nanosecond)) },
			check: wantStatus(JobStatusPublished),
		},
		{
			name:  "is a no-op for a job awaiting payment",
			given: []Event{jobPosted(t)},
			when:  func(j *Job) error { return j.Expire(at(100 * listing)) },
		},
		{
			name:  "is a no-op for a closed job",
			given: append(append([]Event{}, published...), jobClosed(at(time.Hour))),
			when:  func(j *Job) error { return j.Expire(at(listing)) },
			check: wantStatus(JobStatusClosed),
		},
		{
			name:  "is a no-op for an expired job",
			given: append(append([]Event{}, published...), jobExpired(at(listing))),
			when:  func(j *Job) error { return j.Expire(at(2 * listing)) },
		},
		{
			name: "is a no-op for a renewed job that is not due yet",
			given: append(append([]Event{}, published...), jobExpired(at(listing)), paymentRequested("p2", ListingPlanStandard, at(listing)),
				listingPaid("p2", ListingPlanStandard, at(listing)), jobPublished("p2", ListingPlanStandard, at(listing))),
			when:  func(j *Job) error { return j.Expire(at(listing + time.Hour)) },
			check: wantStatus(JobStatusPublished),
		},
	})
}

func TestJobAcceptApplications(t *testing.T) {
	t.Parallel()
	published := []Event{jobPosted(t), paymentRequested("p1", ListingPlanStandard, t0), listingPaid("p1", ListingPlanStandard, t0), jobPublished("p1", ListingPlanStandard, t0)}
	cases := []struct {
		name  string
		given []Event
		now   time.Time
		err   error
	}{
		{"accepts while published", published, at(time.Hour), nil},
		{"refuses a job awaiting payment", []Event{jobPosted(t)}, at(time.Hour), ErrJobNotPublished},
		{"refuses a renewed job awaiting payment", append(append([]Event{}, published...), jobClosed(at(time.Hour)), paymentRequested("p2", ListingPlanStandard, at(time.Hour))), at(2 * time.Hour), ErrJobNotPublished},
		{"refuses a closed job", append(append([]Event{}, published...), jobClosed(at(time.Hour))), at(2 * time.Hour), ErrJobClosed},
		{"refuses an expired job", append(append([]Event{}, published...), jobExpired(at(listing))), at(listing), ErrJobExpired},
		{"refuses a published job past expires_at", published, at(listing), ErrJobExpired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			j, err := LoadJob(testJobID, c.given)
			if err != nil {
				t.Fatal(err)
			}
			if err := j.AcceptApplications(c.now); !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Fatalf("AcceptApplications = %v, want %v", err, c.err)
			}
		})
	}
}

func TestLoadJob(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		history []Event
		err     error
	}{
		{"refuses an empty stream as not found", nil, ErrNotFound},
		{"refuses a stream not starting with job.posted", []Event{jobClosed(t0)}, ErrUnknownEvent},
		{"refuses a second job.posted", []Event{jobPosted(t), jobPosted(t)}, ErrUnknownEvent},
		{"refuses another aggregate's event", []Event{jobPosted(t), &CompanyRegistered{}}, ErrUnknownEvent},
		{"refuses a nil event", []Event{jobPosted(t), nil}, ErrUnknownEvent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if _, err := LoadJob(testJobID, c.history); !errors.Is(err, c.err) {
				t.Fatalf("LoadJob = %v, want %v", err, c.err)
			}
		})
	}
	t.Run("folds history into state and version", func(t *testing.T) {
		t.Parallel()
		j, err := LoadJob(testJobID, []Event{jobPosted(t), paymentRequested("p1", ListingPlanFeatured, t0), listingPaid("p1", ListingPlanFeatured, t0), jobPublished("p1", ListingPlanFeatured, t0), jobClosed(at(time.Hour))})
		if err != nil {
			t.Fatal(err)
		}
		if j.Version() != 5 || j.ExpectedVersion() != 5 || len(j.Changes()) != 0 || j.Status() != JobStatusClosed ||
			!j.ClosedAt().Equal(at(time.Hour)) || !j.PostedAt().Equal(t0) || !j.Featured() {
			t.Fatalf("unexpected state %+v", j)
		}
		if err := j.CheckOwner(testCompanyID); err != nil {
			t.Fatal(err)
		}
	})
}
