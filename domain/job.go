package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Job is a job listing and the payments for it. Its life:
//
//	PostJob ─> awaiting_payment ─(payment confirmed)─> published ─(Close)─> closed
//	                                                       └──(Expire at expires_at)─> expired
//
// A new listing payment on a closed or expired job renews it: the job awaits that payment
// again and is published anew when it is confirmed. Details can be edited while the job
// awaits payment or is published, not once it is closed or expired (renew it first).
//
// Payments. A job has at most one open payment (requested or failed, in the current listing
// period): asking for the same plan again returns it, asking for another plan cancels it
// (ListingPaymentCanceled) and opens a new one. A listing period ends when a payment
// publishes the job or the company closes it; a payment is due only while the period it was
// requested in lasts. So a payment that succeeds late — after another payment published the
// job, after the company closed the job, or after it was canceled for another plan — pays
// for nothing and is refunded (ListingPaymentRefunded). A renewal is due: it is requested
// after the close or expiry, in a new period.
type Job struct {
	aggregate
	companyID   string
	status      JobStatus
	details     JobDetails
	postedAt    time.Time
	payments    map[string]*listingPayment
	paymentIDs  []string // request order
	paymentID   string   // the payment behind the current or last publication
	plan        ListingPlan
	publishedAt time.Time
	expiresAt   time.Time
	closedAt    time.Time
	expiredAt   time.Time
	// period counts the listing periods that ended (a publication or a close ends one).
	period int
}

type listingPayment struct {
	intentID    string
	plan        ListingPlan
	price       Money
	duration    time.Duration
	status      PaymentStatus
	requestedAt time.Time
	paidAt      time.Time
	failedAt    time.Time
	canceledAt  time.Time
	refundedAt  time.Time
	// period is the job's listing period when the payment was requested.
	period int
}

// ListingPayment is a read-only view of one listing payment of a job.
type ListingPayment struct {
	ID          string
	IntentID    string // the provider's PaymentIntent id, "" if not recorded
	Plan        ListingPlan
	Price       Money
	Duration    time.Duration
	Status      PaymentStatus
	RequestedAt time.Time
	PaidAt      time.Time // zero unless paid or refunded
	FailedAt    time.Time // the last failure, zero if none
	CanceledAt  time.Time // zero unless canceled
	RefundedAt  time.Time // zero unless refunded
}

// JobForApplication is what SubmitApplication needs to know about the job: *Job satisfies
// it, and so can a read-side snapshot.
type JobForApplication interface {
	ID() string
	CompanyID() string
	// AcceptApplications returns nil when the job takes applications at now, else
	// ErrJobNotPublished, ErrJobClosed or ErrJobExpired.
	AcceptApplications(now time.Time) error
}

var _ JobForApplication = (*Job)(nil)

