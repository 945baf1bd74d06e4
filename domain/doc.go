// Package domain is the heart of jobboard: the aggregates (Company, Candidate, Job with its
// listing payments, Application), the events they record, the value objects they are built
// from and the rules they enforce. Command handlers load an aggregate from its history, call
// one behaviour method, and append the recorded Changes; projectors decode the same events.
//
// The package is pure: it imports the standard library only — no database, broker, HTTP,
// Stripe or UUID packages — so the rules can be read, tested and replayed without
// infrastructure. Time and identifiers are passed in by the caller. The module's import
// table (internal/boundaries) fails the tests if a non-standard import creeps in.
//
// Conventions:
//   - Aggregates have unexported state; they change only by recording an event, which
//     apply() folds into the state and which cannot fail. LoadX(id, history) rebuilds one.
//   - A command that repeats what already happened records nothing and returns nil.
//   - Invalid input is reported as a *ValidationError listing every field at fault;
//     refused state changes return sentinel errors (ErrJobClosed, …) or typed errors
//     (StatusTransitionError, PaymentMismatchError) that wrap a sentinel for errors.Is.
//   - Events have a stable stored name (EventType) and schema version that do not depend
//     on the Go type name. They carry no JSON: storedevents holds their stored payload
//     types and the codec.
package domain
