package projections

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// retrying retries a message whose handling failed, in place, up to maxRetries times with
// an exponential backoff (from initial, doubling, at most maxInterval, ±20 % at random),
// unless the error is Permanent. It does what Watermill's middleware.Retry did here, without
// that middleware's setup for every message (a backoff, its options, a timer and closures,
// most of a live message's allocations after decoding in a profile of a backlog drain):
// a message that succeeds costs one call.
func retrying(maxRetries int, initial, maxInterval time.Duration, logger *slog.Logger) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err == nil || IsPermanent(err) {
				return out, err
			}
			return retry(msg, h, out, err, maxRetries, initial, maxInterval, logger)
		}
	}
}

// retry is the slow path of retrying, after the first attempt failed with err.
func retry(msg *message.Message, h message.HandlerFunc, out []*message.Message, err error,
	maxRetries int, initial, maxInterval time.Duration, logger *slog.Logger) ([]*message.Message, error) {
	ctx := msg.Context()
	interval := initial
	for try := 1; try <= maxRetries; try++ {
		if ctx.Err() != nil {
			// The message is redelivered (a lost partition, shutdown): not dead-lettered.
			return out, context.Cause(ctx)
		}
		delay := interval + time.Duration((rand.Float64()*2-1)*0.2*float64(interval))
		logger.Warn("handling failed, retrying", "err", err, "retry_no", try, "max_retries", maxRetries,
			"wait_time", delay, "message_uuid", msg.UUID)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return out, context.Cause(ctx)
		case <-t.C:
		}
		out, err = h(msg)
		if err == nil || IsPermanent(err) {
			return out, err
		}
		interval = min(2*interval, maxInterval)
	}
	return out, err
}

// routerLogger drops Watermill's trace lines (the router writes two for every message)
// before their fields become slog attributes, unless the logger takes the trace level.
type routerLogger struct {
	watermill.LoggerAdapter
	trace bool
}

func newRouterLogger(l *slog.Logger) routerLogger {
	return routerLogger{
		LoggerAdapter: watermill.NewSlogLogger(l),
		trace:         l.Enabled(context.Background(), watermill.LevelTrace),
	}
}

func (l routerLogger) Trace(msg string, fields watermill.LogFields) {
	if l.trace {
		l.LoggerAdapter.Trace(msg, fields)
	}
}

func (l routerLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return routerLogger{LoggerAdapter: l.LoggerAdapter.With(fields), trace: l.trace}
}
