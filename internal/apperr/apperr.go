// Package apperr is the one application error type. Commands and queries return it; the
// HTTP adapter maps its Code to a status in exactly one place (api.writeError). Only
// internal errors are logged with their detail; the others are the client's business.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an error for the client. The set is small on purpose.
type Code string

const (
	Invalid         Code = "invalid"          // 400: the input is wrong; Fields says where
	Unauthorized    Code = "unauthorized"     // 401: no or unknown credentials
	Forbidden       Code = "forbidden"        // 403: known caller, not allowed to act
	NotFound        Code = "not_found"        // 404: absent, or private to someone else
	Conflict        Code = "conflict"         // 409: the state forbids it (or a duplicate)
	VersionMismatch Code = "version_mismatch" // 409: If-Match / expected version differs
	Unprocessable   Code = "unprocessable"    // 422: e.g. an Idempotency-Key reused with another body
	TooLarge        Code = "too_large"        // 413: body over the limit
	RateLimited     Code = "rate_limited"     // 429: slow down; RetryAfter says how long
	Timeout         Code = "timeout"          // 504: waited for a projection too long
	Unavailable     Code = "unavailable"      // 503: a dependency is down; try again
	Internal        Code = "internal"         // 500: our fault; logged, detail hidden
)

// FieldError names one field at fault as a JSON path ("salary.min", "tags[3]").
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the application error.
type Error struct {
	Code    Code
	Message string       // safe to show to the client
	Fields  []FieldError // for Invalid
	// RetryAfterSeconds is set for RateLimited.
	RetryAfterSeconds int
	// Err is the cause, for logs and errors.Is; never shown to clients.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with a code and a client-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with a code and message whose cause is err.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// InvalidFields returns an Invalid error listing every field at fault.
func InvalidFields(fields ...FieldError) *Error {
	return &Error{Code: Invalid, Message: "the request has invalid fields", Fields: fields}
}

// CodeOf returns the code of the first *Error in err's chain, Internal otherwise.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}
