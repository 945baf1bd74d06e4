package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jobboard/jobboard/api"
	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/internal/apperr"
	"github.com/jobboard/jobboard/payments"
	"github.com/jobboard/jobboard/repository"
)

// commandPort implements api.Commands on top of the command handlers: it only translates
// the API's parameters into commands and back.
type commandPort struct {
	registerCompany         *commands.RegisterCompanyHandler
	registerCandidate       *commands.RegisterCandidateHandler
	postJob                 *commands.PostJobHandler
	updateJob               *commands.UpdateJobHandler
	payForListing           *commands.PayForListingHandler
	closeJob                *commands.CloseJobHandler
	apply                   *commands.ApplyHandler
	withdrawApplication     *commands.WithdrawApplicationHandler
	changeApplicationStatus *commands.ChangeApplicationStatusHandler
	confirmListingPayment   *commands.ConfirmListingPaymentHandler
	failListingPayment      *commands.FailListingPaymentHandler
	rotateToken             *commands.RotateTokenHandler
}

var _ api.Commands = (*commandPort)(nil)

// commandDeps is what the handlers are built from.
type commandDeps struct {
	store   commands.EventStore
	gateway commands.PaymentGateway
	clock   commands.Clock
	ids     commands.IDGenerator
	prices  commands.ListingPrices
	log     *slog.Logger
}

func newCommandPort(d commandDeps) (*commandPort, error) {
	var (
		p    commandPort
		errs []error
	)
	must := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	p.registerCompany, err = commands.NewRegisterCompanyHandler(d.store, d.clock, d.ids)
	must(err)
	p.registerCandidate, err = commands.NewRegisterCandidateHandler(d.store, d.clock, d.ids)
	must(err)
	p.postJob, err = commands.NewPostJobHandler(d.store, d.clock, d.ids)
	must(err)
	p.updateJob, err = commands.NewUpdateJobHandler(d.store, d.clock, d.ids)
	must(err)
	p.payForListing, err = commands.NewPayForListingHandler(d.store, d.gateway, d.clock, d.ids, d.prices)
	must(err)
	p.closeJob, err = commands.NewCloseJobHandler(d.store, d.clock, d.ids)
	must(err)
	p.apply, err = commands.NewApplyHandler(d.store, d.clock, d.ids)
	must(err)
	p.withdrawApplication, err = commands.NewWithdrawApplicationHandler(d.store, d.clock, d.ids)
	must(err)
	p.changeApplicationStatus, err = commands.NewChangeApplicationStatusHandler(d.store, d.clock, d.ids)
	must(err)
	p.confirmListingPayment, err = commands.NewConfirmListingPaymentHandler(d.store, d.gateway, d.clock, d.ids, d.log)
	must(err)
	p.failListingPayment, err = commands.NewFailListingPaymentHandler(d.store, d.clock, d.ids)
	must(err)
	p.rotateToken, err = commands.NewRotateTokenHandler(d.store, d.clock, d.ids)
	must(err)
	if len(errs) > 0 {
		return nil, fmt.Errorf("command handlers: %v", errs)
	}
	return &p, nil
}

// caller turns the API's metadata into the commands' caller.
func caller(m api.CommandMeta) commands.Caller {
	c := commands.Caller{CorrelationID: m.CorrelationID, CausationID: m.CausationID, IdempotencyKey: m.IdempotencyKey}
	switch {
	case m.Principal.Role != "":
		c.Actor = commands.Actor{Role: commands.Role(m.Principal.Role), ID: m.Principal.ID}
	case m.System != "":
		c.Actor = commands.Actor{Role: commands.RoleSystem, ID: m.System}
	default:
		c.Actor = commands.Actor{Role: commands.RoleAnonymous}
	}
	return c
}

