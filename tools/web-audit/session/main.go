// Command session signs an employer in to a running jobboard the way a person does, for the
// Lighthouse run of `make audit-web` (tools/web-audit/run.sh), whose post-a-job page is an
// employer's: it signs a company up through the sign-up page, reads the sign-in link the
// server asked to e-mail from the history (GET /v1/admin/events, as the notifier reads it),
// builds the link with the server's signing key, follows it, and prints the session cookie
// as a Cookie header value.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jobboard/jobboard/internal/signinlink"
)

func main() {
	base := flag.String("url", "", "base URL of the running server")
	key := flag.String("signing-key", "", "the server's SIGNING_KEY")
	operator := flag.String("operator-token", "", "the server's OPERATOR_TOKEN (to read the history)")
	flag.Parse()
	cookie, err := signIn(strings.TrimRight(*base, "/"), *key, *operator)
	if err != nil {
		fmt.Fprintln(os.Stderr, "session:", err)
		os.Exit(1)
	}
	fmt.Println(cookie)
}

func signIn(base, key, operator string) (string, error) {
	if base == "" || key == "" || operator == "" {
		return "", errors.New("-url, -signing-key and -operator-token are required")
	}
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	email := fmt.Sprintf("audit-%d@audit.test", time.Now().UnixNano())
	res, err := hc.PostForm(base+"/signup", url.Values{"role": {"employer"}, "name": {"Audit Company"}, "email": {email}, "website": {"https://audit.test"}})
	if err != nil {
		return "", err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("sign up: %s", res.Status)
	}
	// The history is read in commit-safe order, which can hold the newest events back for a
	// moment while other transactions are open: ask again for a while.
	var link signinlink.Link
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if link, err = requestedLink(hc, base, operator, email); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return "", err
		}
	}
	token, err := signinlink.Token([]byte(key), link)
	if err != nil {
		return "", err
	}
	res, err = hc.PostForm(base+signinlink.Path, url.Values{"t": {token}})
	if err != nil {
		return "", err
	}
	res.Body.Close()
	for _, c := range res.Cookies() {
		if c.Name == "jb_session" && c.Value != "" {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", fmt.Errorf("following the sign-in link answered %s without a session", res.Status)
}

// requestedLink finds the sign_in.link_requested event of email.
func requestedLink(hc *http.Client, base, operator, email string) (signinlink.Link, error) {
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/admin/events?type=sign_in.link_requested&limit=1000", nil)
	req.Header.Set("Authorization", "Bearer "+operator)
	res, err := hc.Do(req)
	if err != nil {
		return signinlink.Link{}, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return signinlink.Link{}, fmt.Errorf("events: %s %s", res.Status, body)
	}
	var page struct {
		Items []struct {
			Data struct {
				LinkID    string    `json:"link_id"`
				Role      string    `json:"role"`
				AccountID string    `json:"account_id"`
				Email     string    `json:"email"`
				ExpiresAt time.Time `json:"expires_at"`
			} `json:"data"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return signinlink.Link{}, err
	}
	for _, it := range page.Items {
		if d := it.Data; d.Email == email {
			return signinlink.Link{LinkID: d.LinkID, Role: d.Role, AccountID: d.AccountID, ExpiresAt: d.ExpiresAt.Unix()}, nil
		}
	}
	return signinlink.Link{}, fmt.Errorf("no sign-in link was requested for %s", email)
}
