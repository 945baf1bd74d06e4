package notifier

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// TLS policies of an SMTP connection.
const (
	TLSImplicit      = "implicit"      // smtps://: TLS from the first byte (port 465)
	TLSRequired      = "required"      // STARTTLS or fail
	TLSOpportunistic = "opportunistic" // STARTTLS when offered
	TLSNone          = "none"          // plain text: loopback development servers only
)

// SMTPConfig is where and how mail is handed over: SMTP_URL parsed.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	// TLS is TLSImplicit, TLSRequired, TLSOpportunistic or TLSNone.
	TLS string
}

// ParseSMTPURL parses smtp://user:pass@host:port?starttls=required|opportunistic|none or
// smtps://user:pass@host:port. Without ?starttls, smtp:// requires STARTTLS except on a
// loopback host, where it is opportunistic (Mailpit offers none). Its errors never quote the
// password.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return SMTPConfig{}, errors.New("want smtp://[user:password@]host:port[?starttls=required|opportunistic|none] or smtps://…")
	}
	c := SMTPConfig{Host: u.Hostname()}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	port := u.Port()
	switch {
	case port != "":
		if c.Port, err = strconv.Atoi(port); err != nil || c.Port < 1 || c.Port > 65535 {
			return SMTPConfig{}, fmt.Errorf("port %q: want 1 to 65535", port)
		}
	case u.Scheme == "smtps":
		c.Port = 465
	default:
		c.Port = 587
	}
	q := u.Query()
	starttls := q.Get("starttls")
	for k := range q {
		if k != "starttls" {
			return SMTPConfig{}, fmt.Errorf("unknown parameter %q (only starttls)", k)
		}
	}
	switch {
	case u.Scheme == "smtps" && starttls != "":
		return SMTPConfig{}, errors.New("smtps:// is TLS from the start: starttls does not apply")
	case u.Scheme == "smtps":
		c.TLS = TLSImplicit
	case starttls == "":
		c.TLS = TLSRequired
		if c.Loopback() {
			c.TLS = TLSOpportunistic
		}
	case starttls == TLSRequired || starttls == TLSOpportunistic || starttls == TLSNone:
		c.TLS = starttls
	default:
		return SMTPConfig{}, fmt.Errorf("starttls=%q: want required, opportunistic or none", starttls)
	}
	return c, nil
}

// Loopback tells whether the server is on this machine.
func (c SMTPConfig) Loopback() bool {
	if strings.EqualFold(c.Host, "localhost") {
		return true
	}
	ip := net.ParseIP(c.Host)
	return ip != nil && ip.IsLoopback()
}

// Encrypted tells whether the connection is always encrypted (a plain-text fallback is not).
func (c SMTPConfig) Encrypted() bool { return c.TLS == TLSImplicit || c.TLS == TLSRequired }

// Redacted is the URL without its password, for logs and errors.
func (c SMTPConfig) Redacted() string {
	scheme := "smtp"
	if c.TLS == TLSImplicit {
		scheme = "smtps"
	}
	user := ""
	if c.Username != "" {
		user = url.User(c.Username).String() + ":xxxxx@"
	}
	s := fmt.Sprintf("%s://%s%s", scheme, user, net.JoinHostPort(c.Host, strconv.Itoa(c.Port)))
	if scheme == "smtp" {
		s += "?starttls=" + c.TLS
	}
	return s
}

// newClient builds a go-mail client (not yet connected) for c.
func (c SMTPConfig) newClient(helo string) (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(c.Port), gomail.WithHELO(helo)}
	switch c.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSRequired:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if c.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(c.Username), gomail.WithPassword(c.Password))
	}
	return gomail.NewClient(c.Host, opts...)
}

// ParseFrom checks a MAIL_FROM address ("jobboard <noreply@example.com>") and returns the
// domain of its address, which Message-IDs use.
func ParseFrom(from string) (string, error) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return "", fmt.Errorf("want an address such as \"jobboard <noreply@example.com>\": %w", err)
	}
	_, domain, ok := strings.Cut(a.Address, "@")
	if !ok || domain == "" {
		return "", fmt.Errorf("address %q has no domain", a.Address)
	}
	return domain, nil
}
