package bus

import (
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/segmentio/kafka-go"
)

// kafkaLoggers adapts kafka-go's printf loggers to Watermill's logger. kafka-go reports
// routine rebalances and retried fetches through its error logger, so those go out at
// info level rather than as errors.
func kafkaLoggers(l watermill.LoggerAdapter) (info, errs kafka.Logger) {
	info = kafka.LoggerFunc(func(format string, args ...any) {
		l.Trace("kafka-go: "+fmt.Sprintf(format, args...), nil)
	})
	errs = kafka.LoggerFunc(func(format string, args ...any) {
		l.Info("kafka-go: "+fmt.Sprintf(format, args...), nil)
	})
	return info, errs
}
