package api

import (
	"github.com/jobboard/jobboard/application"

	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/jobboard/jobboard/internal/apperr"
)

type requestIDKey struct{}

// requestIDFrom returns the request's id (X-Request-ID), also the correlation id of the
// events its command appends.
func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// validRequestID accepts a client's X-Request-ID if it is short, visible ASCII: it ends up
// in logs and event metadata.
func validRequestID(id string) bool { return visibleASCII(id, 128) }

// visibleASCII reports whether s is 1 to maxLen visible ASCII characters.
func visibleASCII(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// routeTemplate is the path template of the route r matched ("unmatched" if none), a
// label of bounded cardinality for logs and metrics.
func routeTemplate(r *http.Request) string {
	if cr := mux.CurrentRoute(r); cr != nil {
		if tpl, err := cr.GetPathTemplate(); err == nil {
			return tpl
		}
	}
	return "unmatched"
}

// requestID takes the client's X-Request-ID (or makes one), echoes it and stores it in the
// context.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-ID", id)
		// The application's handlers log the same id (their tracing context).
		ctx := application.WithCorrelationID(context.WithValue(r.Context(), requestIDKey{}, id), id)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// accessRecord collects what the access log line reports; inner middleware fill it in.
type accessRecord struct {
	actor string
}

type accessRecordKey struct{}

func accessRecordFrom(ctx context.Context) *accessRecord {
	rec, _ := ctx.Value(accessRecordKey{}).(*accessRecord)
	return rec
}

// accessLog writes one structured line per request.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &accessRecord{actor: "anonymous"}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), accessRecordKey{}, rec)))
		s.log.LogAttrs(r.Context(), levelOf(sw.status), "http request",
			slog.String("method", r.Method), slog.String("route", routeTemplate(r)), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Int("bytes", sw.bytes), slog.Duration("duration", time.Since(start)),
			slog.String("request_id", requestIDFrom(r.Context())), slog.String("actor", rec.actor),
			slog.String("remote", r.RemoteAddr))
	})
}

// recoverer turns a panic into a 500 problem (logged with its stack) instead of a dropped
// connection.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "panic", "panic", v, "stack", string(debug.Stack()), "request_id", requestIDFrom(r.Context()))
			s.writeError(w, r, apperr.New(apperr.Internal, "internal error"))
		}()
		next.ServeHTTP(w, r)
	})
}

// levelOf logs server errors as errors and everything else at info.
func levelOf(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}
