package commands

import (
	"github.com/jobboard/jobboard/internal/consistency"
)

// Result is what every command answers: the affected aggregate, the version of its stream
// after the command, and a token a query can wait on to read its own write.
type Result struct {
	ID               string
	Version          int64
	ConsistencyToken string
}

func newResult(streamID string, version int64) Result {
	return Result{
		ID:               streamID,
		Version:          version,
		ConsistencyToken: consistency.Token(consistency.Position{StreamID: streamID, Version: version}),
	}
}
