package projections

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

func TestRetryPolicyRetriesUntilSuccessOrTheLimit(t *testing.T) {
	failTimes := func(n int, err error) (message.HandlerFunc, *int) {
		calls := 0
		return func(*message.Message) ([]*message.Message, error) {
			calls++
			if calls <= n {
				return nil, err
			}
			return nil, nil
		}, &calls
	}
	p := retryPolicy{max: 3, initial: time.Millisecond, maxInterval: 4 * time.Millisecond, logger: slog.New(slog.DiscardHandler)}
	boom := errors.New("boom")
	for _, tc := range []struct {
		name      string
		fails     int
		err       error
		wantCalls int
		wantErr   error
	}{
		{"succeeds at once", 0, boom, 1, nil},
		{"succeeds on the last retry", 3, boom, 4, nil},
		{"gives up after the retries", 10, boom, 4, boom},
		{"a permanent error is not retried", 10, Permanent(boom), 1, boom},
		{"an outage is retried", 2, Transient(boom), 3, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, calls := failTimes(tc.fails, tc.err)
			_, err := p.handle(message.NewMessage("m", nil), h)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if *calls != tc.wantCalls {
				t.Fatalf("%d calls, want %d", *calls, tc.wantCalls)
			}
		})
	}
}

func TestRetryPolicyStopsWithTheMessageContext(t *testing.T) {
	p := retryPolicy{max: 5, initial: time.Hour, maxInterval: time.Hour, logger: slog.New(slog.DiscardHandler)}
	msg := message.NewMessage("m", nil)
	ctx, cancel := context.WithCancel(context.Background())
	msg.SetContext(ctx)
	calls := 0
	h := func(*message.Message) ([]*message.Message, error) {
		calls++
		cancel() // the partition is lost while the first attempt runs
		return nil, errors.New("boom")
	}
	_, err := p.handle(msg, h)
	// A cancellation is redelivered, never dead-lettered.
	if !errors.Is(err, context.Canceled) || !IsTransient(err) {
		t.Fatalf("err = %v, want the context's cancellation", err)
	}
	if calls != 1 {
		t.Fatalf("%d calls, want 1", calls)
	}
}

func TestRetryPolicyTurnsAPanicIntoAnError(t *testing.T) {
	p := retryPolicy{max: 1, initial: time.Millisecond, maxInterval: time.Millisecond, logger: slog.New(slog.DiscardHandler)}
	calls := 0
	_, err := p.handle(message.NewMessage("m", nil), func(*message.Message) ([]*message.Message, error) {
		calls++
		panic("projector bug")
	})
	var pe middleware.RecoveredPanicError
	if !errors.As(err, &pe) || pe.V != "projector bug" {
		t.Fatalf("err = %v, want the recovered panic", err)
	}
	if calls != 2 {
		t.Fatalf("%d calls, want 2 (1 + 1 retry)", calls)
	}
}
