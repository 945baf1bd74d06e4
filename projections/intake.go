package projections

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"
)

// intake is the whole middleware of a projector's handler, in one function: it gives the
// message a correlation id, tracks the projector's positions and outcome counters, retries
// a failure in place, and gives up on what fails for good (the batcher passes its turn to
// the messages after it, the poison queue dead-letters it). It replaces a chain of six
// Watermill middlewares, each a frame and a closure per message: in a profile of a backlog
// drain, the chain's setup (Retry's backoff, options and timer) and the growth of every
// per-message goroutine's stack through its depth cost more than decoding the payload.
type intake struct {
	outcomes *outcomes
	poison   message.HandlerMiddleware
	batcher  *batcher
	retries  retryPolicy
}

func (in intake) middleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		if middleware.MessageCorrelationID(msg) == "" {
			// The relay copies the event's; events without one get a new id so logs and
			// dead letters can be traced.
			middleware.SetCorrelationID(uuid.NewString(), msg)
		}
		gp := in.outcomes.see(msg)
		out, err := in.retries.handle(msg, h)
		if err != nil && !IsTransient(err) {
			// Given up on: the messages of its partition held back for its retries go on,
			// and it is dead-lettered. Outages and cancellations (a lost partition,
			// shutdown) are redelivered, never dead-lettered.
			in.batcher.pass(msg.Context())
			out, err = in.poison(func(*message.Message) ([]*message.Message, error) { return out, err })(msg)
		}
		in.outcomes.done(gp, err)
		return out, err
	}
}

// retryPolicy retries a failed message in place up to max times with an exponential
// backoff (from initial, doubling, at most maxInterval, ±20 % at random), unless the error
// is Permanent, as Watermill's middleware.Retry did; a message that succeeds costs one call.
// A panic of the handler is an error (middleware.RecoveredPanicError), retried like one.
type retryPolicy struct {
	max                  int
	initial, maxInterval time.Duration
	logger               *slog.Logger
}

func (p retryPolicy) handle(msg *message.Message, h message.HandlerFunc) ([]*message.Message, error) {
	out, err := attempt(msg, h)
	if err == nil || IsPermanent(err) {
		return out, err
	}
	return p.retry(msg, h, out, err)
}

// retry is the slow path of handle, after the first attempt failed with err.
func (p retryPolicy) retry(msg *message.Message, h message.HandlerFunc, out []*message.Message, err error) ([]*message.Message, error) {
	ctx := msg.Context()
	interval := p.initial
	for try := 1; try <= p.max; try++ {
		if ctx.Err() != nil {
			// The message is redelivered (a lost partition, shutdown): not dead-lettered.
			return out, context.Cause(ctx)
		}
		delay := interval + time.Duration((rand.Float64()*2-1)*0.2*float64(interval))
		p.logger.Warn("handling failed, retrying", "err", err, "retry_no", try, "max_retries", p.max,
			"wait_time", delay, "message_uuid", msg.UUID)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return out, context.Cause(ctx)
		case <-t.C:
		}
		out, err = attempt(msg, h)
		if err == nil || IsPermanent(err) {
			return out, err
		}
		interval = min(2*interval, p.maxInterval)
	}
	return out, err
}

func attempt(msg *message.Message, h message.HandlerFunc) (out []*message.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = middleware.RecoveredPanicError{V: r, Stacktrace: string(debug.Stack())}
		}
	}()
	return h(msg)
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
