package bus

import (
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/segmentio/kafka-go"
)

// kafkaLoggers adapts kafka-go's printf loggers to Watermill's logger. kafka-go reports
// routine rebalances, retried fetches and read timeouts through its error logger (about a
// hundred lines in the first seconds of a busy start), so those go out at debug level: an
// operator's INFO stays readable. The failures that matter reach us as returned errors
// (FetchMessage, CommitMessages, WriteMessages), which the publisher and subscriber log.
func kafkaLoggers(l watermill.LoggerAdapter) (info, errs kafka.Logger) {
	info = kafka.LoggerFunc(func(format string, args ...any) {
		l.Trace("kafka-go: "+fmt.Sprintf(format, args...), nil)
	})
	errs = kafka.LoggerFunc(func(format string, args ...any) {
		l.Debug("kafka-go: "+fmt.Sprintf(format, args...), nil)
	})
	return info, errs
}
