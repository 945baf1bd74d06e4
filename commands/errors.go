package commands

import (
	"context"
	"errors"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/internal/apperr"
)

// translate turns a domain or port error into the *apperr.Error the API maps to HTTP.
// An actor who is not the owner of an aggregate learns nothing of it: NotFound (a
// Forbidden for an action on what they may see is decided before, see loadOwnedJob).
func translate(err error, what string) error {
	var ae *apperr.Error
	var ve *domain.ValidationError
	var claim *ClaimTakenError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &ve):
		fields := make([]apperr.FieldError, len(ve.Fields))
		for i, f := range ve.Fields {
			fields[i] = apperr.FieldError{Field: f.Field, Message: f.Message}
		}
		e := apperr.InvalidFields(fields...)
		e.Err = err
		return e
	case errors.Is(err, domain.ErrNotOwner), errors.Is(err, domain.ErrNotFound):
		return apperr.Wrap(apperr.NotFound, err, "%s not found", what)
	case errors.As(err, &claim) && claim.Scope == ClaimApplication:
		return apperr.Wrap(apperr.Conflict, err, "you have already applied to this job")
	case errors.As(err, &claim):
		return apperr.Wrap(apperr.Conflict, err, "a %s with this e-mail address already exists", what)
	case errors.Is(err, domain.ErrPaymentNotFound):
		return apperr.Wrap(apperr.NotFound, err, "listing payment not found")
	case errors.Is(err, domain.ErrPaymentMismatch):
		return apperr.Wrap(apperr.Unprocessable, err, "the amount or currency paid is not the one requested")
	case errors.Is(err, domain.ErrJobNotPublished):
		return apperr.Wrap(apperr.Conflict, err, "the job is not published")
	case errors.Is(err, domain.ErrJobAlreadyPublished):
		return apperr.Wrap(apperr.Conflict, err, "the job is already published")
	case errors.Is(err, domain.ErrJobClosed):
		return apperr.Wrap(apperr.Conflict, err, "the job is closed")
	case errors.Is(err, domain.ErrJobExpired):
		return apperr.Wrap(apperr.Conflict, err, "the job has expired")
	case errors.Is(err, domain.ErrIllegalTransition):
		return apperr.Wrap(apperr.Conflict, err, "%s", err.Error())
	case errors.Is(err, domain.ErrAlreadyExists):
		return apperr.Wrap(apperr.Conflict, err, "the %s already exists", what)
	case errors.Is(err, ErrConcurrencyConflict):
		return apperr.Wrap(apperr.Conflict, err, "the %s was changed concurrently; try again", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apperr.Wrap(apperr.Unavailable, err, "the request was cancelled or timed out")
	default:
		return apperr.Wrap(apperr.Internal, err, "internal error")
	}
}

func invalidField(field, message string) *apperr.Error {
	return apperr.InvalidFields(apperr.FieldError{Field: field, Message: message})
}
