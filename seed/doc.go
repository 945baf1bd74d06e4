// Package seed writes a realistic synthetic event history — companies, candidates, jobs with
// their listing payments, publications, edits, closes, expiries and renewals, applications
// moving through the hiring process or withdrawn — for demos and benchmarks.
//
// Every stream is built by driving the real aggregates of domain/ (so each history is valid
// by the domain's own rules) and encoded with storedevents.Encode; the streams are appended
// through eventstore.Store.AppendTx, many streams per transaction and several transactions
// at once, with the side rows the command path keeps (e-mail claims, the listing schedule).
// Given the same Config (seed and end time included) it writes the same streams, byte for
// byte: ids are drawn from the seeded generator and times from the history's own timeline.
//
// It must not be imported by the application: only cmd/ and tests use it.
package seed
