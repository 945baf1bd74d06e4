package app

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jobboard/jobboard/api"
	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/idempotency"
	"github.com/jobboard/jobboard/payments"
	"github.com/jobboard/jobboard/projections"
	"github.com/jobboard/jobboard/readmodels"
	"github.com/jobboard/jobboard/repository"
)

// idempotencyCleanupEvery is how often serve deletes expired Idempotency-Keys.
const idempotencyCleanupEvery = 10 * time.Minute

// wireAPI builds the Application the API role serves — the command handlers over the
// repository and the Stripe gateway, the queries over a readmodels.Store, the operators'
// handlers over projections/ and the event store, the token lookups and the Idempotency-Key
// store — decorates it once (logs, metrics on reg) and puts it with the API's own settings
// into cfg. It starts the workers the API needs: the listener of the projectors'
// notifications that wake consistency waits and the cleanup of expired idempotency keys.
func (m *Main) wireAPI(ctx context.Context, cfg *api.ServerConfig, reg prometheus.Registerer) error {
	cmds, err := m.newCommands()
	if err != nil {
		return err
	}
	rm, err := readmodels.NewStore(m.pool, m.es, readmodels.StoreConfig{
		SearchAlias:      m.cfg.SearchAlias(),
		SearchTimeout:    m.cfg.SearchTimeout,
		FacetsMaxAge:     m.cfg.SearchFacetsMaxAge,
		WaitPollInterval: m.cfg.ConsistencyPollInterval,
		MaxWaiters:       m.cfg.ConsistencyMaxWaiters,
		ReadPool:         m.readPool,
		Logger:           m.log,
	})
	if err != nil {
		return err
	}
	queries, err := application.NewQueries(rm)
	if err != nil {
		return err
	}
	admin, err := m.newAdmin()
	if err != nil {
		return err
	}
	creds, err := repository.NewCredentials(m.pool)
	if err != nil {
		return err
	}
	tokens, err := application.NewTokens(creds)
	if err != nil {
		return err
	}
	idem, err := idempotency.NewStore(m.pool, idempotency.Config{})
	if err != nil {
		return err
	}
	cfg.App, err = application.Decorate(application.Application{
		Commands: cmds, Queries: queries, Admin: admin, Tokens: tokens, Idempotency: idem,
	}, reg, m.log)
	if err != nil {
		return err
	}
	cfg.SigningKey = []byte(m.cfg.SigningKey)
	cfg.StripeWebhookSecret = m.cfg.StripeWebhookSecret
	cfg.ConsistencyTimeout = m.cfg.ConsistencyTimeout
	cfg.RegistrationRateLimit = m.cfg.RegistrationRateLimit
	cfg.ApplicationRateLimit = m.cfg.ApplicationRateLimit
	cfg.EmployerRateLimit = m.cfg.EmployerRateLimit
	cfg.SearchRateLimit = m.cfg.SearchRateLimit
	cfg.TrustForwardedFor = m.cfg.TrustForwardedFor

	// The read model store shares the pool and the Elasticsearch client; its one goroutine
	// listens, on a connection of its own, for the projectors' notifications.
	m.workers.start(ctx, "consistency-listener", rm.ListenApplied)
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

// newCommands builds the command handlers on the program's event store and the Stripe
// gateway.
func (m *Main) newCommands() (*application.Commands, error) {
	gateway, err := payments.NewStripeGateway(payments.StripeConfig{
		SecretKey: m.cfg.StripeSecretKey, APIBase: m.cfg.StripeAPIBase, Logger: m.log,
	})
	if err != nil {
		return nil, err
	}
	prices, err := m.cfg.listingPrices()
	if err != nil {
		return nil, err
	}
	// The cap on alerts per candidate counts in the alerts projection, on the primary.
	alerts, err := readmodels.NewStore(m.pool, m.es, readmodels.StoreConfig{SearchAlias: m.cfg.SearchAlias(), Logger: m.log})
	if err != nil {
		return nil, err
	}
	return application.NewCommands(application.CommandsConfig{
		Store: m.repo, Gateway: gateway, Clock: time.Now, IDs: commands.NewUUIDv7, Prices: prices, Logger: m.log,
		Accounts: m.repo,
		Alerts:   alerts,
	})
}

// newAdmin builds the operators' handlers with a Rebuilder of their own. A rebuild started
// through the API runs in this process, owned by the Rebuilder; Close cancels it (version N
// keeps serving, N+1 is dropped), so an operator restarts it elsewhere.
func (m *Main) newAdmin() (*application.Admin, error) {
	rb, err := m.NewRebuilder(projections.RebuilderConfig{})
	if err != nil {
		return nil, err
	}
	closing := &atomic.Bool{}
	m.closers = append(m.closers, func() error {
		closing.Store(true)
		return rb.Close()
	})
	return application.NewAdmin(application.AdminConfig{Pool: m.pool, Events: m.store, Rebuilder: rb, Closing: closing, LiveProjector: m.LiveProjector})
}
