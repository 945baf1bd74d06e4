package commands

// Result is what every command answers: the affected aggregate, the type of its stream
// (a domain.StreamType* constant) and the version of its stream after the command. The API
// turns them into a signed consistency token a query can wait on to read its own write; the
// stream type lets a query whose projection never consumes that type answer at once.
type Result struct {
	ID         string
	StreamType string
	Version    int64
}

func newResult(streamID, streamType string, version int64) Result {
	return Result{ID: streamID, StreamType: streamType, Version: version}
}
