package main

import (
	"strings"
	"testing"

	"github.com/jobboard/jobboard/internal/app"
)

// production is a deployment's environment: every secret its own, listening on all interfaces.
func production() map[string]string {
	return map[string]string{
		"HTTP_ADDR":             "0.0.0.0:8080",
		"STRIPE_SECRET_KEY":     "sk_live_0123456789abcdefghijklmnop",
		"STRIPE_WEBHOOK_SECRET": "whsec_0123456789abcdefghijklmnopqrstuv",
		"SIGNING_KEY":           "0123456789abcdef0123456789abcdef0123456789abcdef",
		"OPERATOR_TOKENS":       "alice=" + strings.Repeat("a1", 16) + ", bob=" + strings.Repeat("b2", 20),
		"SMTP_URL":              "smtps://jobboard:relay-password@smtp.example.com:465",
		"PUBLIC_BASE_URL":       "https://jobs.example.com",
	}
}

func TestDevelopmentSecretsAreRefusedOffLoopback(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:8080", "[::]:8080", ":8080", "192.168.1.10:8080", "jobboard.example.com:8080", "localhost.example.com:8080"} {
		_, err := loadConfig(flags(t), func(k string) string { return map[string]string{"HTTP_ADDR": addr}[k] })
		if err == nil {
			t.Errorf("HTTP_ADDR=%s with the development secrets was accepted", addr)
			continue
		}
		for _, s := range app.DevelopmentSecrets() {
			want := s.Env + ": the built-in development value must not be used off loopback (set DEV_MODE=true only for local development)"
			if !strings.Contains(err.Error(), want) {
				t.Errorf("HTTP_ADDR=%s: the error does not name %s:\n%v", addr, s.Env, err)
			}
		}
	}

	t.Run("each secret left at its development value is named, and only it", func(t *testing.T) {
		for _, s := range app.DevelopmentSecrets() {
			env := production()
			delete(env, s.Env)
			if s.Env == "OPERATOR_TOKEN" { // its default holds only without named operators
				delete(env, "OPERATOR_TOKENS")
			}
			_, err := loadConfig(flags(t), func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), s.Env+": the built-in development value") {
				t.Fatalf("without %s: err = %v, want it named", s.Env, err)
			}
			if n := strings.Count(err.Error(), "the built-in development value"); n != 1 {
				t.Errorf("without %s: %d variables named, want 1:\n%v", s.Env, n, err)
			}
		}
	})
	t.Run("accepted with DEV_MODE", func(t *testing.T) {
		env := map[string]string{"HTTP_ADDR": "0.0.0.0:8080", "DEV_MODE": "true"}
		if _, err := loadConfig(flags(t), func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("accepted on loopback", func(t *testing.T) {
		for _, addr := range []string{"127.0.0.1:8080", "127.0.0.2:0", "localhost:8080", "LOCALHOST:8080", "[::1]:8080"} {
			if _, err := loadConfig(flags(t), func(k string) string { return map[string]string{"HTTP_ADDR": addr}[k] }); err != nil {
				t.Errorf("HTTP_ADDR=%s: %v", addr, err)
			}
		}
	})
	t.Run("accepted off loopback with secrets of its own", func(t *testing.T) {
		env := production()
		cfg, err := loadConfig(flags(t), func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if cfg.OperatorToken != "" {
			t.Errorf("OperatorToken = %q: the development default must not hold beside OPERATOR_TOKENS", cfg.OperatorToken)
		}
	})
}

func TestOperatorTokensNameEachOperator(t *testing.T) {
	t.Parallel()
	long := func(c string) string { return strings.Repeat(c, 32) }
	env := map[string]string{"OPERATOR_TOKENS": "alice=" + long("a") + ",bob_2=" + long("b")}
	cfg, err := loadConfig(flags(t), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Operators) != 2 || cfg.Operators[0].Name != "alice" || cfg.Operators[0].Token != long("a") || cfg.Operators[1].Name != "bob_2" {
		t.Fatalf("Operators = %+v", cfg.Operators)
	}
	if cfg.OperatorToken != "" {
		t.Errorf("OperatorToken = %q, want no default beside OPERATOR_TOKENS", cfg.OperatorToken)
	}
	env["OPERATOR_TOKEN"] = "shared-operator-token"
	if cfg, err = loadConfig(flags(t), func(k string) string { return env[k] }); err != nil || cfg.OperatorToken != "shared-operator-token" {
		t.Fatalf("an explicit OPERATOR_TOKEN beside OPERATOR_TOKENS: %q, %v", cfg.OperatorToken, err)
	}

	for value, want := range map[string]string{
		"alice":                                      "entry 1 is not name=token",
		"alice=" + long("a") + ",=" + long("b"):      "entry 2 is not name=token",
		"Alice=" + long("a"):                         `operator name "Alice"`,
		long("n") + "x=" + long("a"):                 "want 1 to 32 of a-z",
		"alice=short-token-0123456789":               `the token of "alice" must be at least 32 characters`,
		"alice=" + long("a") + ",alice=" + long("b"): `operator "alice" is named twice`,
		"alice=" + long("a") + ",bob=" + long("a"):   `"bob" has the same token as alice`,
		"operator=" + long("a"):                      `"operator" is the name of OPERATOR_TOKEN's operator`,
	} {
		env := map[string]string{"OPERATOR_TOKENS": value, "OPERATOR_TOKEN": "shared-operator-token"}
		_, err := loadConfig(flags(t), func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), "OPERATOR_TOKENS: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("OPERATOR_TOKENS=%s: err = %v, want %q", value, err, want)
			continue
		}
		for _, tok := range []string{long("a"), long("b"), "short-token-0123456789"} {
			if strings.Contains(err.Error(), tok) {
				t.Errorf("the error quotes a token: %v", err)
			}
		}
	}
}

func TestConfigurationErrorsDoNotQuotePasswords(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"DATABASE_URL":      "mysql://jobboard:db-password-in-url@db:3306/jobboard",
		"ELASTICSEARCH_URL": "ftp://elastic:es-password-in-url@es:9200",
		"STRIPE_API_BASE":   "http://%zz:stripe-password@x",
	}
	_, err := loadConfig(flags(t), func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("accepted")
	}
	for _, name := range []string{"DATABASE_URL", "ELASTICSEARCH_URL", "STRIPE_API_BASE"} {
		if !strings.Contains(err.Error(), name+":") {
			t.Errorf("the error does not name %s: %v", name, err)
		}
	}
	for _, secret := range []string{"db-password-in-url", "es-password-in-url", "stripe-password"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error quotes %s: %v", secret, err)
		}
	}
	if !strings.Contains(err.Error(), `"mysql://jobboard:xxxxx@db:3306/jobboard"`) {
		t.Errorf("the error does not show the redacted URL: %v", err)
	}
}

