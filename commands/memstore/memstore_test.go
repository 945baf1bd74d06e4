package memstore_test

import (
	"testing"

	"github.com/jobboard/jobboard/commands/eventstoretest"
	"github.com/jobboard/jobboard/commands/memstore"
)

func TestMemoryStorePassesTheEventStoreSuite(t *testing.T) {
	t.Parallel()
	eventstoretest.Run(t, func(*testing.T) eventstoretest.Harness {
		s := memstore.New()
		return eventstoretest.Harness{Store: s, Due: s, Lookup: s.Lookup}
	})
}
