package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/jobboard/jobboard/notifier"
)

func TestNotifierStatusNamesEveryDeadMessageAndItsError(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	err := printNotifierStatus(&b, notifier.Status{Pending: 3, Sent: 120, Dead: 1, Canceled: 2, OldestPending: 4 * time.Second,
		DeadMessages: []notifier.DeadMessage{{Key: "e1/company_welcome/company:c1", Template: "company_welcome",
			Recipient: "company:c1", Attempts: 1, LastError: "malformed recipient", UpdatedAt: time.Unix(0, 0)}}})
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"PENDING", "120", "4s", "e1/company_welcome/company:c1", "malformed recipient"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}
