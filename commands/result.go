package commands

// Result is what every command answers: the affected aggregate and the version of its
// stream after the command. The API turns the pair into a signed consistency token a query
// can wait on to read its own write.
type Result struct {
	ID      string
	Version int64
}

func newResult(streamID string, version int64) Result {
	return Result{ID: streamID, Version: version}
}
