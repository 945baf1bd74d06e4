// Package notifier is the email front door: it decides messages from events, records them in
// a PostgreSQL outbox keyed by a deterministic idempotency key, and sends the outbox through
// SMTP (go-mail) at least once, with a deterministic Message-ID per key so a rare resend is
// recognisable.
//
// Adding a message: write notifier/templates/<name>.subject.tmpl, <name>.html.tmpl and
// <name>.txt.tmpl, a sample of its data in notifier/testdata/samples/<name>.json, run
// `go test ./notifier -run TestTemplatesGolden -update` and review the golden files it writes
// to notifier/testdata/golden/; then return a Message{Template: "<name>", …} from a Rule
// registered with Rules.On (or Enqueue it yourself inside your own transaction). Templates
// read the message's Data by key, .Recipient (Name, Email), the contacts named in Refs, and
// .BaseURL (PUBLIC_BASE_URL) for links. No template may carry a bearer token.
//
// It imports the projections' runner machinery (consumer groups, retries, poison queue) and
// the domain's events; it must not import api, commands or readmodels.
package notifier
