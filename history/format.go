package history

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/jobboard/jobboard/eventstore"
)

// Format is the shape of an export.
type Format string

const (
	// FormatNDJSON writes one JSON object per line: the event envelope the relay publishes
	// to Kafka (eventstore.Event's JSON encoding), read back with eventstore.DecodeEnvelope.
	FormatNDJSON Format = "ndjson"
	// FormatCSV writes a header row then one row per event, columns CSVHeader.
	FormatCSV Format = "csv"
)

// ParseFormat accepts "ndjson" (or "jsonl") and "csv".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "ndjson", "jsonl":
		return FormatNDJSON, nil
	case "csv":
		return FormatCSV, nil
	}
	return "", fmt.Errorf("format %q: want ndjson or csv", s)
}

// CSVHeader names the CSV columns. data and metadata are JSON strings; recorded_at is
// RFC 3339 with nanoseconds in UTC. event_id and transaction_id come last so that a row
// carries every field of the event (a spreadsheet can ignore them).
var CSVHeader = []string{
	"global_position", "stream_id", "stream_type", "version", "type", "schema_version",
	"recorded_at", "data", "metadata", "event_id", "transaction_id",
}

// encoder writes events in one format. Nothing reaches the underlying writer until flush.
type encoder interface {
	begin() error
	encode(e eventstore.Event) error
	flush() error
}

func newEncoder(f Format, w io.Writer) (encoder, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	switch f {
	case FormatNDJSON:
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		return &ndjsonEncoder{w: bw, enc: enc}, nil
	case FormatCSV:
		return &csvEncoder{w: bw, csv: csv.NewWriter(bw)}, nil
	}
	return nil, fmt.Errorf("unknown format %q", f)
}

type ndjsonEncoder struct {
	w   *bufio.Writer
	enc *json.Encoder
}

func (n *ndjsonEncoder) begin() error { return nil }

func (n *ndjsonEncoder) encode(e eventstore.Event) error {
	e.RecordedAt = e.RecordedAt.UTC()
	return n.enc.Encode(e) // Encode ends the line with '\n' and compacts Data
}

func (n *ndjsonEncoder) flush() error { return n.w.Flush() }

type csvEncoder struct {
	w   *bufio.Writer
	csv *csv.Writer
	rec [11]string
	buf bytes.Buffer
}

func (c *csvEncoder) begin() error { return c.csv.Write(CSVHeader) }

func (c *csvEncoder) encode(e eventstore.Event) error {
	c.buf.Reset()
	if err := json.Compact(&c.buf, e.Data); err != nil {
		return fmt.Errorf("event %d: data: %w", e.GlobalPosition, err)
	}
	meta, err := json.Marshal(e.Metadata)
	if err != nil {
		return fmt.Errorf("event %d: metadata: %w", e.GlobalPosition, err)
	}
	c.rec = [11]string{
		strconv.FormatInt(e.GlobalPosition, 10), e.StreamID, e.StreamType,
		strconv.FormatInt(e.StreamVersion, 10), e.Type, strconv.Itoa(e.SchemaVersion),
		e.RecordedAt.UTC().Format(time.RFC3339Nano), c.buf.String(), string(meta),
		e.EventID.String(), strconv.FormatUint(e.TransactionID, 10),
	}
	return c.csv.Write(c.rec[:])
}

func (c *csvEncoder) flush() error {
	c.csv.Flush()
	if err := c.csv.Error(); err != nil {
		return err
	}
	return c.w.Flush()
}

// Decoder reads an export back, one event at a time.
type Decoder struct {
	format Format
	lines  *bufio.Reader
	csv    *csv.Reader
	header map[string]int
}

// NewDecoder returns a decoder of r in format f.
func NewDecoder(r io.Reader, f Format) (*Decoder, error) {
	d := &Decoder{format: f}
	switch f {
	case FormatNDJSON:
		d.lines = bufio.NewReaderSize(r, 64<<10)
	case FormatCSV:
		d.csv = csv.NewReader(r)
		d.csv.ReuseRecord = true
		head, err := d.csv.Read()
		if err != nil {
			return nil, fmt.Errorf("read csv header: %w", err)
		}
		d.header = map[string]int{}
		for i, h := range head {
			d.header[h] = i
		}
		for _, h := range CSVHeader {
			if _, ok := d.header[h]; !ok {
				return nil, fmt.Errorf("csv header has no %q column", h)
			}
		}
	default:
		return nil, fmt.Errorf("unknown format %q", f)
	}
	return d, nil
}

// Next returns the next event, or io.EOF after the last one.
func (d *Decoder) Next() (eventstore.Event, error) {
	if d.format == FormatNDJSON {
		for {
			line, err := d.lines.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) == 0 {
				if err != nil {
					return eventstore.Event{}, err
				}
				continue
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return eventstore.Event{}, err
			}
			return eventstore.DecodeEnvelope(line)
		}
	}
	rec, err := d.csv.Read()
	if err != nil {
		return eventstore.Event{}, err
	}
	return d.csvEvent(rec)
}

func (d *Decoder) csvEvent(rec []string) (eventstore.Event, error) {
	col := func(name string) string { return rec[d.header[name]] }
	var (
		e    eventstore.Event
		errs []error
		err  error
	)
	check := func(field string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
	}
	e.GlobalPosition, err = strconv.ParseInt(col("global_position"), 10, 64)
	check("global_position", err)
	e.TransactionID, err = strconv.ParseUint(col("transaction_id"), 10, 64)
	check("transaction_id", err)
	e.StreamID, e.StreamType, e.Type = col("stream_id"), col("stream_type"), col("type")
	e.StreamVersion, err = strconv.ParseInt(col("version"), 10, 64)
	check("version", err)
	e.SchemaVersion, err = strconv.Atoi(col("schema_version"))
	check("schema_version", err)
	e.RecordedAt, err = time.Parse(time.RFC3339Nano, col("recorded_at"))
	check("recorded_at", err)
	e.EventID, err = uuid.Parse(col("event_id"))
	check("event_id", err)
	e.Data = json.RawMessage(col("data"))
	if !json.Valid(e.Data) {
		errs = append(errs, errors.New("data: not valid JSON"))
	}
	check("metadata", json.Unmarshal([]byte(col("metadata")), &e.Metadata))
	if len(errs) > 0 {
		return eventstore.Event{}, fmt.Errorf("csv row: %w", errors.Join(errs...))
	}
	return e, nil
}
