package commands_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

func TestJobListingLifecycle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := ctxFor(t)
	company := w.MustRegisterCompany(t, "acme@example.com").ID
	other := w.MustRegisterCompany(t, "other@example.com").ID
	job := w.MustPostJob(t, company)
	if job.Version != 1 {
		t.Fatalf("posted job at version %d", job.Version)
	}

	t.Run("post refuses invalid details listing every field", func(t *testing.T) {
		in := detailsInput()
		in.Title, in.Seniority = "x", "boss"
		_, err := w.PostJob.Handle(ctx, commands.PostJob{Caller: employer(company), Details: in})
		wantCode(t, err, apperr.Invalid)
	})
	t.Run("update with the right If-Match records the change", func(t *testing.T) {
		res, err := w.UpdateJob.Handle(ctx, commands.UpdateJob{Caller: employer(company), JobID: job.ID, ExpectedVersion: ptr(int64(1)),
			Patch: domain.JobDetailsPatch{Title: ptr("Staff Go Engineer")}})
		if err != nil || res.Version != 2 || res.StreamType != domain.StreamTypeJob {
			t.Fatalf("UpdateJob = %+v, %v", res, err)
		}
	})
	t.Run("update with a stale If-Match is a version mismatch", func(t *testing.T) {
		_, err := w.UpdateJob.Handle(ctx, commands.UpdateJob{Caller: employer(company), JobID: job.ID, ExpectedVersion: ptr(int64(1)),
			Patch: domain.JobDetailsPatch{Title: ptr("Principal Go Engineer")}})
		wantCode(t, err, apperr.VersionMismatch)
	})
	t.Run("an update that changes nothing appends nothing and answers the version", func(t *testing.T) {
		res, err := w.UpdateJob.Handle(ctx, commands.UpdateJob{Caller: employer(company), JobID: job.ID,
			Patch: domain.JobDetailsPatch{Title: ptr("Staff Go Engineer")}})
		if err != nil || res.Version != 2 || res.ID != job.ID {
			t.Fatalf("UpdateJob = %+v, %v", res, err)
		}
	})
	t.Run("an unpublished job of another company is not found", func(t *testing.T) {
		_, err := w.UpdateJob.Handle(ctx, commands.UpdateJob{Caller: employer(other), JobID: job.ID, Patch: domain.JobDetailsPatch{Title: ptr("Mine now")}})
		wantCode(t, err, apperr.NotFound)
		_, err = w.PayForListing.Handle(ctx, commands.PayForListing{Caller: employer(other), JobID: job.ID, Plan: "standard"})
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("an unknown job or another aggregate's id is not found", func(t *testing.T) {
		_, err := w.CloseJob.Handle(ctx, commands.CloseJob{Caller: employer(company), JobID: "00000000-0000-4000-8000-000000000000"})
		wantCode(t, err, apperr.NotFound)
		_, err = w.CloseJob.Handle(ctx, commands.CloseJob{Caller: employer(company), JobID: company})
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("a candidate may not post jobs", func(t *testing.T) {
		_, err := w.PostJob.Handle(ctx, commands.PostJob{Caller: candidate("someone"), Details: detailsInput()})
		wantCode(t, err, apperr.Forbidden)
	})

	var pay commands.PaymentResult
	t.Run("paying creates a PaymentIntent and records the request", func(t *testing.T) {
		var err error
		pay, err = w.PayForListing.Handle(ctx, commands.PayForListing{Caller: employer(company), JobID: job.ID, Plan: "featured"})
		if err != nil {
			t.Fatal(err)
		}
		if pay.PaymentID == "" || pay.PaymentIntentID == "" || pay.ClientSecret == "" || pay.Amount != 9900 || pay.Currency != "EUR" ||
			pay.Status != "requires_payment" || pay.Version != 3 || pay.ID != job.ID {
			t.Fatalf("payment = %+v", pay)
		}
		s, err := w.store.Load(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		req, ok := s.Events[2].(*domain.ListingPaymentRequested)
		if !ok || req.PaymentIntentID != pay.PaymentIntentID || req.PaymentID != pay.PaymentID || req.DurationSeconds != int64(30*24*time.Hour/time.Second) {
			t.Fatalf("event = %#v", s.Events[2])
		}
	})
	t.Run("an unknown plan is invalid", func(t *testing.T) {
		_, err := w.PayForListing.Handle(ctx, commands.PayForListing{Caller: employer(company), JobID: job.ID, Plan: "gold"})
		wantCode(t, err, apperr.Invalid)
	})
	t.Run("a payment of another amount or currency is refused and changes nothing", func(t *testing.T) {
		_, err := w.ConfirmPayment.Handle(ctx, commands.ConfirmListingPayment{Caller: stripeCaller, JobID: job.ID, PaymentID: pay.PaymentID, Amount: 4900, Currency: "eur"})
		wantCode(t, err, apperr.Unprocessable)
		_, err = w.ConfirmPayment.Handle(ctx, commands.ConfirmListingPayment{Caller: stripeCaller, JobID: job.ID, PaymentID: pay.PaymentID, Amount: 9900, Currency: "usd"})
		wantCode(t, err, apperr.Unprocessable)
		_, err = w.ConfirmPayment.Handle(ctx, commands.ConfirmListingPayment{Caller: stripeCaller, JobID: job.ID, PaymentID: pay.PaymentID, PaymentIntentID: "pi_other", Amount: 9900, Currency: "eur"})
		wantCode(t, err, apperr.Unprocessable)
		if n := w.countEvents(t, domain.EventListingPaid, job.ID); n != 0 {
			t.Fatalf("%d listing_paid events", n)
		}
	})
	t.Run("an unknown payment is not found", func(t *testing.T) {
		_, err := w.ConfirmPayment.Handle(ctx, commands.ConfirmListingPayment{Caller: stripeCaller, JobID: job.ID, PaymentID: "nope", Amount: 9900, Currency: "eur"})
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("a failure, then the success, then duplicates of both change the job once each", func(t *testing.T) {
		fail := commands.FailListingPayment{Caller: stripeCaller, JobID: job.ID, PaymentID: pay.PaymentID, Reason: "card_declined"}
		if res, err := w.FailPayment.Handle(ctx, fail); err != nil || res.Version != 4 {
			t.Fatalf("FailListingPayment = %+v, %v", res, err)
		}
		confirm := commands.ConfirmListingPayment{Caller: stripeCaller, JobID: job.ID, PaymentID: pay.PaymentID, PaymentIntentID: pay.PaymentIntentID,
			Amount: 9900, Currency: "eur", PaidAt: w.clock.Now()}
		for i := range 3 {
			res, err := w.ConfirmPayment.Handle(ctx, confirm)
			if err != nil || res.Version != 6 {
				t.Fatalf("confirmation %d = %+v, %v", i+1, res, err)
			}
			if res, err := w.FailPayment.Handle(ctx, fail); err != nil || res.Version != 6 {
				t.Fatalf("late failure %d = %+v, %v", i+1, res, err)
			}
		}
		if paid, published := w.countEvents(t, domain.EventListingPaid, job.ID), w.countEvents(t, domain.EventJobPublished, job.ID); paid != 1 || published != 1 {
			t.Fatalf("%d listing_paid, %d job_published events, want 1 each", paid, published)
		}
		if expiresAt, scheduled := w.store.Scheduled(job.ID); !scheduled ||
			!expiresAt.Equal(w.clock.Now().Add(30*24*time.Hour)) {
			t.Fatalf("scheduled expiry %v, %v", expiresAt, scheduled)
		}
	})
	t.Run("a published job of another company is forbidden to act on", func(t *testing.T) {
		_, err := w.CloseJob.Handle(ctx, commands.CloseJob{Caller: employer(other), JobID: job.ID})
		wantCode(t, err, apperr.Forbidden)
	})
	t.Run("a published job cannot be paid for again", func(t *testing.T) {
		_, err := w.PayForListing.Handle(ctx, commands.PayForListing{Caller: employer(company), JobID: job.ID, Plan: "standard"})
		wantCode(t, err, apperr.Conflict)
	})
	t.Run("closing unschedules the expiry; closing again is a no-op", func(t *testing.T) {
		res, err := w.CloseJob.Handle(ctx, commands.CloseJob{Caller: employer(company), JobID: job.ID, ExpectedVersion: ptr(int64(6))})
		if err != nil || res.Version != 7 {
			t.Fatalf("CloseJob = %+v, %v", res, err)
		}
		again, err := w.CloseJob.Handle(ctx, commands.CloseJob{Caller: employer(company), JobID: job.ID})
		if err != nil || again.Version != 7 {
			t.Fatalf("CloseJob again = %+v, %v", again, err)
		}
		if _, scheduled := w.store.Scheduled(job.ID); scheduled {
			t.Fatal("closed job is still scheduled")
		}
		_, err = w.UpdateJob.Handle(ctx, commands.UpdateJob{Caller: employer(company), JobID: job.ID, Patch: domain.JobDetailsPatch{Title: ptr("Closed")}})
		wantCode(t, err, apperr.Conflict)
	})
	t.Run("paying for a closed job renews it", func(t *testing.T) {
		renew, err := w.PayForListing.Handle(ctx, commands.PayForListing{Caller: employer(company), JobID: job.ID, Plan: "standard"})
		if err != nil || renew.Version != 8 || renew.Amount != 4900 {
			t.Fatalf("renewal = %+v, %v", renew, err)
		}
		res, err := w.ConfirmPayment.Handle(ctx, commands.ConfirmListingPayment{Caller: stripeCaller, JobID: job.ID, PaymentID: renew.PaymentID, Amount: 4900, Currency: "EUR"})
		if err != nil || res.Version != 10 {
			t.Fatalf("confirm renewal = %+v, %v", res, err)
		}
	})
}

func TestPayForListingWithIdempotencyKeyIsOnePayment(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := ctxFor(t)
	company := w.MustRegisterCompany(t, "acme@example.com").ID
	job := w.MustPostJob(t, company)
	caller := employer(company)
	caller.IdempotencyKey = "pay-once"
	first, err := w.PayForListing.Handle(ctx, commands.PayForListing{Caller: caller, JobID: job.ID, Plan: "standard"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.PayForListing.Handle(ctx, commands.PayForListing{Caller: caller, JobID: job.ID, Plan: "standard"})
	if err != nil || again.PaymentID != first.PaymentID || again.Version != first.Version {
		t.Fatalf("retry = %+v, %v; first %+v", again, err, first)
	}
	if n := w.countEvents(t, domain.EventListingPaymentRequested, job.ID); n != 1 {
		t.Fatalf("%d payment requests, want 1", n)
	}
}

// TestConcurrentUnpinnedWritesAreRetried races updates without If-Match on one job: every
// one is retried until it lands, none is lost.
func TestConcurrentUnpinnedWritesAreRetried(t *testing.T) {
	t.Parallel()
	const writers = 8
	w := newWorld(t)
	ctx := ctxFor(t)
	company := w.MustRegisterCompany(t, "acme@example.com").ID
	job := w.MustPostJob(t, company)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := w.UpdateJob.Handle(ctx, commands.UpdateJob{Caller: employer(company), JobID: job.ID,
				Patch: domain.JobDetailsPatch{Title: ptr(fmt.Sprintf("Go Engineer no. %d", i))}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("update: %v", err)
		}
	}
	if n := w.countEvents(t, domain.EventJobDetailsChanged, job.ID); n != writers {
		t.Fatalf("%d details changes, want %d", n, writers)
	}
}

func TestNewHandlersRefuseNilDependencies(t *testing.T) {
	t.Parallel()
	var nilClock commands.Clock
	ids := commands.IDGenerator(commands.NewUUIDv7)
	clock := commands.Clock(time.Now)
	checks := map[string]error{}
	_, checks["RegisterCompany"] = commands.NewRegisterCompanyHandler(nil, clock, ids)
	_, checks["RegisterCandidate"] = commands.NewRegisterCandidateHandler(nil, clock, ids)
	_, checks["PostJob"] = commands.NewPostJobHandler(nil, clock, ids)
	_, checks["UpdateJob"] = commands.NewUpdateJobHandler(nil, clock, ids)
	_, checks["PayForListing"] = commands.NewPayForListingHandler(nil, nil, clock, ids, commands.ListingPrices{})
	_, checks["ConfirmListingPayment"] = commands.NewConfirmListingPaymentHandler(nil, nil, clock, ids, nil)
	_, checks["FailListingPayment"] = commands.NewFailListingPaymentHandler(nil, clock, ids)
	_, checks["CloseJob"] = commands.NewCloseJobHandler(nil, clock, ids)
	_, checks["ExpireJob"] = commands.NewExpireJobHandler(nil, nilClock, ids)
	_, checks["Apply"] = commands.NewApplyHandler(nil, clock, ids)
	_, checks["WithdrawApplication"] = commands.NewWithdrawApplicationHandler(nil, clock, ids)
	_, checks["ChangeApplicationStatus"] = commands.NewChangeApplicationStatusHandler(nil, clock, ids)
	_, checks["ExpiryScheduler"] = commands.NewExpiryScheduler(nil, nil, clock, commands.ExpirySchedulerConfig{})
	for name, err := range checks {
		if err == nil {
			t.Errorf("New%sHandler accepted nil dependencies", name)
		}
	}
}