// PostJob records JobPosted for a new job of companyID with the caller-made id; the job
// awaits payment. details must come from NewJobDetails.
func PostJob(id, companyID string, details JobDetails, now time.Time) (*Job, error) {
	var p problems
	checkID(&p, "id", id)
	checkID(&p, "company_id", companyID)
	if details.IsZero() {
		p.add("details", "is required")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	j := newJob()
	j.id = id
	j.record(&JobPosted{JobID: id, CompanyID: companyID, Details: details, PostedAt: utc(now)}, j.apply)
	return j, nil
}

// LoadJob rebuilds a job from its stream; ErrNotFound when the stream is empty.
func LoadJob(id string, history []Event) (*Job, error) {
	j := newJob()
	if err := j.fold(StreamTypeJob, EventJobPosted, id, history, j.apply); err != nil {
		return nil, err
	}
	return j, nil
}

func newJob() *Job { return &Job{payments: map[string]*listingPayment{}} }

func (j *Job) apply(e Event) {
	switch e := e.(type) {
	case *JobPosted:
		j.companyID, j.details, j.postedAt = e.CompanyID, e.Details, e.PostedAt
		j.status = JobStatusAwaitingPayment
	case *JobDetailsChanged:
		j.details = e.Details
	case *ListingPaymentRequested:
		j.payments[e.PaymentID] = &listingPayment{
			intentID:    e.PaymentIntentID,
			plan:        e.Plan,
			price:       Money{amount: e.Amount, currency: e.Currency},
			duration:    time.Duration(e.DurationSeconds) * time.Second,
			status:      PaymentStatusRequested,
			requestedAt: e.RequestedAt,
			period:      j.period,
		}
		j.paymentIDs = append(j.paymentIDs, e.PaymentID)
		if j.status != JobStatusPublished {
			j.status = JobStatusAwaitingPayment
		}
	case *ListingPaid:
		if pay, ok := j.payments[e.PaymentID]; ok {
			pay.status, pay.paidAt = PaymentStatusPaid, e.PaidAt
		}
	case *ListingPaymentFailed:
		if pay, ok := j.payments[e.PaymentID]; ok {
			pay.status, pay.failedAt = PaymentStatusFailed, e.FailedAt
		}
	case *ListingPaymentCanceled:
		if pay, ok := j.payments[e.PaymentID]; ok {
			pay.status, pay.canceledAt = PaymentStatusCanceled, e.CanceledAt
		}
	case *ListingPaymentRefunded:
		if pay, ok := j.payments[e.PaymentID]; ok {
			pay.status, pay.paidAt, pay.refundedAt = PaymentStatusRefunded, e.PaidAt, e.RefundedAt
		}
	case *JobPublished:
		j.period++
		j.status = JobStatusPublished
		j.paymentID, j.plan = e.PaymentID, e.Plan
		j.publishedAt, j.expiresAt = e.PublishedAt, e.ExpiresAt
	case *JobClosed:
		j.period++
		j.status, j.closedAt = JobStatusClosed, e.ClosedAt
	case *JobExpired:
		j.status, j.expiredAt = JobStatusExpired, e.ExpiredAt
	}
}

// CheckOwner returns ErrNotOwner unless the job belongs to companyID.
func (j *Job) CheckOwner(companyID string) error {
	if companyID != j.companyID {
		return fmt.Errorf("job %s: %w", j.id, ErrNotOwner)
	}
	return nil
}

// Update applies a partial change of the details and records JobDetailsChanged with the
// full new details; nothing when the details stay the same. Refused once the job is
// closed (ErrJobClosed) or expired (ErrJobExpired).
func (j *Job) Update(companyID string, patch JobDetailsPatch, now time.Time) error {
	if err := j.CheckOwner(companyID); err != nil {
		return err
	}
	if err := j.refuseEnded("update"); err != nil {
		return err
	}
	next, err := j.details.Patch(patch)
	if err != nil {
		return err
	}
	changed := j.details.changedFields(next)
	if len(changed) == 0 {
		return nil
	}
	j.record(&JobDetailsChanged{
		JobID: j.id, CompanyID: j.companyID, Details: next, ChangedFields: changed, ChangedAt: utc(now),
	}, j.apply)
	return nil
}

func (j *Job) refuseEnded(action string) error {
	switch j.status {
	case JobStatusClosed:
		return fmt.Errorf("%s job %s: %w", action, j.id, ErrJobClosed)
	case JobStatusExpired:
		return fmt.Errorf("%s job %s: %w", action, j.id, ErrJobExpired)
	}
	return nil
}

// PayForListing records ListingPaymentRequested: the company is paying price for a listing
// of plan lasting duration from the moment the payment is confirmed. The price and
// duration come from the caller's configuration and are fixed into the event, so the
// company gets the terms it was quoted even if the configuration changes before it pays.
//
// Allowed while the job awaits payment and on a closed or expired job (a renewal, which
// puts it back to awaiting payment); refused while it is published
// (ErrJobAlreadyPublished). Repeating a request with the same payment id and terms is a
// no-op; the same id with other terms is ErrAlreadyExists. While a payment is open, the
// same plan is a no-op (that payment stays the open one) and another plan cancels it, see
// RequestListingPayment.
func (j *Job) PayForListing(companyID, paymentID string, plan ListingPlan, price Money, duration time.Duration, now time.Time) error {
	_, err := j.RequestListingPayment(companyID, ListingPaymentRequest{
		PaymentID: paymentID, Plan: plan, Price: price, Duration: duration,
	}, now)
	return err
}

// ListingPaymentRequest is a listing payment as PayForListing takes it, plus the payment
// provider's id of the charge when the caller created it before recording the request.
type ListingPaymentRequest struct {
	PaymentID string
	// PaymentIntentID is the provider's id (Stripe PaymentIntent), optional. It is not one of
	// the terms: repeating a request with another intent id is still a no-op.
	PaymentIntentID string
	Plan            ListingPlan
	Price           Money
	Duration        time.Duration
}

// RequestListingPayment is PayForListing with the provider's payment intent id recorded in
// ListingPaymentRequested, returning the payment that is open afterwards: the request's, or
// the open payment of the same plan (then nothing is recorded). A new payment first cancels
// every other payment still requested or failed (ListingPaymentCanceled): the open one of
// another plan, and any left over from an earlier period, so at most one payment is open.
// The caller cancels their intents at the provider.
func (j *Job) RequestListingPayment(companyID string, req ListingPaymentRequest, now time.Time) (ListingPayment, error) {
	paymentID, plan, price, duration := req.PaymentID, req.Plan, req.Price, req.Duration
	if err := j.CheckOwner(companyID); err != nil {
		return ListingPayment{}, err
	}
	var p problems
	checkID(&p, "payment_id", paymentID)
	if plan.IsZero() {
		p.add("plan", "must be one of standard, featured")
	}
	if price.IsZero() || price.Amount() <= 0 {
		p.add("price", "must be a positive amount")
	}
	if duration < time.Second {
		p.add("duration", "must be at least one second")
	}
	if err := p.err(); err != nil {
		return ListingPayment{}, err
	}
	secs := int64(duration / time.Second)
	if pay, ok := j.payments[paymentID]; ok {
		if pay.plan == plan && pay.price == price && pay.duration == time.Duration(secs)*time.Second {
			return pay.view(paymentID), nil
		}
		return ListingPayment{}, fmt.Errorf("job %s: listing payment %s with other terms: %w", j.id, paymentID, ErrAlreadyExists)
	}
	if j.status == JobStatusPublished {
		return ListingPayment{}, fmt.Errorf("pay for listing of job %s: %w", j.id, ErrJobAlreadyPublished)
	}
	if open, ok := j.OpenPayment(); ok && open.Plan == plan {
		return open, nil
	}
	now = utc(now)
	for _, id := range j.paymentIDs {
		if pay := j.payments[id]; pay.status == PaymentStatusRequested || pay.status == PaymentStatusFailed {
			j.record(&ListingPaymentCanceled{
				JobID: j.id, CompanyID: j.companyID, PaymentID: id, PaymentIntentID: pay.intentID,
				ReplacedBy: paymentID, CanceledAt: now,
			}, j.apply)
		}
	}
	j.record(&ListingPaymentRequested{
		JobID: j.id, CompanyID: j.companyID, PaymentID: paymentID, Plan: plan,
		Amount: price.Amount(), Currency: price.Currency(), DurationSeconds: secs, RequestedAt: now,
		PaymentIntentID: strings.TrimSpace(req.PaymentIntentID),
	}, j.apply)
	return j.payments[paymentID].view(paymentID), nil
}

// OpenPayment returns the payment the company is expected to pay: requested or failed (a
// failed PaymentIntent can be retried) in the current listing period. With several (a
// history from before the one-open-payment rule) the last requested one.
func (j *Job) OpenPayment() (ListingPayment, bool) {
	for _, id := range slices.Backward(j.paymentIDs) {
		if pay := j.payments[id]; pay.open() && pay.period == j.period {
			return pay.view(id), true
		}
	}
	return ListingPayment{}, false
}

func (p *listingPayment) open() bool {
	return p.status == PaymentStatusRequested || p.status == PaymentStatusFailed
}

// Refund reasons of ListingPaymentRefunded.
const (
	// RefundReasonCanceled: the payment was canceled for another plan, then succeeded.
	RefundReasonCanceled = "canceled"
	// RefundReasonAlreadyPaid: another payment published the job in the payment's period.
	RefundReasonAlreadyPaid = "already_paid"
	// RefundReasonJobClosed: the company closed the job after requesting the payment.
	RefundReasonJobClosed = "job_closed"
)

// nothingDue returns why a payment that succeeds now pays for nothing ("" when it is due):
// it was canceled, or its listing period ended — another payment published the job, or
// the company closed it — since it was requested.
func (j *Job) nothingDue(pay *listingPayment) string {
	switch {
	case pay.status == PaymentStatusCanceled:
		return RefundReasonCanceled
	case pay.period == j.period:
		return ""
	case j.publishedAfter(pay):
		return RefundReasonAlreadyPaid
	default:
		return RefundReasonJobClosed
	}
}

// publishedAfter reports whether the job was published since pay was requested.
func (j *Job) publishedAfter(pay *listingPayment) bool {
	return !j.publishedAt.IsZero() && !j.publishedAt.Before(pay.requestedAt)
}

// ConfirmListingPayment records that the payment provider took amount in currency for the
// payment (the currency is compared case-insensitively: Stripe writes "eur").
//
//   - Unknown payment: ErrPaymentNotFound. Already paid or refunded: no-op (duplicate
//     delivery).
//   - Amount or currency other than requested: PaymentMismatchError (ErrPaymentMismatch).
//   - Nothing due (the payment was canceled, or its listing period ended: another payment
//     published the job, or the company closed it, after it was requested): ErrNothingDue
//     and nothing recorded; the caller refunds the payment and records RefundListingPayment.
//     Closing is the company's later intent, so a payment pending at the close no longer
//     publishes; paying on a closed or expired job renews it only when requested after.
//   - Otherwise ListingPaid, then JobPublished from paidAt until paidAt + the payment's
//     duration. A payment that failed before still pays: Stripe lets a failed PaymentIntent
//     be retried and succeed.
func (j *Job) ConfirmListingPayment(paymentID string, amount int64, currency string, paidAt time.Time) error {
	pay, ok := j.payments[paymentID]
	if !ok {
		return fmt.Errorf("job %s: payment %s: %w", j.id, paymentID, ErrPaymentNotFound)
	}
	if pay.status == PaymentStatusPaid || pay.status == PaymentStatusRefunded {
		return nil
	}
	if amount != pay.price.Amount() || !strings.EqualFold(strings.TrimSpace(currency), pay.price.Currency().String()) {
		return PaymentMismatchError{
			PaymentID:  paymentID,
			WantAmount: pay.price.Amount(), WantCurrency: pay.price.Currency().String(),
			GotAmount: amount, GotCurrency: currency,
		}
	}
	if reason := j.nothingDue(pay); reason != "" {
		return fmt.Errorf("job %s: payment %s (%s): %w", j.id, paymentID, reason, ErrNothingDue)
	}
	paidAt = utc(paidAt)
	j.record(&ListingPaid{
		JobID: j.id, CompanyID: j.companyID, PaymentID: paymentID, Plan: pay.plan,
		Amount: pay.price.Amount(), Currency: pay.price.Currency(), PaidAt: paidAt,
	}, j.apply)
	j.record(&JobPublished{
		JobID: j.id, CompanyID: j.companyID, PaymentID: paymentID, Plan: pay.plan,
		Featured: pay.plan == ListingPlanFeatured, PublishedAt: paidAt, ExpiresAt: paidAt.Add(pay.duration),
	}, j.apply)
	return nil
}

// RefundListingPayment records ListingPaymentRefunded: the provider refunded (refundID) a
// payment that succeeded at paidAt when nothing was due (ConfirmListingPayment answered
// ErrNothingDue). A no-op when already refunded (a redelivered webhook); ErrPaymentDue when
// the payment is due or paid, ErrPaymentNotFound for an unknown one.
func (j *Job) RefundListingPayment(paymentID, refundID string, paidAt, refundedAt time.Time) error {
	pay, ok := j.payments[paymentID]
	if !ok {
		return fmt.Errorf("job %s: payment %s: %w", j.id, paymentID, ErrPaymentNotFound)
	}
	if pay.status == PaymentStatusRefunded {
		return nil
	}
	reason := j.nothingDue(pay)
	if pay.status == PaymentStatusPaid || reason == "" {
		return fmt.Errorf("job %s: refund payment %s: %w", j.id, paymentID, ErrPaymentDue)
	}
	var p problems
	if strings.TrimSpace(refundID) == "" {
		p.add("refund_id", "is required")
	}
	if err := p.err(); err != nil {
		return err
	}
	j.record(&ListingPaymentRefunded{
		JobID: j.id, CompanyID: j.companyID, PaymentID: paymentID, PaymentIntentID: pay.intentID,
		RefundID: strings.TrimSpace(refundID), Amount: pay.price.Amount(), Currency: pay.price.Currency(),
		Reason: reason, PaidAt: utc(paidAt), RefundedAt: utc(refundedAt),
	}, j.apply)
	return nil
}

// FailListingPayment records ListingPaymentFailed; a no-op when the payment is already
// paid (a late failure of an attempt that was retried successfully) or already failed.
func (j *Job) FailListingPayment(paymentID, reason string, failedAt time.Time) error {
	pay, ok := j.payments[paymentID]
	if !ok {
		return fmt.Errorf("job %s: payment %s: %w", j.id, paymentID, ErrPaymentNotFound)
	}
	if pay.status != PaymentStatusRequested {
		return nil
	}
	j.record(&ListingPaymentFailed{
		JobID: j.id, CompanyID: j.companyID, PaymentID: paymentID, Reason: strings.TrimSpace(reason), FailedAt: utc(failedAt),
	}, j.apply)
	return nil
}

// Close records JobClosed: the job leaves search and takes no more applications. Allowed
// while awaiting payment (abandoning a draft) or published; a no-op when already closed;
// ErrJobExpired when the listing already ran out.
func (j *Job) Close(companyID string, now time.Time) error {
	if err := j.CheckOwner(companyID); err != nil {
		return err
	}
	switch j.status {
	case JobStatusClosed:
		return nil
	case JobStatusExpired:
		return fmt.Errorf("close job %s: %w", j.id, ErrJobExpired)
	}
	j.record(&JobClosed{JobID: j.id, CompanyID: j.companyID, ClosedAt: utc(now)}, j.apply)
	return nil
}

// Expire records JobExpired when the job is published and now is at or after expires_at.
// Otherwise it is a no-op, not an error: the expiry scheduler works from a projection that
// may be stale (the job may have been closed or renewed meanwhile), and the aggregate is
// the one that decides. IsDue tells beforehand.
func (j *Job) Expire(now time.Time) error {
	if !j.IsDue(now) {
		return nil
	}
	j.record(&JobExpired{JobID: j.id, CompanyID: j.companyID, ExpiresAt: j.expiresAt, ExpiredAt: utc(now)}, j.apply)
	return nil
}

// IsDue reports whether the job is published and its listing has run out at now.
func (j *Job) IsDue(now time.Time) bool {
	return j.status == JobStatusPublished && !now.Before(j.expiresAt)
}

// AcceptApplications returns nil when the job is published and not past expires_at.
func (j *Job) AcceptApplications(now time.Time) error {
	switch {
	case j.status == JobStatusClosed:
		return fmt.Errorf("job %s: %w", j.id, ErrJobClosed)
	case j.status == JobStatusExpired || j.IsDue(now):
		return fmt.Errorf("job %s: %w", j.id, ErrJobExpired)
	case j.status != JobStatusPublished:
		return fmt.Errorf("job %s: %w", j.id, ErrJobNotPublished)
	}
	return nil
}

// StreamType of job streams.
func (j *Job) StreamType() string { return StreamTypeJob }

// CompanyID of the company that posted the job.
func (j *Job) CompanyID() string { return j.companyID }

// Status of the job.
func (j *Job) Status() JobStatus { return j.status }

// Details of the job.
func (j *Job) Details() JobDetails { return j.details }

// PostedAt is when the job was posted.
func (j *Job) PostedAt() time.Time { return j.postedAt }

// Plan of the current or last publication (zero if never published).
func (j *Job) Plan() ListingPlan { return j.plan }

// Featured reports whether the current or last publication is featured.
func (j *Job) Featured() bool { return j.plan == ListingPlanFeatured }

// PublishedAt of the current or last publication (zero if never published).
func (j *Job) PublishedAt() time.Time { return j.publishedAt }

// ExpiresAt of the current or last publication (zero if never published).
func (j *Job) ExpiresAt() time.Time { return j.expiresAt }

// ClosedAt is when the job was last closed (zero if never).
func (j *Job) ClosedAt() time.Time { return j.closedAt }

// ExpiredAt is when the job last expired (zero if never).
func (j *Job) ExpiredAt() time.Time { return j.expiredAt }

// Payment returns the listing payment with id.
func (j *Job) Payment(id string) (ListingPayment, bool) {
	pay, ok := j.payments[id]
	if !ok {
		return ListingPayment{}, false
	}
	return pay.view(id), true
}

// Payments returns every listing payment in the order they were requested.
func (j *Job) Payments() []ListingPayment {
	out := make([]ListingPayment, 0, len(j.paymentIDs))
	for _, id := range slices.Compact(slices.Clone(j.paymentIDs)) {
		out = append(out, j.payments[id].view(id))
	}
	return out
}

func (p *listingPayment) view(id string) ListingPayment {
	return ListingPayment{
		ID: id, IntentID: p.intentID, Plan: p.plan, Price: p.price, Duration: p.duration, Status: p.status,
		RequestedAt: p.requestedAt, PaidAt: p.paidAt, FailedAt: p.failedAt,
		CanceledAt: p.canceledAt, RefundedAt: p.refundedAt,
	}
}
