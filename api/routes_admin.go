package api

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/internal/apperr"
)

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
	all, err := s.app.Admin.Projections.Handle(r.Context(), application.ListProjections{})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if all == nil {
		all = []application.ProjectionStatus{}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, all)
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
	started, err := s.app.Admin.StartRebuild.Handle(r.Context(), application.StartRebuild{Projection: name})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/admin/projections/"+name+"/rebuilds/"+started.RebuildID)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusAccepted, started)
}

func (s *Server) handleRebuildStatus(w http.ResponseWriter, r *http.Request) {
	name, raw := mux.Vars(r)["name"], mux.Vars(r)["rebuild_id"]
	id, ok := parseUUID(raw)
	if !ok || !validFilterText(name) {
		// Rebuild ids are UUIDs: anything else names nothing and never reaches the store.
		s.writeError(w, r, apperr.New(apperr.NotFound, "no rebuild %s of projection %q", raw, name))
		return
	}
	st, err := s.app.Admin.Rebuild.Handle(r.Context(), application.GetRebuild{Projection: name, RebuildID: id})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, st)
}

// streamView is the answer of GET /v1/admin/streams/{stream_id}.
type streamView struct {
	StreamID   string                  `json:"stream_id"`
	StreamType string                  `json:"stream_type"`
	Version    int64                   `json:"version"`
	AsOf       *time.Time              `json:"as_of,omitempty"`
	Events     []application.Event     `json:"events"`
	State      application.StreamState `json:"state"`
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
	st, err := s.app.Admin.Stream.Handle(r.Context(), application.GetStream{StreamID: id, AsOf: asOf})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := streamView{StreamID: st.StreamID, StreamType: st.StreamType, Version: st.Version, Events: st.Events, State: st.State}
	if !asOf.IsZero() {
		t := asOf.UTC()
		out.AsOf = &t
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}