func TestMailSettingsFollowTheSMTPSafetyRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // "" accepted
	}{
		{"the stack's Mailpit on loopback", map[string]string{}, ""},
		{"the stack's Mailpit off loopback", map[string]string{"HTTP_ADDR": "0.0.0.0:8080", "DEV_MODE": "true"}, ""},
		{"a password in plain text off loopback", map[string]string{"SMTP_URL": "smtp://u:p@relay.example.com?starttls=opportunistic"}, "SMTP_URL: smtp://u:xxxxx@relay.example.com:587?starttls=opportunistic would send its password in plain text"},
		{"a password in plain text off loopback, DEV_MODE", map[string]string{"SMTP_URL": "smtp://u:p@relay.example.com?starttls=none", "DEV_MODE": "true"}, ""},
		{"a password with STARTTLS required", map[string]string{"SMTP_URL": "smtp://u:p@relay.example.com"}, ""},
		{"no password, plain text asked for", map[string]string{"SMTP_URL": "smtp://mailpit:1025?starttls=none"}, ""},
		{"a malformed sender", map[string]string{"MAIL_FROM": "nobody"}, "MAIL_FROM:"},
		{"links without a host", map[string]string{"PUBLIC_BASE_URL": "/jobs"}, "PUBLIC_BASE_URL:"},
		{"no notifier role, no mail checks", map[string]string{"ROLES": "api", "MAIL_FROM": "nobody"}, ""},
	} {
		_, err := loadConfig(flags(t), func(k string) string { return tc.env[k] })
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "relay.example.com:587?starttls=opportunistic") && strings.Contains(err.Error(), ":p@"):
			t.Errorf("%s: the error quotes the password: %v", tc.name, err)
		}
	}
	t.Run("the development defaults are refused off loopback", func(t *testing.T) {
		env := production()
		delete(env, "SMTP_URL")
		delete(env, "PUBLIC_BASE_URL")
		_, err := loadConfig(flags(t), func(k string) string { return env[k] })
		for _, v := range []string{"SMTP_URL: the development value", "PUBLIC_BASE_URL: the development value"} {
			if err == nil || !strings.Contains(err.Error(), v) {
				t.Errorf("err %v, want %q", err, v)
			}
		}
	})
}
