package application

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jobboard/jobboard/commands"
)

// Application is everything a front door can ask of jobboard. A nil group is not offered
// (a process that serves only health checks has none); within a group every handler is set.
type Application struct {
	Commands *Commands
	Queries  *Queries
	Admin    *Admin
	Tokens   *Tokens
	// Idempotency keeps the answers of requests sent with an idempotency key, so a repeat
	// gets the first answer and runs nothing.
	Idempotency IdempotencyStore
}

// Commands are the use cases that change state: commands/' handlers.
type Commands struct {
	RegisterCompany         Handler[commands.RegisterCompany, commands.RegistrationResult]
	RegisterCandidate       Handler[commands.RegisterCandidate, commands.RegistrationResult]
	PostJob                 Handler[commands.PostJob, commands.Result]
	UpdateJob               Handler[commands.UpdateJob, commands.Result]
	PayForListing           Handler[commands.PayForListing, commands.PaymentResult]
	CloseJob                Handler[commands.CloseJob, commands.Result]
	Apply                   Handler[commands.Apply, commands.Result]
	WithdrawApplication     Handler[commands.WithdrawApplication, commands.Result]
	ChangeApplicationStatus Handler[commands.ChangeApplicationStatus, commands.Result]
	ConfirmListingPayment   Handler[commands.ConfirmListingPayment, commands.Result]
	FailListingPayment      Handler[commands.FailListingPayment, commands.Result]
	RotateToken             Handler[commands.RotateToken, commands.RotatedToken]
	// RequestSignInLink and UseSignInLink are the web's passwordless sign-in.
	RequestSignInLink   Handler[commands.RequestSignInLink, commands.SignInLinkRequested]
	UseSignInLink       Handler[commands.UseSignInLink, commands.Result]
	CreateAlert         Handler[commands.CreateAlert, commands.Result]
	DeleteAlert         Handler[commands.DeleteAlert, commands.Result]
	SetEmailPreferences Handler[commands.SetEmailPreferences, commands.Result]
}

// CommandsConfig is what the command handlers are built from.
type CommandsConfig struct {
	Store   commands.EventStore
	Gateway commands.PaymentGateway
	Clock   commands.Clock
	IDs     commands.IDGenerator
	Prices  commands.ListingPrices
	Logger  *slog.Logger
	// Accounts finds accounts by e-mail address (sign-in links).
	Accounts commands.AccountLookup
	// SignInLinkTTL is how long a sign-in link works; 0 is commands.DefaultSignInLinkTTL.
	SignInLinkTTL time.Duration
	// Alerts counts a candidate's live alerts (the cap of CreateAlert).
	Alerts commands.AlertCounter
}

// NewCommands builds every command handler.
func NewCommands(c CommandsConfig) (*Commands, error) {
	var errs []error
	must := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var out Commands
	var err error
	out.RegisterCompany, err = commands.NewRegisterCompanyHandler(c.Store, c.Clock, c.IDs)
	must(err)
	out.RegisterCandidate, err = commands.NewRegisterCandidateHandler(c.Store, c.Clock, c.IDs)
	must(err)
	out.PostJob, err = commands.NewPostJobHandler(c.Store, c.Clock, c.IDs)
	must(err)
	out.UpdateJob, err = commands.NewUpdateJobHandler(c.Store, c.Clock, c.IDs)
	must(err)
	out.PayForListing, err = commands.NewPayForListingHandler(c.Store, c.Gateway, c.Clock, c.IDs, c.Prices)
	must(err)
	out.CloseJob, err = commands.NewCloseJobHandler(c.Store, c.Clock, c.IDs)
	must(err)
	out.Apply, err = commands.NewApplyHandler(c.Store, c.Clock, c.IDs)
	must(err)
	out.WithdrawApplication, err = commands.NewWithdrawApplicationHandler(c.Store, c.Clock, c.IDs)
	must(err)
	out.ChangeApplicationStatus, err = commands.NewChangeApplicationStatusHandler(c.Store, c.Clock, c.IDs)
	must(err)
	out.ConfirmListingPayment, err = commands.NewConfirmListingPaymentHandler(c.Store, c.Gateway, c.Clock, c.IDs, c.Logger)
	must(err)
	out.FailListingPayment, err = commands.NewFailListingPaymentHandler(c.Store, c.Clock, c.IDs)
	must(err)
	out.RotateToken, err = commands.NewRotateTokenHandler(c.Store, c.Clock, c.IDs)
	must(err)
	out.RequestSignInLink, err = commands.NewRequestSignInLinkHandler(c.Store, c.Accounts, c.Clock, c.IDs, c.SignInLinkTTL)
	must(err)
	out.UseSignInLink, err = commands.NewUseSignInLinkHandler(c.Store, c.Clock, c.IDs)
	must(err)
	out.CreateAlert, err = commands.NewCreateAlertHandler(c.Store, c.Clock, c.IDs, c.Alerts)
	must(err)
	out.DeleteAlert, err = commands.NewDeleteAlertHandler(c.Store, c.Clock, c.IDs)
	must(err)
	out.SetEmailPreferences, err = commands.NewSetEmailPreferencesHandler(c.Store, c.Clock, c.IDs)
	must(err)
	if len(errs) > 0 {
		return nil, fmt.Errorf("command handlers: %w", errors.Join(errs...))
	}
	return &out, nil
}

