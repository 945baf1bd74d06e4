// Package projectionstest builds event histories and feeds them to projectors in tests:
// envelopes as the relay publishes them, with consecutive stream versions and global
// positions. It is for tests only.
package projectionstest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/jobboard/jobboard/bus"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/storedevents"
)

// History records events as the store would: per-stream versions from 1, global positions
// from 1, recorded times one millisecond apart.
type History struct {
	Events   []eventstore.Event
	pos      int64
	versions map[string]int64
	clock    time.Time
}

// NewHistory starts an empty history whose first event is recorded at start.
func NewHistory(start time.Time) *History {
	return &History{versions: map[string]int64{}, clock: start.UTC()}
}

// Add appends e to stream streamID and returns the stored event.
func (h *History) Add(tb testing.TB, streamID string, e domain.Event) eventstore.Event {
	tb.Helper()
	st, ok := domain.StreamTypeOf(e.EventType())
	if !ok {
		tb.Fatalf("unknown event type %s", e.EventType())
	}
	ed, err := storedevents.Encode(e, eventstore.Metadata{})
	if err != nil {
		tb.Fatalf("encode %s: %v", e.EventType(), err)
	}
	h.AddRaw(streamID, st, e.EventType(), ed.Data)
	h.Events[len(h.Events)-1].SchemaVersion = ed.SchemaVersion
	return h.Events[len(h.Events)-1]
}

// AddRaw appends an event with raw data (for malformed events).
func (h *History) AddRaw(streamID, streamType, eventType string, data []byte) eventstore.Event {
	h.pos++
	h.versions[streamID]++
	h.clock = h.clock.Add(time.Millisecond)
	ev := eventstore.Event{
		GlobalPosition: h.pos,
		TransactionID:  uint64(h.pos),
		StreamID:       streamID,
		StreamType:     streamType,
		StreamVersion:  h.versions[streamID],
		EventID:        uuid.New(),
		Type:           eventType,
		SchemaVersion:  1,
		Data:           data,
		Metadata:       eventstore.Metadata{CorrelationID: uuid.NewString(), Actor: "test"},
		RecordedAt:     h.clock,
	}
	h.Events = append(h.Events, ev)
	return ev
}

// Version returns the current version of a stream.
func (h *History) Version(streamID string) int64 { return h.versions[streamID] }

// Shuffled returns the events in a random order that keeps each stream's own order (as
// Kafka does: order per partition key, any interleaving across streams); with duplicates,
// earlier events of a stream are delivered again at random points after newer ones (as
// at-least-once redelivery does).
func Shuffled(events []eventstore.Event, seed uint64, duplicates bool) []eventstore.Event {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	byStream := map[string][]eventstore.Event{}
	var streams []string
	for _, e := range events {
		if _, ok := byStream[e.StreamID]; !ok {
			streams = append(streams, e.StreamID)
		}
		byStream[e.StreamID] = append(byStream[e.StreamID], e)
	}
	var out []eventstore.Event
	delivered := map[string][]eventstore.Event{}
	for len(streams) > 0 {
		i := r.IntN(len(streams))
		s := streams[i]
		e := byStream[s][0]
		byStream[s] = byStream[s][1:]
		out = append(out, e)
		delivered[s] = append(delivered[s], e)
		if duplicates && r.IntN(2) == 0 {
			old := delivered[s]
			out = append(out, old[r.IntN(len(old))])
		}
		if len(byStream[s]) == 0 {
			streams = append(streams[:i], streams[i+1:]...)
		}
	}
	return out
}

// Message builds the message the relay publishes for e.
func Message(tb testing.TB, e eventstore.Event) *message.Message {
	tb.Helper()
	payload, err := json.Marshal(e)
	if err != nil {
		tb.Fatal(err)
	}
	m := message.NewMessage(e.EventID.String(), payload)
	m.Metadata.Set(bus.MetadataPartitionKey, e.StreamID)
	m.Metadata.Set(bus.MetadataEventType, e.Type)
	m.Metadata.Set(bus.MetadataStreamID, e.StreamID)
	m.Metadata.Set(bus.MetadataStreamType, e.StreamType)
	m.Metadata.Set(bus.MetadataStreamVersion, strconv.FormatInt(e.StreamVersion, 10))
	m.Metadata.Set(bus.MetadataGlobalPosition, strconv.FormatInt(e.GlobalPosition, 10))
	m.Metadata.Set(bus.MetadataSchemaVersion, strconv.Itoa(e.SchemaVersion))
	m.Metadata.Set(bus.MetadataCorrelationID, e.Metadata.CorrelationID)
	return m
}

