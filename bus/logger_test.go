package bus

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
)

// kafka-go's routine retries and read timeouts come through its error logger; they must not
// reach an operator's INFO log, and must still be there at debug level.
func TestKafkaGoErrorLoggerWritesAtDebug(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		level slog.Level
		want  bool
	}{{slog.LevelInfo, false}, {slog.LevelDebug, true}} {
		var buf bytes.Buffer
		l := watermill.NewSlogLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tc.level})))
		_, errs := kafkaLoggers(l)
		errs.Printf("kafka: read timeout on partition %d", 3)
		got := strings.Contains(buf.String(), "kafka-go: kafka: read timeout on partition 3")
		if got != tc.want {
			t.Errorf("at level %s: logged %v, want %v (output %q)", tc.level, got, tc.want, buf.String())
		}
	}
}
