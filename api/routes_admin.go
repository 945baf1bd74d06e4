package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/apperr"
)

// Admin is the port of the operator routes beyond the raw history: projection status and
// rebuilds, and one stream folded as of a time. internal/app implements it over
// projections/ and the domain; api imports neither. Every method returns *apperr.Error for
// what the client should see: NotFound for an unknown projection, rebuild or stream,
// Conflict for a rebuild already in progress.
type Admin interface {
	// Projections reports every projection that has a live version.
	Projections(ctx context.Context) ([]ProjectionStatus, error)
	// StartRebuild starts building the next version of a projection in the background of
	// this process and returns at once with the rebuild's id. The rebuild is not bound to
	// ctx (the request's): it runs until it is promoted, fails, or the process closes.
	StartRebuild(ctx context.Context, projection string) (string, error)
	// Rebuild reports a rebuild of projection; a rebuild of another projection is NotFound.
	Rebuild(ctx context.Context, projection, rebuildID string) (RebuildStatus, error)
	// Stream returns the events of a stream recorded at or before asOf (all of them when
	// asOf is zero) and the state folded from them. A stream without events by then is
	// NotFound.
	Stream(ctx context.Context, streamID string, asOf time.Time) (StreamAsOf, error)
}

// ProjectionStatus is an item of GET /v1/admin/projections.
type ProjectionStatus struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	// State is "live", "rebuilding" (serving Version while the next is built) or "failed"
	// (serving Version; the latest rebuild failed).
	State string `json:"state"`
	// LagEvents counts the stored events the live version has not applied yet.
	LagEvents int64 `json:"lag_events"`
	// LagSeconds is the age of the oldest of them, 0 without lag.
	LagSeconds  float64 `json:"lag_seconds"`
	LastError   string  `json:"last_error"`
	DeadLetters int64   `json:"dead_letters"`
	// Rebuild is the rebuild in progress, if any.
	Rebuild *RebuildStatus `json:"rebuild,omitempty"`
}

// RebuildStatus is the progress of one rebuild: GET
// /v1/admin/projections/{name}/rebuilds/{rebuild_id}.
type RebuildStatus struct {
	ID          string `json:"rebuild_id"`
	Projection  string `json:"projection"`
	FromVersion int    `json:"from_version"`
	ToVersion   int    `json:"to_version"`
	// State is running, catching_up, swapping, then done, failed or cancelled.
	State           string     `json:"state"`
	EventsDone      int64      `json:"events_done"`
	EventsTotal     int64      `json:"events_total"`
	EventsPerSecond float64    `json:"events_per_second"`
	ETASeconds      float64    `json:"eta_seconds"`
	StartedAt       time.Time  `json:"started_at"`
	FinishedAt      *time.Time `json:"finished_at"`
	Error           string     `json:"error,omitempty"`
}

// StreamAsOf is one stream as of a time, as the Admin port returns it.
type StreamAsOf struct {
	StreamID   string
	StreamType string
	// Version is the stream version of the last event returned.
	Version int64
	Events  []eventstore.Event
	State   StreamState
}

// StreamState is the state of one aggregate, folded from its events: *JobState,
// *ApplicationState, *CompanyState or *CandidateState.
type StreamState interface{ streamState() }

// JobState is a job's state as the domain folds it.
type JobState struct {
	ID          string            `json:"id"`
	CompanyID   string            `json:"company_id"`
	Status      string            `json:"status"`
	Details     JobDetailsState   `json:"details"`
	Plan        string            `json:"plan"`
	Featured    bool              `json:"featured"`
	PostedAt    time.Time         `json:"posted_at"`
	PublishedAt *time.Time        `json:"published_at"`
	ExpiresAt   *time.Time        `json:"expires_at"`
	ClosedAt    *time.Time        `json:"closed_at"`
	ExpiredAt   *time.Time        `json:"expired_at"`
	Payments    []JobPaymentState `json:"payments"`
}

// JobDetailsState is what a job says about itself.
type JobDetailsState struct {
	Title          string   `json:"title"`
	Description    string   `json:"description"`
	EmploymentType string   `json:"employment_type"`
	Seniority      string   `json:"seniority"`
	Location       Location `json:"location"`
	Salary         *Salary  `json:"salary"`
	Tags           []string `json:"tags"`
	ApplyURL       string   `json:"apply_url"`
}

// JobPaymentState is one listing payment of a job.
type JobPaymentState struct {
	PaymentID       string     `json:"payment_id"`
	PaymentIntentID string     `json:"payment_intent_id"`
	Plan            string     `json:"plan"`
	Amount          int64      `json:"amount"`
	Currency        string     `json:"currency"`
	Status          string     `json:"status"`
	RequestedAt     time.Time  `json:"requested_at"`
	PaidAt          *time.Time `json:"paid_at"`
	FailedAt        *time.Time `json:"failed_at"`
}