// ifMatch is the API's expected version (0: none) as the commands want it (nil: none).
func ifMatch(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func result(r commands.Result) api.CommandResult {
	return api.CommandResult{ID: r.ID, Version: r.Version}
}

func (p *commandPort) RegisterCompany(ctx context.Context, in api.RegisterCompanyParams) (api.RegisteredAccount, error) {
	r, err := p.registerCompany.Handle(ctx, commands.RegisterCompany{Caller: caller(in.Meta), Input: in.Input})
	return api.RegisteredAccount{CommandResult: result(r.Result), Token: r.Token}, err
}

func (p *commandPort) RegisterCandidate(ctx context.Context, in api.RegisterCandidateParams) (api.RegisteredAccount, error) {
	r, err := p.registerCandidate.Handle(ctx, commands.RegisterCandidate{Caller: caller(in.Meta), Input: in.Input})
	return api.RegisteredAccount{CommandResult: result(r.Result), Token: r.Token}, err
}

func (p *commandPort) PostJob(ctx context.Context, in api.PostJobParams) (api.CommandResult, error) {
	r, err := p.postJob.Handle(ctx, commands.PostJob{Caller: caller(in.Meta), Details: in.Details})
	return result(r), err
}

func (p *commandPort) UpdateJob(ctx context.Context, in api.UpdateJobParams) (api.CommandResult, error) {
	r, err := p.updateJob.Handle(ctx, commands.UpdateJob{Caller: caller(in.Meta), JobID: in.JobID, Patch: in.Patch, ExpectedVersion: ifMatch(in.ExpectedVersion)})
	return result(r), err
}

func (p *commandPort) PayForListing(ctx context.Context, in api.PayForListingParams) (api.ListingPaymentStarted, error) {
	r, err := p.payForListing.Handle(ctx, commands.PayForListing{Caller: caller(in.Meta), JobID: in.JobID, Plan: in.Plan, ExpectedVersion: ifMatch(in.ExpectedVersion)})
	return api.ListingPaymentStarted{
		CommandResult: result(r.Result), Created: r.Created, PaymentID: r.PaymentID, PaymentIntentID: r.PaymentIntentID,
		ClientSecret: r.ClientSecret, Amount: r.Amount, Currency: r.Currency, Status: r.Status,
	}, err
}

func (p *commandPort) CloseJob(ctx context.Context, in api.CloseJobParams) (api.CommandResult, error) {
	r, err := p.closeJob.Handle(ctx, commands.CloseJob{Caller: caller(in.Meta), JobID: in.JobID, ExpectedVersion: ifMatch(in.ExpectedVersion)})
	return result(r), err
}

func (p *commandPort) Apply(ctx context.Context, in api.ApplyParams) (api.CommandResult, error) {
	r, err := p.apply.Handle(ctx, commands.Apply{Caller: caller(in.Meta), JobID: in.JobID, ResumeURL: in.ResumeURL, CoverLetter: in.CoverLetter})
	return result(r), err
}

func (p *commandPort) WithdrawApplication(ctx context.Context, in api.WithdrawApplicationParams) (api.CommandResult, error) {
	r, err := p.withdrawApplication.Handle(ctx, commands.WithdrawApplication{Caller: caller(in.Meta), ApplicationID: in.ApplicationID, ExpectedVersion: ifMatch(in.ExpectedVersion)})
	return result(r), err
}

func (p *commandPort) ChangeApplicationStatus(ctx context.Context, in api.ChangeApplicationStatusParams) (api.CommandResult, error) {
	r, err := p.changeApplicationStatus.Handle(ctx, commands.ChangeApplicationStatus{Caller: caller(in.Meta), ApplicationID: in.ApplicationID, Status: in.Status, ExpectedVersion: ifMatch(in.ExpectedVersion)})
	return result(r), err
}

func (p *commandPort) ConfirmListingPayment(ctx context.Context, in api.ConfirmListingPaymentParams) (api.CommandResult, error) {
	r, err := p.confirmListingPayment.Handle(ctx, commands.ConfirmListingPayment{
		Caller: caller(in.Meta), JobID: in.JobID, PaymentID: in.PaymentID, PaymentIntentID: in.PaymentIntentID,
		Amount: in.Amount, Currency: in.Currency, PaidAt: in.PaidAt,
	})
	return result(r), err
}

func (p *commandPort) FailListingPayment(ctx context.Context, in api.FailListingPaymentParams) (api.CommandResult, error) {
	r, err := p.failListingPayment.Handle(ctx, commands.FailListingPayment{
		Caller: caller(in.Meta), JobID: in.JobID, PaymentID: in.PaymentID, Reason: in.Reason, FailedAt: in.FailedAt,
	})
	return result(r), err
}

func (p *commandPort) RotateToken(ctx context.Context, in api.RotateTokenParams) (api.RotatedToken, error) {
	r, err := p.rotateToken.Handle(ctx, commands.RotateToken{Caller: caller(in.Meta)})
	return api.RotatedToken{CommandResult: result(r.Result), Token: r.Token}, err
}

// credentialPort implements api.Credentials over the stored token hashes.
type credentialPort struct{ lookup *repository.Credentials }

func (c credentialPort) Authenticate(ctx context.Context, token string) (api.Principal, error) {
	role, id, found, err := c.lookup.Lookup(ctx, token)
	if err != nil {
		return api.Principal{}, apperr.Wrap(apperr.Unavailable, err, "the credentials could not be checked; retry")
	}
	if !found {
		return api.Principal{}, apperr.New(apperr.Unauthorized, "unknown bearer token")
	}
	switch role {
	case commands.RoleEmployer:
		return api.Principal{Role: api.RoleEmployer, ID: id}, nil
	case commands.RoleCandidate:
		return api.Principal{Role: api.RoleCandidate, ID: id}, nil
	default:
		return api.Principal{}, apperr.New(apperr.Unauthorized, "unknown bearer token")
	}
}

func (c credentialPort) Describe(ctx context.Context, token string) (api.TokenInfo, error) {
	info, found, err := c.lookup.Describe(ctx, token)
	if err != nil {
		return api.TokenInfo{}, apperr.Wrap(apperr.Unavailable, err, "the credentials could not be read; retry")
	}
	if !found {
		return api.TokenInfo{}, apperr.New(apperr.Unauthorized, "unknown bearer token")
	}
	return api.TokenInfo{Role: api.Role(info.Role), SubjectID: info.SubjectID, CreatedAt: info.CreatedAt, LastUsedAt: info.LastUsedAt}, nil
}

// idempotencyCleanupEvery is how often serve deletes expired Idempotency-Keys.
const idempotencyCleanupEvery = 10 * time.Minute

// wireCommands builds the write side the API drives — the event store with every domain
// event registered, the repository, the Stripe gateway, the handlers, the credentials
// lookup and the Idempotency-Key store — into cfg, and starts the cleanup of expired
// idempotency keys.
func (m *Main) wireCommands(ctx context.Context, cfg *api.ServerConfig) error {
	store, repo := m.store, m.repo
	gateway, err := payments.NewStripeGateway(payments.StripeConfig{
		SecretKey: m.cfg.StripeSecretKey, APIBase: m.cfg.StripeAPIBase, Logger: m.log,
	})
	if err != nil {
		return err
	}
	prices, err := m.cfg.listingPrices()
	if err != nil {
		return err
	}
	port, err := newCommandPort(commandDeps{store: repo, gateway: gateway, clock: time.Now, ids: commands.NewUUIDv7, prices: prices, log: m.log})
	if err != nil {
		return err
	}
	creds, err := repository.NewCredentials(m.pool)
	if err != nil {
		return err
	}
	idem, err := api.NewIdempotencyStore(m.pool, api.IdempotencyConfig{})
	if err != nil {
		return err
	}
	cfg.Commands = port
	cfg.Credentials = credentialPort{lookup: creds}
	cfg.Events = store
	cfg.Idempotency = idem
	cfg.SigningKey = []byte(m.cfg.SigningKey)
	cfg.StripeWebhookSecret = m.cfg.StripeWebhookSecret
	cfg.RegistrationRateLimit = m.cfg.RegistrationRateLimit
	cfg.ApplicationRateLimit = m.cfg.ApplicationRateLimit
	cfg.EmployerRateLimit = m.cfg.EmployerRateLimit
	cfg.TrustForwardedFor = m.cfg.TrustForwardedFor
	m.workers.start(ctx, "idempotency-cleanup", func(ctx context.Context) error {
		t := time.NewTicker(idempotencyCleanupEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				if n, err := idem.DeleteExpired(ctx); err != nil {
					m.log.Warn("delete expired idempotency keys", "error", err)
				} else if n > 0 {
					m.log.Info("deleted expired idempotency keys", "count", n)
				}
			}
		}
	})
	return nil
}
