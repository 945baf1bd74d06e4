package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/internal/apperr"
)

// Problem is an RFC 9457 problem details document. Errors of every route are written as one.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Instance is the request id of the failed request, for support.
	Instance string `json:"instance,omitempty"`
	// Errors lists every field at fault, for invalid input ("salary.min", "tags[3]").
	Errors []apperr.FieldError `json:"errors,omitempty"`
	// Engines is "up" or "down" per dependency, on /readyz.
	Engines map[string]string `json:"engines,omitempty"`
	// Checks are the details of each dependency on /readyz, for operators only.
	Checks map[string]CheckResult `json:"checks,omitempty"`
}

// problemTypeBase prefixes the type URI of every problem; the OpenAPI document lists them.
const problemTypeBase = "https://jobboard.dev/problems/"

// statusOf is the one place where application error codes become HTTP statuses.
var statusOf = map[apperr.Code]int{
	apperr.Invalid:         http.StatusBadRequest,
	apperr.Unauthorized:    http.StatusUnauthorized,
	apperr.Forbidden:       http.StatusForbidden,
	apperr.NotFound:        http.StatusNotFound,
	apperr.Conflict:        http.StatusConflict,
	apperr.VersionMismatch: http.StatusConflict,
	apperr.Unprocessable:   http.StatusUnprocessableEntity,
	apperr.TooLarge:        http.StatusRequestEntityTooLarge,
	apperr.RateLimited:     http.StatusTooManyRequests,
	apperr.Timeout:         http.StatusGatewayTimeout,
	apperr.Unavailable:     http.StatusServiceUnavailable,
	apperr.Internal:        http.StatusInternalServerError,
}

// writeError answers err as problem+json: the only function that maps an application error
// code to an HTTP status. Errors that are not *apperr.Error are internal. Internal errors
// are logged with their detail, which the client never sees.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apperr.Error
	switch {
	case errors.As(err, &ae):
	case application.DatabaseUnreachable(err, r.Method == http.MethodGet || r.Method == http.MethodHead):
		ae = &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: 1, Err: err,
			Message: "a database is unreachable or starting up; retry after the time in Retry-After"}
	default:
		ae = apperr.Wrap(apperr.Internal, err, "internal error")
	}
	status, ok := statusOf[ae.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	p := Problem{
		Type:     problemTypeBase + string(ae.Code),
		Title:    http.StatusText(status),
		Status:   status,
		Detail:   ae.Message,
		Instance: requestIDFrom(r.Context()),
		Errors:   ae.Fields,
	}
	switch {
	case status == http.StatusInternalServerError:
		s.log.ErrorContext(r.Context(), "internal error", "error", err, "method", r.Method, "path", r.URL.Path, "request_id", p.Instance)
		p.Type, p.Detail, p.Errors = problemTypeBase+string(apperr.Internal), "internal error; quote the request id "+p.Instance, nil
	case status >= 500:
		s.log.WarnContext(r.Context(), "request failed", "error", err, "code", string(ae.Code), "request_id", p.Instance)
	}
	if ae.Code == apperr.RateLimited || ae.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, ae.RetryAfterSeconds)))
	}
	if ae.Code == apperr.Unauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="jobboard"`)
	}
	writeProblem(w, p)
}

// writeProblem writes p as application/problem+json.
func writeProblem(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON writes v as application/json with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