// Publish publishes events, in order, to topic(stream type).
func Publish(tb testing.TB, pub message.Publisher, topic func(string) string, events ...eventstore.Event) {
	tb.Helper()
	for _, e := range events {
		if err := pub.Publish(topic(e.StreamType), Message(tb, e)); err != nil {
			tb.Fatalf("publish %s: %v", e.Type, err)
		}
	}
}

// Details builds valid job details.
func Details(tb testing.TB, in domain.JobDetailsInput) domain.JobDetails {
	tb.Helper()
	if in.Description == "" {
		in.Description = "A long enough description of the job: " + in.Title
	}
	if in.EmploymentType == "" {
		in.EmploymentType = "full_time"
	}
	if in.Seniority == "" {
		in.Seniority = "senior"
	}
	d, err := domain.NewJobDetails(in)
	if err != nil {
		tb.Fatalf("job details %q: %v", in.Title, err)
	}
	return d
}

// Board adds typical events to a history.
type Board struct {
	H   *History
	Now time.Time
}

// Company registers a company and returns its id.
func (b Board) Company(tb testing.TB, name string) string {
	tb.Helper()
	id := uuid.NewString()
	b.H.Add(tb, id, &domain.CompanyRegistered{CompanyID: id, Name: name, Email: id + "@example.com", RegisteredAt: b.Now})
	return id
}

// Candidate registers a candidate and returns its id.
func (b Board) Candidate(tb testing.TB, name string) string {
	tb.Helper()
	id := uuid.NewString()
	b.H.Add(tb, id, &domain.CandidateRegistered{CandidateID: id, Name: name, Email: id + "@example.com", RegisteredAt: b.Now})
	return id
}

// PostJob posts a job and returns its id.
func (b Board) PostJob(tb testing.TB, companyID string, in domain.JobDetailsInput) string {
	tb.Helper()
	id := uuid.NewString()
	b.H.Add(tb, id, &domain.JobPosted{JobID: id, CompanyID: companyID, Details: Details(tb, in), PostedAt: b.Now})
	return id
}

// Publish pays for and publishes a job, published at publishedAt for 30 days.
func (b Board) Publish(tb testing.TB, jobID, companyID string, featured bool, publishedAt time.Time) {
	tb.Helper()
	plan := domain.ListingPlanStandard
	if featured {
		plan = domain.ListingPlanFeatured
	}
	pay := uuid.NewString()
	b.H.Add(tb, jobID, &domain.ListingPaymentRequested{JobID: jobID, CompanyID: companyID, PaymentID: pay, Plan: plan,
		Amount: 10000, Currency: mustCurrency(tb, "EUR"), DurationSeconds: 30 * 86400, RequestedAt: publishedAt})
	b.H.Add(tb, jobID, &domain.ListingPaid{JobID: jobID, CompanyID: companyID, PaymentID: pay, Plan: plan,
		Amount: 10000, Currency: mustCurrency(tb, "EUR"), PaidAt: publishedAt})
	b.H.Add(tb, jobID, &domain.JobPublished{JobID: jobID, CompanyID: companyID, PaymentID: pay, Plan: plan,
		Featured: featured, PublishedAt: publishedAt, ExpiresAt: publishedAt.Add(30 * 24 * time.Hour)})
}

// Close closes a job.
func (b Board) Close(tb testing.TB, jobID, companyID string) {
	tb.Helper()
	b.H.Add(tb, jobID, &domain.JobClosed{JobID: jobID, CompanyID: companyID, ClosedAt: b.Now})
}

// Apply submits an application and returns its id.
func (b Board) Apply(tb testing.TB, jobID, companyID, candidateID string) string {
	tb.Helper()
	id := uuid.NewString()
	b.H.Add(tb, id, &domain.ApplicationSubmitted{ApplicationID: id, JobID: jobID, CompanyID: companyID,
		CandidateID: candidateID, ResumeURL: "https://cv.example.com/" + candidateID, SubmittedAt: b.Now})
	return id
}

func mustCurrency(tb testing.TB, code string) domain.Currency {
	tb.Helper()
	c, err := domain.ParseCurrency(code)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// WaitUntil polls cond every 20 ms until it holds or within passes.
func WaitUntil(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			tb.Fatalf("%s: not within %s", what, within)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Topics returns a topic function with a unique prefix, for isolated tests.
func Topics(suffix string) func(string) string {
	return func(streamType string) string { return fmt.Sprintf("test.%s.events.%s", suffix, streamType) }
}
