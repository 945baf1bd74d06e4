package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Command handlers map them to application error codes with errors.Is;
// the typed errors below wrap one of them.
var (
	// ErrValidation is matched by every *ValidationError.
	ErrValidation = errors.New("invalid input")
	// ErrNotFound: a stream has no history (the aggregate does not exist).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the aggregate or the payment id already exists with other data.
	ErrAlreadyExists = errors.New("already exists")
	// ErrNotOwner: the actor is not the company or candidate the aggregate belongs to.
	ErrNotOwner = errors.New("not the owner")
	// ErrUnknownEvent: a history holds an event this aggregate does not know.
	ErrUnknownEvent = errors.New("unknown event")

	// ErrJobNotPublished: the job is not published (awaiting payment), so it takes no
	// applications.
	ErrJobNotPublished = errors.New("job is not published")
	// ErrJobAlreadyPublished: a listing payment was requested for a job that is live.
	ErrJobAlreadyPublished = errors.New("job is already published")
	// ErrJobClosed: the job was closed by its company.
	ErrJobClosed = errors.New("job is closed")
	// ErrJobExpired: the job's listing ran out.
	ErrJobExpired = errors.New("job has expired")
	// ErrPaymentNotFound: the job has no listing payment with that id.
	ErrPaymentNotFound = errors.New("listing payment not found")
	// ErrPaymentMismatch: the amount or currency paid is not the one requested.
	ErrPaymentMismatch = errors.New("listing payment amount or currency mismatch")
	// ErrNothingDue: a listing payment succeeded although nothing is due for it (see
	// Job.ConfirmListingPayment); the caller refunds it and records RefundListingPayment.
	ErrNothingDue = errors.New("nothing is due for this listing payment")
	// ErrPaymentDue: a refund was recorded for a payment that is due (it pays for the listing).
	ErrPaymentDue = errors.New("listing payment is due, not refundable")

	// ErrIllegalTransition: the application cannot move from its status to the asked one.
	ErrIllegalTransition = errors.New("illegal application status transition")
)

// FieldError is one problem with one input field. Field is a path into the request body:
// "title", "salary.min", "location.countries[2]", "tags[3]".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every field at fault, in the order the fields were checked.
// errors.Is(err, ErrValidation) holds; errors.As finds typed causes such as
// SalaryRangeError.
type ValidationError struct {
	Fields []FieldError
	causes []error
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrValidation) true.
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

// Unwrap exposes the typed causes behind some field errors (e.g. SalaryRangeError).
func (e *ValidationError) Unwrap() []error { return e.causes }

// problems collects field errors while validating; err() returns nil when there are none.
type problems struct {
	fields []FieldError
	causes []error
}

func (p *problems) add(field, format string, args ...any) {
	p.fields = append(p.fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (p *problems) addCause(field string, cause error) {
	p.fields = append(p.fields, FieldError{Field: field, Message: cause.Error()})
	p.causes = append(p.causes, cause)
}

func (p *problems) err() error {
	if len(p.fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: p.fields, causes: p.causes}
}

// SalaryRangeError: a salary's minimum is above its maximum.
type SalaryRangeError struct {
	Min, Max int64
}

func (e SalaryRangeError) Error() string {
	return fmt.Sprintf("minimum %d is greater than maximum %d", e.Min, e.Max)
}

// Unwrap makes errors.Is(err, ErrValidation) hold for a bare SalaryRangeError too.
func (e SalaryRangeError) Unwrap() error { return ErrValidation }

// PaymentMismatchError: a confirmation reported another amount or currency than the listing
// payment asked for. It wraps ErrPaymentMismatch.
type PaymentMismatchError struct {
	PaymentID                 string
	WantAmount, GotAmount     int64
	WantCurrency, GotCurrency string
}

func (e PaymentMismatchError) Error() string {
	return fmt.Sprintf("listing payment %s: paid %d %s, want %d %s",
		e.PaymentID, e.GotAmount, e.GotCurrency, e.WantAmount, e.WantCurrency)
}

func (e PaymentMismatchError) Unwrap() error { return ErrPaymentMismatch }

// StatusTransitionError: an application cannot go From its status To the asked one. It wraps
// ErrIllegalTransition.
type StatusTransitionError struct {
	From, To ApplicationStatus
}

func (e StatusTransitionError) Error() string {
	return fmt.Sprintf("application cannot go from %s to %s", e.From, e.To)
}

func (e StatusTransitionError) Unwrap() error { return ErrIllegalTransition }
