package app

import (
	"time"

	"github.com/jobboard/jobboard/api"
	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/payments"
)

// CommandPort is a command port on the running program's event store, for tests of the
// commands an operator may run that no route offers yet (ConfirmListingPayment).
func (m *Main) CommandPort() (api.Commands, error) {
	gateway, err := payments.NewStripeGateway(payments.StripeConfig{SecretKey: m.cfg.StripeSecretKey, APIBase: m.cfg.StripeAPIBase, Logger: m.log})
	if err != nil {
		return nil, err
	}
	prices, err := m.cfg.listingPrices()
	if err != nil {
		return nil, err
	}
	return newCommandPort(commandDeps{store: m.repo, gateway: gateway, clock: time.Now, ids: commands.NewUUIDv7, prices: prices, log: m.log})
}
