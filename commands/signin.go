package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

// AccountLookup finds an account by a unique claim: the company or candidate holding an
// e-mail address.
type AccountLookup interface {
	// ClaimHolder is the stream holding key in scope; found is false when none does.
	ClaimHolder(ctx context.Context, scope, key string) (streamID string, found bool, err error)
}

// DefaultSignInLinkTTL is how long a sign-in link can be used when the handler is given no
// lifetime: long enough to open the e-mail, short enough that an old e-mail is no key.
const DefaultSignInLinkTTL = 15 * time.Minute

// RequestSignInLink asks for a sign-in link to the Role account registered with Email
// (the web's passwordless sign-in).
type RequestSignInLink struct {
	Caller Caller
	Role   Role
	Email  string
}

// SignInLinkRequested is the answer to RequestSignInLink. Requested is false when no
// account of the role has the address: a front door must answer the same either way, so
// that nobody learns which addresses have accounts.
type SignInLinkRequested struct {
	Result
	Requested bool
	AccountID string
	ExpiresAt time.Time
}

// RequestSignInLinkHandler handles RequestSignInLink.
type RequestSignInLinkHandler struct {
	store    EventStore
	accounts AccountLookup
	clock    Clock
	ids      IDGenerator
	ttl      time.Duration
}

// NewRequestSignInLinkHandler returns a handler; ttl 0 is DefaultSignInLinkTTL.
func NewRequestSignInLinkHandler(store EventStore, accounts AccountLookup, clock Clock, ids IDGenerator, ttl time.Duration) (*RequestSignInLinkHandler, error) {
	if err := required(store, accounts, clock, ids); err != nil {
		return nil, fmt.Errorf("new request sign-in link handler: %w", err)
	}
	if ttl < 0 {
		return nil, errors.New("new request sign-in link handler: negative ttl")
	}
	if ttl == 0 {
		ttl = DefaultSignInLinkTTL
	}
	return &RequestSignInLinkHandler{store: store, accounts: accounts, clock: clock, ids: ids, ttl: ttl}, nil
}

// Handle records sign_in.link_requested in a new stream (its id is the link's nonce) when
// an account of the role has the address; the notifier e-mails the link from that event.
func (h *RequestSignInLinkHandler) Handle(ctx context.Context, cmd RequestSignInLink) (SignInLinkRequested, error) {
	email, err := domain.SignInEmail(cmd.Email)
	if err != nil {
		return SignInLinkRequested{}, translate(err, "sign-in link")
	}
	var scope, key string
	switch cmd.Role {
	case RoleEmployer:
		scope, key = ClaimCompanyEmail, domain.CompanyEmailKey(email)
	case RoleCandidate:
		scope, key = ClaimCandidateEmail, domain.CandidateEmailKey(email)
	default:
		return SignInLinkRequested{}, invalidField("role", "must be employer or candidate")
	}
	accountID, found, err := h.accounts.ClaimHolder(ctx, scope, key)
	if err != nil {
		return SignInLinkRequested{}, apperr.Wrap(apperr.Unavailable, err, "the accounts could not be read; retry")
	}
	if !found {
		return SignInLinkRequested{}, nil
	}
	id := h.ids()
	var link *domain.SignInLink
	x := execution{store: h.store, streamID: id, metadata: cmd.Caller.metadata("RequestSignInLink", h.ids), what: "sign-in link"}
	res, err := x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		if s.Version != 0 {
			return decision{}, fmt.Errorf("sign-in link %s: %w", id, domain.ErrAlreadyExists)
		}
		var err error
		if link, err = domain.RequestSignInLink(id, string(cmd.Role), accountID, email, h.clock(), h.ttl); err != nil {
			return decision{}, err
		}
		return decision{streamType: link.StreamType(), events: link.Changes()}, nil
	})
	if err != nil {
		return SignInLinkRequested{}, err
	}
	return SignInLinkRequested{Result: res, Requested: true, AccountID: accountID, ExpiresAt: link.ExpiresAt()}, nil
}

// UseSignInLink signs in with a link whose signature the front door has verified: the
// link's id (nonce) and the account it names.
type UseSignInLink struct {
	Caller    Caller
	LinkID    string
	Role      Role
	AccountID string
}

// UseSignInLinkHandler handles UseSignInLink.
type UseSignInLinkHandler struct {
	store EventStore
	clock Clock
	ids   IDGenerator
}

// NewUseSignInLinkHandler returns a handler; every dependency is required.
func NewUseSignInLinkHandler(store EventStore, clock Clock, ids IDGenerator) (*UseSignInLinkHandler, error) {
	if err := required(store, clock, ids); err != nil {
		return nil, fmt.Errorf("new use sign-in link handler: %w", err)
	}
	return &UseSignInLinkHandler{store: store, clock: clock, ids: ids}, nil
}

// Handle records sign_in.link_used. The stream's optimistic concurrency makes the link
// single use: of two concurrent uses one appends, the other finds it used (Conflict). An
// expired link is a Conflict too; a link of another account is NotFound.
func (h *UseSignInLinkHandler) Handle(ctx context.Context, cmd UseSignInLink) (Result, error) {
	x := execution{store: h.store, streamID: cmd.LinkID, metadata: cmd.Caller.metadata("UseSignInLink", h.ids), what: "sign-in link"}
	return x.run(ctx, func(_ context.Context, s Stream) (decision, error) {
		if err := checkStreamType(s, domain.StreamTypeSignInLink); err != nil {
			return decision{}, err
		}
		link, err := domain.LoadSignInLink(s.ID, s.Events)
		if err != nil {
			return decision{}, err
		}
		switch err := link.Use(string(cmd.Role), cmd.AccountID, h.clock()); {
		case errors.Is(err, domain.ErrSignInLinkUsed):
			return decision{}, apperr.Wrap(apperr.Conflict, err, "this sign-in link was used already: ask for a new one")
		case errors.Is(err, domain.ErrSignInLinkExpired):
			return decision{}, apperr.Wrap(apperr.Conflict, err, "this sign-in link has expired: ask for a new one")
		case err != nil:
			return decision{}, err
		}
		return decision{streamType: link.StreamType(), events: link.Changes()}, nil
	})
}
