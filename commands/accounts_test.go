package commands_test

import (
	"strings"
	"testing"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

func TestRegisterCandidate(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := ctxFor(t)
	res := w.MustRegisterCandidate(t, "ada@example.com")
	if !strings.HasPrefix(res.Token, commands.CandidateTokenPrefix) {
		t.Fatalf("token %q", res.Token)
	}
	role, subject, found, err := w.creds.Lookup(ctx, res.Token)
	if err != nil || !found || role != commands.RoleCandidate || subject != res.ID {
		t.Fatalf("Lookup = %q %q %v %v", role, subject, found, err)
	}
	_, err = w.RegisterCandidate.Handle(ctx, commands.RegisterCandidate{Input: domain.CandidateInput{Name: "Ada", Email: "ADA@example.com"}})
	wantCode(t, err, apperr.Conflict)
	// A company may use the address a candidate uses: the scopes differ.
	w.MustRegisterCompany(t, "ada@example.com")
}
