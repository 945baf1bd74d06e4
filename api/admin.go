package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/internal/apperr"
)

// registerAdminRoutes: operators' and analysts' views, operator token only (another valid
// token: 403).
func (s *Server) registerAdminRoutes(v1 *mux.Router) {
	g := group(v1, s.authenticate, s.operatorOnly)
	g.HandleFunc("/admin/events", s.handleAdminEvents).Methods(http.MethodGet)
}

// adminEvent is one stored event as GET /v1/admin/events shows it.
type adminEvent struct {
	GlobalPosition int64               `json:"global_position"`
	StreamID       string              `json:"stream_id"`
	StreamType     string              `json:"stream_type"`
	Version        int64               `json:"version"`
	Type           string              `json:"type"`
	SchemaVersion  int                 `json:"schema_version"`
	Data           json.RawMessage     `json:"data"`
	Metadata       eventstore.Metadata `json:"metadata"`
	RecordedAt     time.Time           `json:"recorded_at"`
}

// adminEventOf is how both GET /v1/admin/events and GET /v1/admin/streams/{id} show an event.
func adminEventOf(e eventstore.Event) adminEvent {
	return adminEvent{
		GlobalPosition: e.GlobalPosition, StreamID: e.StreamID, StreamType: e.StreamType, Version: e.StreamVersion,
		Type: e.Type, SchemaVersion: e.SchemaVersion, Data: e.Data, Metadata: e.Metadata, RecordedAt: e.RecordedAt.UTC(),
	}
}

type adminEventsPage struct {
	Items []adminEvent `json:"items"`
	// NextAfter is the after= of the next page: the last item's global position, or the
	// request's after when the page is empty (poll again later).
	NextAfter int64 `json:"next_after"`
}

const (
	defaultAdminEventsLimit = 100
	maxAdminEventsLimit     = 1000
)

// eventsQuery is the parsed query of GET /v1/admin/events.
type eventsQuery struct {
	after  int64
	limit  int
	filter eventstore.ReadFilter
}

// parseEventsQuery reads after, limit, stream, stream_type, type (repeatable or comma
// separated), since and until; every parameter at fault is named.
func parseEventsQuery(r *http.Request) (eventsQuery, error) {
	q, fields := parseQuery(r.URL.RawQuery)
	out := eventsQuery{limit: defaultAdminEventsLimit}
	bad := func(name, msg string) { fields = append(fields, apperr.FieldError{Field: name, Message: msg}) }
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			bad("after", "must be a global position, an integer ≥ 0")
		}
		out.after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAdminEventsLimit {
			bad("limit", "must be an integer from 1 to 1000")
		}
		out.limit = n
	}
	text := func(name, v string) string {
		if !validFilterText(v) {
			bad(name, "must be printable UTF-8 text of at most 200 bytes")
			return ""
		}
		return v
	}
	out.filter.StreamID = text("stream", q.Get("stream"))
	out.filter.StreamType = text("stream_type", q.Get("stream_type"))
	for _, v := range q["type"] {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out.filter.Types = append(out.filter.Types, text("type", t))
			}
		}
	}
	if len(out.filter.Types) > 50 {
		bad("type", "at most 50 types")
	}
	parseTime := func(name string, dst *time.Time) {
		v := q.Get(name)
		if v == "" {
			return
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			bad(name, "must be an RFC 3339 time such as 2025-01-31T12:00:00Z")
		}
		*dst = t
	}
	parseTime("since", &out.filter.Since)
	parseTime("until", &out.filter.Until)
	if len(fields) > 0 {
		return out, apperr.InvalidFields(fields...)
	}
	return out, nil
}

// handleAdminEvents pages through the raw history in commit-safe order. after is a global
// position; the store resumes from that event's (transaction id, position), so a page never
// skips an event committed late by a concurrent transaction.
func (s *Server) handleAdminEvents(w http.ResponseWriter, r *http.Request) {
	q, err := parseEventsQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	after, err := s.cfg.Events.PositionOf(r.Context(), q.after)
	if errors.Is(err, eventstore.ErrPositionNotFound) {
		s.writeError(w, r, invalidField("after", "no event has this global position; use a next_after this route returned"))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	events, err := s.cfg.Events.ReadAll(r.Context(), after, q.limit, q.filter)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page := adminEventsPage{Items: make([]adminEvent, len(events)), NextAfter: q.after}
	for i, e := range events {
		page.Items[i] = adminEventOf(e)
		page.NextAfter = e.GlobalPosition
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, page)
}

// validFilterText keeps what PostgreSQL cannot store or compare (NUL, invalid UTF-8) out of
// the query.
func validFilterText(v string) bool {
	if len(v) > 200 || !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
