package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/internal/apperr"
)

// registerAdminRoutes: operators' and analysts' views, operator token only (another valid
// token: 403).
func (s *Server) registerAdminRoutes(v1 *mux.Router) {
	g := group(v1, s.authenticate, s.operatorOnly)
	g.HandleFunc("/admin/events", s.handleAdminEvents).Methods(http.MethodGet)
}

const (
	defaultAdminEventsLimit = 100
	maxAdminEventsLimit     = 1000
)

// parseEventsQuery reads after, limit, stream, stream_type, type (repeatable or comma
// separated), since and until; every parameter at fault is named.
func parseEventsQuery(r *http.Request) (application.ReadEvents, error) {
	q, fields := parseQuery(r.URL.RawQuery)
	out := application.ReadEvents{Limit: defaultAdminEventsLimit}
	bad := func(name, msg string) { fields = append(fields, apperr.FieldError{Field: name, Message: msg}) }
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			bad("after", "must be a global position, an integer ≥ 0")
		}
		out.After = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAdminEventsLimit {
			bad("limit", "must be an integer from 1 to 1000")
		}
		out.Limit = n
	}
	text := func(name, v string) string {
		if !validFilterText(v) {
			bad(name, "must be printable UTF-8 text of at most 200 bytes")
			return ""
		}
		return v
	}
	out.Filter.StreamID = text("stream", q.Get("stream"))
	out.Filter.StreamType = text("stream_type", q.Get("stream_type"))
	for _, v := range q["type"] {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out.Filter.Types = append(out.Filter.Types, text("type", t))
			}
		}
	}
	if len(out.Filter.Types) > 50 {
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
	parseTime("since", &out.Filter.Since)
	parseTime("until", &out.Filter.Until)
	if len(fields) > 0 {
		return out, apperr.InvalidFields(fields...)
	}
	return out, nil
}

// handleAdminEvents pages through the raw history in commit-safe order. after is a global
// position; the history resumes from that event's place in commit order, so a page never
// skips an event committed late by a concurrent transaction.
func (s *Server) handleAdminEvents(w http.ResponseWriter, r *http.Request) {
	q, err := parseEventsQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.app.Admin.Events.Handle(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
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
