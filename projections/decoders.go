package projections

import (
	"context"
	"errors"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
)

var errDecodersStopped = Transient(errors.New("projections: decoders stopped"))

// decoders decode the runner's messages on a few long-lived goroutines. Watermill's router
// handles every message in a goroutine of its own, which starts with a small stack: JSON
// decoding there (the envelope, then the payload) grew and copied that stack once per
// message, a third of the decoding's CPU while a backlog drains (docs/BENCHMARKS.md,
// "Backlog drain"). A decoder goroutine grows its stack once.
type decoders struct {
	jobs    chan *decodeJob
	stopped chan struct{}
}

type decodeJob struct {
	msg  *message.Message
	ev   Event
	err  error
	done chan struct{}
}

var decodeJobs = sync.Pool{New: func() any { return &decodeJob{done: make(chan struct{}, 1)} }}

func newDecoders() *decoders {
	return &decoders{jobs: make(chan *decodeJob), stopped: make(chan struct{})}
}

// run decodes with n goroutines until ctx ends.
func (d *decoders) run(ctx context.Context, n int) {
	defer close(d.stopped)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-d.jobs:
					j.ev, j.err = decodeMessage(j.msg)
					j.done <- struct{}{}
				}
			}
		}()
	}
	wg.Wait()
}

// decode decodes msg on a decoder goroutine. A job taken by a decoder is always finished,
// so the wait for its result needs no way out.
func (d *decoders) decode(msg *message.Message) (Event, error) {
	j := decodeJobs.Get().(*decodeJob)
	j.msg = msg
	select {
	case d.jobs <- j:
	case <-msg.Context().Done():
		j.msg = nil
		decodeJobs.Put(j)
		return Event{}, msg.Context().Err()
	case <-d.stopped:
		j.msg = nil
		decodeJobs.Put(j)
		return Event{}, errDecodersStopped
	}
	<-j.done
	ev, err := j.ev, j.err
	*j = decodeJob{done: j.done}
	decodeJobs.Put(j)
	return ev, err
}