// Decorate wraps every handler of a in the logging, metrics and tracing-context decorators,
// once, registering the metrics on reg. Call it on an Application built from real handlers
// before handing it to a front door.
func Decorate(a Application, reg prometheus.Registerer, log *slog.Logger) (Application, error) {
	if reg == nil || log == nil {
		return Application{}, errors.New("application: Decorate needs a registry and a logger")
	}
	m, err := newMetrics(reg)
	if err != nil {
		return Application{}, err
	}
	d := decorators{log: log, metrics: m}
	if c := a.Commands; c != nil {
		a.Commands = &Commands{
			RegisterCompany:         command(d, "RegisterCompany", c.RegisterCompany),
			RegisterCandidate:       command(d, "RegisterCandidate", c.RegisterCandidate),
			PostJob:                 command(d, "PostJob", c.PostJob),
			UpdateJob:               command(d, "UpdateJob", c.UpdateJob),
			PayForListing:           command(d, "PayForListing", c.PayForListing),
			CloseJob:                command(d, "CloseJob", c.CloseJob),
			Apply:                   command(d, "Apply", c.Apply),
			WithdrawApplication:     command(d, "WithdrawApplication", c.WithdrawApplication),
			ChangeApplicationStatus: command(d, "ChangeApplicationStatus", c.ChangeApplicationStatus),
			ConfirmListingPayment:   command(d, "ConfirmListingPayment", c.ConfirmListingPayment),
			FailListingPayment:      command(d, "FailListingPayment", c.FailListingPayment),
			RotateToken:             command(d, "RotateToken", c.RotateToken),
			RequestSignInLink:       command(d, "RequestSignInLink", c.RequestSignInLink),
			UseSignInLink:           command(d, "UseSignInLink", c.UseSignInLink),
			CreateAlert:             command(d, "CreateAlert", c.CreateAlert),
			DeleteAlert:             command(d, "DeleteAlert", c.DeleteAlert),
			SetEmailPreferences:     command(d, "SetEmailPreferences", c.SetEmailPreferences),
		}
	}
	if q := a.Queries; q != nil {
		a.Queries = &Queries{
			WaitFor:               query(d, "WaitFor", q.WaitFor),
			SearchJobs:            query(d, "SearchJobs", q.SearchJobs),
			Job:                   query(d, "Job", q.Job),
			Company:               query(d, "Company", q.Company),
			CompanyJobs:           query(d, "CompanyJobs", q.CompanyJobs),
			JobApplications:       query(d, "JobApplications", q.JobApplications),
			CandidateApplications: query(d, "CandidateApplications", q.CandidateApplications),
			CandidateAlerts:       query(d, "CandidateAlerts", q.CandidateAlerts),
			Alert:                 query(d, "Alert", q.Alert),
			EmailPreferences:      query(d, "EmailPreferences", q.EmailPreferences),
		}
	}
	if ad := a.Admin; ad != nil {
		a.Admin = &Admin{
			Projections:  query(d, "Projections", ad.Projections),
			StartRebuild: command(d, "StartRebuild", ad.StartRebuild),
			Rebuild:      query(d, "Rebuild", ad.Rebuild),
			Stream:       query(d, "Stream", ad.Stream),
			Events:       query(d, "Events", ad.Events),

			DeadLetters:       query(d, "DeadLetters", ad.DeadLetters),
			DeadLetter:        query(d, "DeadLetter", ad.DeadLetter),
			ReplayDeadLetters: command(d, "ReplayDeadLetters", ad.ReplayDeadLetters),
		}
	}
	if t := a.Tokens; t != nil {
		a.Tokens = &Tokens{
			Authenticate: query(d, "Authenticate", t.Authenticate),
			Describe:     query(d, "DescribeToken", t.Describe),
		}
	}
	return a, nil
}
