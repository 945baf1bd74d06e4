package repository_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

func TestRegisterCompany(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := ctxFor(t)

	t.Run("answers the id, version 1, a token and a consistency token", func(t *testing.T) {
		res, err := w.RegisterCompany.Handle(ctx, commands.RegisterCompany{
			Caller: commands.Caller{CorrelationID: "corr-1", CausationID: "req-1", IdempotencyKey: "idem-1"},
			Input:  domain.CompanyInput{Name: "Acme", Email: "Jobs@Acme.example"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.ID == "" || res.Version != 1 {
			t.Fatalf("result = %+v", res)
		}
		raw, ok := strings.CutPrefix(res.Token, commands.CompanyTokenPrefix)
		if b, err := base64.RawURLEncoding.DecodeString(raw); !ok || err != nil || len(b) < 32 {
			t.Fatalf("token %q is not a prefixed base64url token of 32 bytes", res.Token)
		}
		role, subject, found, err := w.creds.Lookup(ctx, res.Token)
		if err != nil || !found || role != commands.RoleEmployer || subject != res.ID {
			t.Fatalf("Lookup = %q %q %v %v", role, subject, found, err)
		}
		if _, _, found, _ := w.creds.Lookup(ctx, res.Token+"x"); found {
			t.Fatal("a wrong token was found")
		}

		var data, meta []byte
		if err := w.pool.QueryRow(ctx, `SELECT data::text, metadata::text FROM events WHERE stream_id = $1`, res.ID).Scan(&data, &meta); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"correlation_id": "corr-1"`, `"causation_id": "req-1"`, `"idempotency_key": "idem-1"`, `"command": "RegisterCompany"`, `"actor": "anonymous"`} {
			if !bytes.Contains(meta, []byte(want)) {
				t.Errorf("metadata %s lacks %s", meta, want)
			}
		}
		hash := commands.HashToken(res.Token)
		for _, secret := range []string{res.Token, hex.EncodeToString(hash), base64.StdEncoding.EncodeToString(hash)} {
			if bytes.Contains(data, []byte(secret)) || bytes.Contains(meta, []byte(secret)) {
				t.Errorf("the event holds the token or its hash")
			}
		}
	})

	t.Run("refuses the same e-mail address in another case as a conflict", func(t *testing.T) {
		_, err := w.RegisterCompany.Handle(ctx, commands.RegisterCompany{Input: domain.CompanyInput{Name: "Acme 2", Email: "  jobs@ACME.example "}})
		wantCode(t, err, apperr.Conflict)
	})

	t.Run("lists every invalid field", func(t *testing.T) {
		_, err := w.RegisterCompany.Handle(ctx, commands.RegisterCompany{Input: domain.CompanyInput{Email: "nope", Website: "ftp://x"}})
		wantCode(t, err, apperr.Invalid)
		var ae *apperr.Error
		_ = asAppErr(err, &ae)
		var fields []string
		for _, f := range ae.Fields {
			fields = append(fields, f.Field)
		}
		if got := strings.Join(fields, ","); got != "name,email,website" {
			t.Fatalf("fields = %s", got)
		}
	})
}

// TestConcurrentDuplicateRegistrationsOneWins races many registrations of one address in
// different spellings: exactly one succeeds, the others are conflicts, and only one event,
// claim and credential are stored.
func TestConcurrentDuplicateRegistrationsOneWins(t *testing.T) {
	t.Parallel()
	const racers = 60
	w := newWorld(t)
	ctx := ctxFor(t)
	spell := func(i int) string {
		switch i % 4 {
		case 0:
			return "hiring@globex.example"
		case 1:
			return "HIRING@Globex.Example"
		case 2:
			return "  hiring@globex.example\t"
		default:
			return " Hiring@GLOBEX.example"
		}
	}
	for _, kind := range []string{"company", "candidate"} {
		t.Run(kind, func(t *testing.T) {
			var (
				wg        sync.WaitGroup
				mu        sync.Mutex
				wins      []string
				conflicts int
				others    []error
			)
			start := make(chan struct{})
			for i := range racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					var res commands.RegistrationResult
					var err error
					if kind == "company" {
						res, err = w.RegisterCompany.Handle(ctx, commands.RegisterCompany{Input: domain.CompanyInput{Name: fmt.Sprint("Globex ", i), Email: spell(i)}})
					} else {
						res, err = w.RegisterCandidate.Handle(ctx, commands.RegisterCandidate{Input: domain.CandidateInput{Name: fmt.Sprint("Hank ", i), Email: spell(i)}})
					}
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						wins = append(wins, res.ID)
					case apperr.CodeOf(err) == apperr.Conflict:
						conflicts++
					default:
						others = append(others, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if len(wins) != 1 || conflicts != racers-1 || len(others) != 0 {
				t.Fatalf("wins %d, conflicts %d, other errors %v", len(wins), conflicts, others)
			}
			eventType := domain.EventCompanyRegistered
			if kind == "candidate" {
				eventType = domain.EventCandidateRegistered
			}
			if n := w.countEvents(t, eventType, ""); n != 1 {
				t.Fatalf("%d %s events, want 1", n, eventType)
			}
			var creds int
			if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM credentials WHERE role = $1`, map[string]string{"company": "employer", "candidate": "candidate"}[kind]).Scan(&creds); err != nil || creds != 1 {
				t.Fatalf("%d credentials (%v), want 1", creds, err)
			}
		})
	}
}

func asAppErr(err error, target **apperr.Error) bool {
	e, ok := err.(*apperr.Error)
	if ok {
		*target = e
	}
	return ok
}

// TestRotateToken: the new token authenticates, the old one no longer does, the account
// stream records when (and nothing secret), and only employers and candidates may rotate.
func TestRotateToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := ctxFor(t)
	for _, kind := range []string{"company", "candidate"} {
		t.Run(kind+" rotates its token", func(t *testing.T) {
			var (
				reg    commands.RegistrationResult
				caller commands.Caller
				role   = commands.RoleEmployer
				event  = domain.EventCompanyTokenRotated
			)
			if kind == "company" {
				reg = w.MustRegisterCompany(t, "rotate@acme.example")
				caller = employer(reg.ID)
			} else {
				reg = w.MustRegisterCandidate(t, "rotate@ada.example")
				caller = candidate(reg.ID)
				role, event = commands.RoleCandidate, domain.EventCandidateTokenRotated
			}
			w.clock.Advance(time.Hour)
			res, err := w.RotateToken.Handle(ctx, commands.RotateToken{Caller: caller})
			if err != nil || res.ID != reg.ID || res.Version != 2 || res.Token == "" || res.Token == reg.Token {
				t.Fatalf("RotateToken = %+v, %v", res, err)
			}
			if _, _, found, err := w.creds.Lookup(ctx, reg.Token); found || err != nil {
				t.Fatalf("the old token still authenticates (%v)", err)
			}
			gotRole, subject, found, err := w.creds.Lookup(ctx, res.Token)
			if err != nil || !found || gotRole != role || subject != reg.ID {
				t.Fatalf("Lookup(new) = %q %q %v %v", gotRole, subject, found, err)
			}
			info, found, err := w.creds.Describe(ctx, res.Token)
			if err != nil || !found || !info.CreatedAt.Equal(w.clock.Now()) {
				t.Fatalf("Describe = %+v %v %v; want created at %v", info, found, err, w.clock.Now())
			}
			var data, meta []byte
			if err := w.pool.QueryRow(ctx, `SELECT data::text, metadata::text FROM events WHERE stream_id = $1 AND event_type = $2`,
				reg.ID, event).Scan(&data, &meta); err != nil {
				t.Fatal(err)
			}
			hash := commands.HashToken(res.Token)
			for _, secret := range []string{res.Token, reg.Token, hex.EncodeToString(hash), base64.StdEncoding.EncodeToString(hash)} {
				if bytes.Contains(data, []byte(secret)) || bytes.Contains(meta, []byte(secret)) {
					t.Errorf("the %s event holds a token or a hash: %s %s", event, data, meta)
				}
			}
			if !bytes.Contains(meta, []byte(`"command": "RotateToken"`)) {
				t.Errorf("metadata %s", meta)
			}
		})
	}
	t.Run("operators, the system and anonymous callers may not rotate", func(t *testing.T) {
		_, err := w.RotateToken.Handle(ctx, commands.RotateToken{Caller: commands.Caller{Actor: commands.Actor{Role: commands.RoleOperator}}})
		wantCode(t, err, apperr.Forbidden)
		_, err = w.RotateToken.Handle(ctx, commands.RotateToken{Caller: commands.Caller{Actor: commands.Actor{Role: commands.RoleSystem, ID: "stripe"}}})
		wantCode(t, err, apperr.Forbidden)
		_, err = w.RotateToken.Handle(ctx, commands.RotateToken{})
		wantCode(t, err, apperr.Unauthorized)
	})
	t.Run("concurrent rotations leave exactly one live token", func(t *testing.T) {
		reg := w.MustRegisterCompany(t, "race@acme.example")
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			tokens []string
		)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := w.RotateToken.Handle(ctx, commands.RotateToken{Caller: employer(reg.ID)})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("RotateToken: %v", err)
					return
				}
				tokens = append(tokens, res.Token)
			}()
		}
		wg.Wait()
		live := 0
		for _, tok := range append(tokens, reg.Token) {
			if _, _, found, _ := w.creds.Lookup(ctx, tok); found {
				live++
			}
		}
		if live != 1 {
			t.Fatalf("%d live tokens after %d rotations, want 1", live, len(tokens))
		}
	})
}
