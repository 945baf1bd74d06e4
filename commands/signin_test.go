package commands_test

import (
	"sync"
	"testing"
	"time"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

func signInHandlers(t *testing.T, w *world) (*commands.RequestSignInLinkHandler, *commands.UseSignInLinkHandler) {
	t.Helper()
	req, err := commands.NewRequestSignInLinkHandler(w.store, w.store, w.clock.Now, commands.NewUUIDv7, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	use, err := commands.NewUseSignInLinkHandler(w.store, w.clock.Now, commands.NewUUIDv7)
	if err != nil {
		t.Fatal(err)
	}
	return req, use
}

func TestSignInLinks(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	w := newWorld(t)
	req, use := signInHandlers(t, w)
	company := w.MustRegisterCompany(t, "jobs@acme.example")
	anon := commands.Caller{Actor: commands.Actor{Role: commands.RoleAnonymous}}

	t.Run("an unknown address records nothing and answers like a known one", func(t *testing.T) {
		res, err := req.Handle(ctx, commands.RequestSignInLink{Caller: anon, Role: commands.RoleEmployer, Email: "nobody@acme.example"})
		if err != nil || res.Requested || w.countEvents(t, domain.EventSignInLinkRequested, "") != 0 {
			t.Fatalf("= %+v, %v", res, err)
		}
		// The address of a company is not a candidate's.
		res, err = req.Handle(ctx, commands.RequestSignInLink{Caller: anon, Role: commands.RoleCandidate, Email: "jobs@acme.example"})
		if err != nil || res.Requested {
			t.Fatalf("candidate = %+v, %v", res, err)
		}
	})
	t.Run("an invalid address or role is refused naming the field", func(t *testing.T) {
		_, err := req.Handle(ctx, commands.RequestSignInLink{Caller: anon, Role: commands.RoleEmployer, Email: "nope"})
		wantCode(t, err, apperr.Invalid)
		_, err = req.Handle(ctx, commands.RequestSignInLink{Caller: anon, Role: commands.RoleOperator, Email: "jobs@acme.example"})
		wantCode(t, err, apperr.Invalid)
	})

	res, err := req.Handle(ctx, commands.RequestSignInLink{Caller: anon, Role: commands.RoleEmployer, Email: " JOBS@acme.example "})
	if err != nil || !res.Requested || res.AccountID != company.ID || !res.ExpiresAt.Equal(w.clock.Now().Add(10*time.Minute)) {
		t.Fatalf("request = %+v, %v", res, err)
	}
	t.Run("a link of another account is not found", func(t *testing.T) {
		_, err := use.Handle(ctx, commands.UseSignInLink{Caller: anon, LinkID: res.ID, Role: commands.RoleEmployer, AccountID: "someone-else"})
		wantCode(t, err, apperr.NotFound)
		_, err = use.Handle(ctx, commands.UseSignInLink{Caller: anon, LinkID: company.ID, Role: commands.RoleEmployer, AccountID: company.ID})
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("a link works once, even when used twice at the same time", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = use.Handle(ctx, commands.UseSignInLink{Caller: anon, LinkID: res.ID, Role: commands.RoleEmployer, AccountID: company.ID})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				wantCode(t, err, apperr.Conflict)
			}
		}
		if ok != 1 || w.countEvents(t, domain.EventSignInLinkUsed, res.ID) != 1 {
			t.Fatalf("%d uses succeeded, %d recorded", ok, w.countEvents(t, domain.EventSignInLinkUsed, res.ID))
		}
	})
	t.Run("an expired link is refused", func(t *testing.T) {
		again, err := req.Handle(ctx, commands.RequestSignInLink{Caller: anon, Role: commands.RoleEmployer, Email: "jobs@acme.example"})
		if err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(10 * time.Minute)
		_, err = use.Handle(ctx, commands.UseSignInLink{Caller: anon, LinkID: again.ID, Role: commands.RoleEmployer, AccountID: company.ID})
		wantCode(t, err, apperr.Conflict)
	})
}
