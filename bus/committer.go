package bus

import (
	"context"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/segmentio/kafka-go"
)

// committer commits acked offsets of one consumer-group generation. Workers mark the next
// offset of their partition after each Ack and go on; run commits in the background,
// coalescing every mark made while a commit was in flight into the next one. A crash
// between an Ack and its commit redelivers the message: delivery is at-least-once.
type committer struct {
	gen    *kafka.Generation
	topic  string
	logger watermill.LoggerAdapter
	retry  time.Duration
	wake   chan struct{}

	mu      sync.Mutex
	pending map[int]int64 // partition -> next offset to read, acked but not committed
}

func newCommitter(gen *kafka.Generation, topic string, retry time.Duration, logger watermill.LoggerAdapter) *committer {
	return &committer{
		gen:     gen,
		topic:   topic,
		logger:  logger,
		retry:   retry,
		wake:    make(chan struct{}, 1),
		pending: map[int]int64{},
	}
}

// mark records that every message of partition before next was acked.
func (c *committer) mark(partition int, next int64) {
	c.mu.Lock()
	if next > c.pending[partition] {
		c.pending[partition] = next
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// run commits until the generation ends, then waits for the generation's workers and
// commits what they acked last, so a partition's next owner starts after it.
func (c *committer) run(genCtx context.Context, workers *sync.WaitGroup) {
	var retry <-chan time.Time
	for {
		select {
		case <-c.wake:
			if !c.flush() {
				retry = time.After(c.retry)
			}
		case <-retry:
			retry = nil
			if !c.flush() {
				retry = time.After(c.retry)
			}
		case <-genCtx.Done():
			workers.Wait()
			c.flush()
			return
		}
	}
}

// flush commits the pending offsets. It returns false if they must be tried again.
func (c *committer) flush() bool {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return true
	}
	offsets := c.pending
	c.pending = map[int]int64{}
	c.mu.Unlock()

	err := c.gen.CommitOffsets(map[string]map[int]int64{c.topic: offsets})
	if err == nil {
		return true
	}
	if isGenerationOver(err) {
		// The partitions belong to the next generation now; its owners redeliver from
		// the last committed offsets.
		c.logger.Info("offset commit refused, generation is over", watermill.LogFields{"err": err.Error()})
		return true
	}
	c.logger.Error("offset commit failed, will retry", err, nil)
	// Put the offsets back unless newer ones were marked meanwhile.
	c.mu.Lock()
	for p, next := range offsets {
		if next > c.pending[p] {
			c.pending[p] = next
		}
	}
	c.mu.Unlock()
	return false
}
