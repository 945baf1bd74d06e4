package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRegisterCompany(t *testing.T) {
	t.Parallel()
	t.Run("records the registration, trimmed", func(t *testing.T) {
		t.Parallel()
		c, err := RegisterCompany(testCompanyID, CompanyInput{
			Name: " Acme GmbH ", Email: " Jobs@Acme.example ", Website: "https://acme.example", Description: " We make anvils. ",
		}, t0)
		thenEvents(t, err, nil, c.Changes(), []Event{&CompanyRegistered{
			CompanyID: testCompanyID, Name: "Acme GmbH", Email: "Jobs@Acme.example", Website: "https://acme.example",
			Description: "We make anvils.", RegisteredAt: t0,
		}})
		if c.ID() != testCompanyID || c.Name() != "Acme GmbH" || c.Version() != 1 || c.StreamType() != "company" {
			t.Fatalf("unexpected state %+v", c)
		}
		if CompanyEmailKey(c.Email()) != "jobs@acme.example" {
			t.Fatalf("CompanyEmailKey = %q", CompanyEmailKey(c.Email()))
		}
	})
	t.Run("accepts no website and no description", func(t *testing.T) {
		t.Parallel()
		if _, err := RegisterCompany(testCompanyID, CompanyInput{Name: "A", Email: "a@b.example"}, t0); err != nil {
			t.Fatal(err)
		}
	})
	cases := []struct {
		name   string
		id     string
		in     CompanyInput
		fields []string
	}{
		{"refuses everything wrong at once", "", CompanyInput{Name: " ", Email: "not-an-email", Website: "javascript:alert(1)", Description: strings.Repeat("x", CompanyDescriptionMaxLen+1)}, []string{"id", "name", "email", "website", "description"}},
		{"refuses a missing e-mail", testCompanyID, CompanyInput{Name: "Acme"}, []string{"email"}},
		{"refuses an address with a display name", testCompanyID, CompanyInput{Name: "Acme", Email: "Acme <jobs@acme.example>"}, []string{"email"}},
		{"refuses a single-label e-mail domain", testCompanyID, CompanyInput{Name: "Acme", Email: "jobs@localhost"}, []string{"email"}},
		{"refuses a too long name", testCompanyID, CompanyInput{Name: strings.Repeat("n", NameMaxLen+1), Email: "a@b.example"}, []string{"name"}},
		{"refuses a name with a newline", testCompanyID, CompanyInput{Name: "Ac\nme", Email: "a@b.example"}, []string{"name"}},
		{"refuses a relative website", testCompanyID, CompanyInput{Name: "Acme", Email: "a@b.example", Website: "/about"}, []string{"website"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := RegisterCompany(c.id, c.in, t0)
			if got != nil {
				t.Fatal("refused registration returned a company")
			}
			wantFields(t, err, c.fields...)
		})
	}
}

func TestLoadCompany(t *testing.T) {
	t.Parallel()
	reg := &CompanyRegistered{CompanyID: testCompanyID, Name: "Acme", Email: "a@b.example", Website: "https://acme.example", Description: "d", RegisteredAt: t0}
	c, err := LoadCompany(testCompanyID, []Event{reg})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "Acme" || c.Email() != "a@b.example" || c.Website() != "https://acme.example" || c.Description() != "d" ||
		!c.RegisteredAt().Equal(t0) || c.Version() != 1 || len(c.Changes()) != 0 {
		t.Fatalf("unexpected state %+v", c)
	}
	if _, err := LoadCompany(testCompanyID, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty stream: %v", err)
	}
	if _, err := LoadCompany(testCompanyID, []Event{reg, reg}); !errors.Is(err, ErrUnknownEvent) {
		t.Fatalf("registered twice: %v", err)
	}
}

func TestRegisterCandidate(t *testing.T) {
	t.Parallel()
	t.Run("records the registration", func(t *testing.T) {
		t.Parallel()
		c, err := RegisterCandidate(testCandidateID, CandidateInput{Name: " Ada Lovelace ", Email: "Ada@Example.org"}, t0)
		thenEvents(t, err, nil, c.Changes(), []Event{&CandidateRegistered{CandidateID: testCandidateID, Name: "Ada Lovelace", Email: "Ada@Example.org", RegisteredAt: t0}})
		if CandidateEmailKey(" Ada@Example.org ") != "ada@example.org" || c.StreamType() != "candidate" {
			t.Fatal("unexpected email key or stream type")
		}
		l, err := LoadCandidate(testCandidateID, c.Changes())
		if err != nil || l.Name() != "Ada Lovelace" || l.Email() != "Ada@Example.org" || !l.RegisteredAt().Equal(t0) || l.Version() != 1 {
			t.Fatalf("LoadCandidate = %+v, %v", l, err)
		}
	})
	t.Run("refuses everything wrong at once", func(t *testing.T) {
		t.Parallel()
		_, err := RegisterCandidate("", CandidateInput{Name: "", Email: "ada@"}, t0)
		wantFields(t, err, "id", "name", "email")
	})
	t.Run("refuses loading an empty stream", func(t *testing.T) {
		t.Parallel()
		if _, err := LoadCandidate(testCandidateID, nil); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	})
}

func TestRotateToken(t *testing.T) {
	t.Parallel()
	later := t0.Add(time.Hour)
	t.Run("a company records when its token was replaced", func(t *testing.T) {
		t.Parallel()
		c, err := LoadCompany(testCompanyID, []Event{&CompanyRegistered{CompanyID: testCompanyID, Name: "Acme", Email: "a@b.example", RegisteredAt: t0}})
		if err != nil {
			t.Fatal(err)
		}
		if !c.TokenIssuedAt().Equal(t0) {
			t.Fatalf("token issued at %v, want the registration %v", c.TokenIssuedAt(), t0)
		}
		c.RotateToken(later)
		thenEvents(t, nil, nil, c.Changes(), []Event{&CompanyTokenRotated{CompanyID: testCompanyID, RotatedAt: later}})
		if !c.TokenIssuedAt().Equal(later) || c.Version() != 2 {
			t.Fatalf("after rotation: issued at %v, version %d", c.TokenIssuedAt(), c.Version())
		}
		again, err := LoadCompany(testCompanyID, []Event{&CompanyRegistered{CompanyID: testCompanyID, Name: "Acme", Email: "a@b.example", RegisteredAt: t0},
			&CompanyTokenRotated{CompanyID: testCompanyID, RotatedAt: later}})
		if err != nil || !again.TokenIssuedAt().Equal(later) {
			t.Fatalf("folded rotation: %v, %v", err, again)
		}
	})
	t.Run("a candidate records when its token was replaced", func(t *testing.T) {
		t.Parallel()
		c, err := LoadCandidate(testCandidateID, []Event{&CandidateRegistered{CandidateID: testCandidateID, Name: "Ada", Email: "a@b.example", RegisteredAt: t0}})
		if err != nil {
			t.Fatal(err)
		}
		c.RotateToken(later)
		thenEvents(t, nil, nil, c.Changes(), []Event{&CandidateTokenRotated{CandidateID: testCandidateID, RotatedAt: later}})
		if !c.TokenIssuedAt().Equal(later) {
			t.Fatalf("after rotation: issued at %v", c.TokenIssuedAt())
		}
	})
}
