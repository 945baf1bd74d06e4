package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/jobboard/jobboard/eventstore"
)

// BenchmarkRelayBacklogToKafka: events/s from the relay's start until a consumer has read
// a backlog of b.N events from the real broker.
func BenchmarkRelayBacklogToKafka(b *testing.B) {
	cfg := relayConfig(b)
	a := newAppender(b, cfg.DatabaseURL)
	ctx := context.Background()
	batch := make([]eventstore.EventData, 0, 100)
	for i := 0; i < b.N; i += len(batch) {
		batch = batch[:0]
		for j := i; j < b.N && len(batch) < 100; j++ {
			batch = append(batch, eventstore.EventData{Type: "job.probe", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, j))})
		}
		if _, err := a.store.Append(ctx, fmt.Sprintf("bench-%d", i/100), "job", eventstore.Any, batch); err != nil {
			b.Fatal(err)
		}
	}
	got, stop := consume(b, cfg.KafkaTopicPrefix, "job")
	defer stop()
	b.ResetTimer()
	started := time.Now()
	start(b, cfg)
	got.progress(b, b.N, 10*time.Minute)
	b.ReportMetric(float64(b.N)/time.Since(started).Seconds(), "events/s")
}

// BenchmarkRelayCommitToKafkaLatency: one event at a time, from the moment its append
// committed until a consumer read it from Kafka.
func BenchmarkRelayCommitToKafkaLatency(b *testing.B) {
	cfg := relayConfig(b)
	a := newAppender(b, cfg.DatabaseURL)
	ctx := context.Background()
	got, stop := consume(b, cfg.KafkaTopicPrefix, "job")
	defer stop()
	start(b, cfg)
	// Warm up: topic metadata, connections, the consumer's first fetch.
	a.appendStreams(ctx, b, "warm", 20)
	got.progress(b, 10, time.Minute)
	base := func() int { got.mu.Lock(); defer got.mu.Unlock(); return len(got.count) }()

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		if _, err := a.store.Append(ctx, fmt.Sprintf("lat-%d", i), "job", eventstore.NoStream,
			[]eventstore.EventData{{Type: "job.probe", Data: json.RawMessage(`{}`)}}); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		for {
			got.mu.Lock()
			n := len(got.count)
			got.mu.Unlock()
			if n >= base+i+1 {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
		lat = append(lat, time.Since(committed))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
