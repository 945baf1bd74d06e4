package apperr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jobboard/jobboard/internal/apperr"
)

func TestCodeOf(t *testing.T) {
	t.Parallel()
	cause := errors.New("duplicate key")
	wrapped := fmt.Errorf("register: %w", apperr.Wrap(apperr.Conflict, cause, "email taken"))
	if got := apperr.CodeOf(wrapped); got != apperr.Conflict {
		t.Errorf("CodeOf(wrapped conflict) = %q", got)
	}
	if !errors.Is(wrapped, cause) {
		t.Error("the cause is lost")
	}
	if got := apperr.CodeOf(errors.New("boom")); got != apperr.Internal {
		t.Errorf("CodeOf(plain error) = %q, want internal", got)
	}
	if got := apperr.CodeOf(nil); got != "" {
		t.Errorf("CodeOf(nil) = %q", got)
	}
}
