package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Mailpit defaults: the stack's SMTP server and its HTTP API.
const (
	DefaultMailpitSMTP = "127.0.0.1:1025"
	DefaultMailpitAPI  = "http://127.0.0.1:8025"
	// MailpitVersion is the Mailpit stack/stack.sh installs (also there and in
	// docker-compose.yml).
	MailpitVersion = "v1.33.1"
)

// Mailpit is a Mailpit server: where to send (SMTP, host:port) and where to read (API).
type Mailpit struct {
	SMTP string
	API  string
}

// SMTPURL is an SMTP_URL for the server (plain text: it is on loopback).
func (m Mailpit) SMTPURL() string { return "smtp://" + m.SMTP + "?starttls=none" }

// StackMailpit is the stack's Mailpit (MAILPIT_SMTP, MAILPIT_API).
func StackMailpit(tb testing.TB) Mailpit {
	tb.Helper()
	m := Mailpit{SMTP: env("MAILPIT_SMTP", DefaultMailpitSMTP), API: env("MAILPIT_API", DefaultMailpitAPI)}
	dial(tb, "Mailpit (SMTP)", m.SMTP)
	u, err := url.Parse(m.API)
	if err != nil {
		tb.Fatalf("MAILPIT_API: %v", err)
	}
	dial(tb, "Mailpit (HTTP API)", u.Host)
	return m
}

// MailpitMessage is a message as Mailpit's search lists it.
type MailpitMessage struct {
	ID        string
	MessageID string
	Subject   string
	To        []struct{ Name, Address string }
}

// Search lists the messages matching query (Mailpit's search syntax, e.g. `to:"a@b.c"`),
// newest first, up to 1000.
func (m Mailpit) Search(ctx context.Context, query string) ([]MailpitMessage, error) {
	u := m.API + "/api/v1/search?limit=1000&query=" + url.QueryEscape(query)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("mailpit search %q: %s", query, resp.Status)
	}
	var out struct{ Messages []MailpitMessage }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("mailpit search %q: %w", query, err)
	}
	return out.Messages, nil
}

// All lists every message the server holds, newest first.
func (m Mailpit) All(ctx context.Context) ([]MailpitMessage, error) {
	var out []MailpitMessage
	for {
		u := fmt.Sprintf("%s/api/v1/messages?limit=1000&start=%d", m.API, len(out))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		var page struct {
			Total    int
			Messages []MailpitMessage
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("mailpit messages: %w", err)
		}
		out = append(out, page.Messages...)
		if len(page.Messages) == 0 || len(out) >= page.Total {
			return out, nil
		}
	}
}

// Count is how many messages the server holds.
func (m Mailpit) Count(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.API+"/api/v1/messages?limit=1", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var page struct{ Total int }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return 0, fmt.Errorf("mailpit messages: %w", err)
	}
	return page.Total, nil
}

// MailpitBody is one message's parts and headers as Mailpit's API gives them.
type MailpitBody struct {
	Subject string
	Text    string
	HTML    string
}

// Message reads one message by its Mailpit ID.
func (m Mailpit) Message(ctx context.Context, id string) (MailpitBody, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.API+"/api/v1/message/"+url.PathEscape(id), nil)
	if err != nil {
		return MailpitBody{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return MailpitBody{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return MailpitBody{}, fmt.Errorf("mailpit message %s: %s", id, resp.Status)
	}
	var out MailpitBody
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

// WaitForMessages polls the search until it lists at least n messages or the timeout ends,
// and returns what it listed last.
func (m Mailpit) WaitForMessages(tb testing.TB, query string, n int, timeout time.Duration) []MailpitMessage {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := m.Search(ctx, query)
		cancel()
		if err == nil && len(got) >= n || time.Now().After(deadline) {
			if err != nil {
				tb.Fatalf("mailpit: %v", err)
			}
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// OwnMailpit is a Mailpit process of the test's own, on free ports, which the test may stop
// and start again (the stack's is shared: never stop that one).
type OwnMailpit struct {
	Mailpit
	tb   testing.TB
	bin  string
	args []string
	cmd  *exec.Cmd
}

// MailpitBinary is the Mailpit the stack installed (MAILPIT_BIN, else
// $JOBBOARD_CACHE_DIR/bin/mailpit-<version>).
func MailpitBinary(tb testing.TB) string {
	tb.Helper()
	bin := os.Getenv("MAILPIT_BIN")
	if bin == "" {
		bin = filepath.Join(env("JOBBOARD_CACHE_DIR", "/var/cache/jobboard"), "bin", "mailpit-"+MailpitVersion)
	}
	if _, err := os.Stat(bin); err != nil {
		missing(tb, "Mailpit binary", bin, err)
	}
	return bin
}

// StartOwnMailpit starts a Mailpit on free loopback ports with its data in a temporary
// folder; it is stopped when the test ends.
func StartOwnMailpit(tb testing.TB) *OwnMailpit {
	tb.Helper()
	smtp, api := freePort(tb), freePort(tb)
	m := &OwnMailpit{
		Mailpit: Mailpit{SMTP: smtp, API: "http://" + api},
		tb:      tb,
		bin:     MailpitBinary(tb),
		args: []string{"--smtp", smtp, "--listen", api, "--database", filepath.Join(tb.TempDir(), "mailpit.db"),
			"--max", "100000", "--disable-version-check", "--smtp-disable-rdns", "--smtp-auth-accept-any",
			"--smtp-auth-allow-insecure", "-q"},
	}
	m.Start()
	tb.Cleanup(m.Stop)
	return m
}

// Start starts the process (again) and waits until its SMTP port and API answer.
func (m *OwnMailpit) Start() {
	m.tb.Helper()
	m.cmd = exec.Command(m.bin, m.args...)
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		m.tb.Fatalf("start mailpit: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", m.SMTP, time.Second)
		if err == nil {
			c.Close()
			if resp, err := http.Get(m.API + "/api/v1/info"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			m.tb.Fatalf("mailpit did not answer at %s / %s", m.SMTP, m.API)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the process and waits for it; stopping a stopped one does nothing.
func (m *OwnMailpit) Stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
	m.cmd = nil
}

func freePort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
