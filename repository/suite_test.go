package repository_test

import (
	"testing"

	"github.com/jobboard/jobboard/commands/eventstoretest"
	"github.com/jobboard/jobboard/repository"
)

func TestPostgreSQLStorePassesTheEventStoreSuite(t *testing.T) {
	t.Parallel()
	eventstoretest.Run(t, func(t *testing.T) eventstoretest.Harness {
		s, pool := newStore(t)
		creds, err := repository.NewCredentials(pool)
		if err != nil {
			t.Fatal(err)
		}
		return eventstoretest.Harness{Store: s, Due: s, Lookup: creds.Lookup}
	})
}
