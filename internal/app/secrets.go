package app

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/jobboard/jobboard/api"
)

// The built-in development secrets. cmd/jobboard makes them the defaults of their settings,
// so `make run` and the tests work against the local stack with no setup. Anyone who read
// the README knows them, so Validate refuses them on an address other machines can reach.
const (
	DevOperatorToken       = "local-operator-token"
	DevStripeSecretKey     = "sk_test_123"
	DevStripeWebhookSecret = "whsec_local_development_only"
	DevSigningKey          = "local-development-signing-key-only"
)

// DevelopmentSecret is a built-in development value and the variable it is the default of.
type DevelopmentSecret struct {
	Env, Value string
	of         func(Config) string
}

// DevelopmentSecrets is the one list of them: what Validate refuses off loopback and what
// tests look for where no secret may appear (docker-compose.yml, logs).
func DevelopmentSecrets() []DevelopmentSecret {
	return []DevelopmentSecret{
		{"OPERATOR_TOKEN", DevOperatorToken, func(c Config) string { return c.OperatorToken }},
		{"STRIPE_SECRET_KEY", DevStripeSecretKey, func(c Config) string { return c.StripeSecretKey }},
		{"STRIPE_WEBHOOK_SECRET", DevStripeWebhookSecret, func(c Config) string { return c.StripeWebhookSecret }},
		{"SIGNING_KEY", DevSigningKey, func(c Config) string { return c.SigningKey }},
	}
}

// developmentSecretsInUse names the variables that hold their built-in development value.
func (c Config) developmentSecretsInUse() []string {
	var envs []string
	for _, s := range DevelopmentSecrets() {
		if s.of(c) == s.Value {
			envs = append(envs, s.Env)
		}
	}
	return envs
}

// validateExposure refuses the development secrets when the API listens on an address other
// machines can reach, unless DevMode says this is a development machine.
func (c Config) validateExposure() []error {
	if c.DevMode || listensOnLoopback(c.HTTPAddr) {
		return nil
	}
	var errs []error
	for _, env := range c.developmentSecretsInUse() {
		errs = append(errs, fmt.Errorf("%s: the built-in development value must not be used off loopback (set DEV_MODE=true only for local development)", env))
	}
	return errs
}

// listensOnLoopback tells whether addr (host:port) is reachable from this machine only:
// localhost or a loopback IP. An empty host, 0.0.0.0 and :: listen on every interface; any
// other host name may resolve to anything.
func listensOnLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var operatorName = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// validateOperators checks the named operators against each other and the shared token.
// Its messages name operators, never tokens.
func (c Config) validateOperators() []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("OPERATOR_TOKENS: %s", fmt.Sprintf(format, args...)))
	}
	names := map[string]bool{}
	tokens := map[string]string{}
	if c.OperatorToken != "" {
		names[api.SharedOperatorName] = true
		tokens[c.OperatorToken] = api.SharedOperatorName + " (OPERATOR_TOKEN)"
	}
	for _, op := range c.Operators {
		switch {
		case !operatorName.MatchString(op.Name):
			bad("operator name %q: want 1 to 32 of a-z, 0-9, '_' and '-'", op.Name)
		case names[op.Name] && op.Name == api.SharedOperatorName:
			bad("operator name %q is the name of OPERATOR_TOKEN's operator", op.Name)
		case names[op.Name]:
			bad("operator %q is named twice", op.Name)
		}
		names[op.Name] = true
		if len(op.Token) < 32 {
			bad("the token of %q must be at least 32 characters", op.Name)
		} else if other, dup := tokens[op.Token]; dup {
			bad("%q has the same token as %s", op.Name, other)
		}
		tokens[op.Token] = op.Name
	}
	return errs
}

// redactedURL is v for an error message, without its password; an unparsable v could hide
// one anywhere, so it is not shown at all.
func redactedURL(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return "an unparsable URL"
	}
	return fmt.Sprintf("%q", u.Redacted())
}
