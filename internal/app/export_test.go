package app

import "github.com/jobboard/jobboard/application"

// Commands are the command handlers on the running program's event store, for tests of the
// commands an operator may run that no route offers yet (ConfirmListingPayment).
func (m *Main) Commands() (*application.Commands, error) { return m.newCommands() }