// ApplicationState is an application's state.
type ApplicationState struct {
	ID          string    `json:"id"`
	JobID       string    `json:"job_id"`
	CompanyID   string    `json:"company_id"`
	CandidateID string    `json:"candidate_id"`
	Status      string    `json:"status"`
	ResumeURL   string    `json:"resume_url"`
	CoverLetter string    `json:"cover_letter"`
	SubmittedAt time.Time `json:"submitted_at"`
}

// CompanyState is a company's state.
type CompanyState struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	Website      string    `json:"website"`
	Description  string    `json:"description"`
	RegisteredAt time.Time `json:"registered_at"`
}

// CandidateState is a candidate's state.
type CandidateState struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	RegisteredAt time.Time `json:"registered_at"`
}

func (*JobState) streamState()         {}
func (*ApplicationState) streamState() {}
func (*CompanyState) streamState()     {}
func (*CandidateState) streamState()   {}

// registerOperatorRoutes: projection status and rebuilds, and a stream as of a time;
// operator token only (another valid token: 403). A rebuild is a POST, so it takes an
// Idempotency-Key like every POST: a retried start answers the first rebuild_id instead
// of 409.
func (s *Server) registerOperatorRoutes(v1 *mux.Router) {
	g := group(v1, s.authenticate, s.operatorOnly, s.idempotent)
	g.HandleFunc("/admin/projections", s.handleAdminProjections).Methods(http.MethodGet)
	g.HandleFunc("/admin/projections/{name}/rebuild", s.handleStartRebuild).Methods(http.MethodPost)
	g.HandleFunc("/admin/projections/{name}/rebuilds/{rebuild_id}", s.handleRebuildStatus).Methods(http.MethodGet)
	g.HandleFunc("/admin/streams/{stream_id}", s.handleAdminStream).Methods(http.MethodGet)
}

func (s *Server) handleAdminProjections(w http.ResponseWriter, r *http.Request) {
	all, err := s.cfg.Admin.Projections(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if all == nil {
		all = []ProjectionStatus{}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, all)
}

type rebuildStarted struct {
	RebuildID string `json:"rebuild_id"`
}

func (s *Server) handleStartRebuild(w http.ResponseWriter, r *http.Request) {
	if err := decodeEmpty(w, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	name := mux.Vars(r)["name"]
	if !validFilterText(name) {
		s.writeError(w, r, apperr.New(apperr.NotFound, "no projection named %q", name))
		return
	}
	id, err := s.cfg.Admin.StartRebuild(r.Context(), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/admin/projections/"+name+"/rebuilds/"+id)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusAccepted, rebuildStarted{RebuildID: id})
}

func (s *Server) handleRebuildStatus(w http.ResponseWriter, r *http.Request) {
	name, raw := mux.Vars(r)["name"], mux.Vars(r)["rebuild_id"]
	id, ok := parseUUID(raw)
	if !ok || !validFilterText(name) {
		// Rebuild ids are UUIDs: anything else names nothing and never reaches the store.
		s.writeError(w, r, apperr.New(apperr.NotFound, "no rebuild %s of projection %q", raw, name))
		return
	}
	st, err := s.cfg.Admin.Rebuild(r.Context(), name, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, st)
}

// streamView is the answer of GET /v1/admin/streams/{stream_id}.
type streamView struct {
	StreamID   string       `json:"stream_id"`
	StreamType string       `json:"stream_type"`
	Version    int64        `json:"version"`
	AsOf       *time.Time   `json:"as_of,omitempty"`
	Events     []adminEvent `json:"events"`
	State      StreamState  `json:"state"`
}

func (s *Server) handleAdminStream(w http.ResponseWriter, r *http.Request) {
	raw := mux.Vars(r)["stream_id"]
	id, ok := parseUUID(raw)
	if !ok {
		// Every stream is an aggregate's, named by a UUID.
		s.writeError(w, r, apperr.New(apperr.NotFound, "no stream %s: stream ids are UUIDs", raw))
		return
	}
	var asOf time.Time
	q, bad := parseQuery(r.URL.RawQuery)
	if len(bad) > 0 {
		s.writeError(w, r, apperr.InvalidFields(bad...))
		return
	}
	if len(q["as_of"]) > 1 {
		s.writeError(w, r, invalidField("as_of", "give it once"))
		return
	}
	if v := q.Get("as_of"); v != "" {
		var err error
		if asOf, err = time.Parse(time.RFC3339Nano, v); err != nil {
			s.writeError(w, r, invalidField("as_of", "must be an RFC 3339 time such as 2025-01-31T12:00:00Z"))
			return
		}
	}
	st, err := s.cfg.Admin.Stream(r.Context(), id, asOf)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := streamView{StreamID: st.StreamID, StreamType: st.StreamType, Version: st.Version,
		Events: make([]adminEvent, len(st.Events)), State: st.State}
	if !asOf.IsZero() {
		t := asOf.UTC()
		out.AsOf = &t
	}
	for i, e := range st.Events {
		out.Events[i] = adminEventOf(e)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}
