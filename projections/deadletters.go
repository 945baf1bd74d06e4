package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrDeadLetterNotFound: no dead letter has that id.
var ErrDeadLetterNotFound = errors.New("projections: dead letter not found")

// DeadLetter is an event a projector gave up on, as recorded in projection_dead_letters
// when the poison queue published it to the projector's dead-letter topic.
type DeadLetter struct {
	ID             int64             `json:"id"`
	Projection     string            `json:"projection"`
	MessageUUID    string            `json:"message_uuid"`
	EventID        string            `json:"event_id"`
	EventType      string            `json:"event_type"`
	StreamID       string            `json:"stream_id"`
	GlobalPosition int64             `json:"global_position"`
	Topic          string            `json:"topic"`
	Reason         string            `json:"reason"`
	Payload        json.RawMessage   `json:"payload"`
	Metadata       map[string]string `json:"metadata"`
	DeadAt         time.Time         `json:"dead_at"`
	ReplayedAt     *time.Time        `json:"replayed_at,omitempty"`
	ReplayError    string            `json:"replay_error,omitempty"`
}

// DeadLetters records, lists and re-drives the dead letters of projectors. Record is called
// by the Runner (RunnerConfig.DeadLetters) before the message is published to the
// dead-letter topic; if it fails the message is redelivered, so no dead letter goes
// unrecorded.
type DeadLetters struct {
	pool *pgxpool.Pool
}

// NewDeadLetters returns the dead-letter store on pool.
func NewDeadLetters(pool *pgxpool.Pool) (*DeadLetters, error) {
	if pool == nil {
		return nil, errors.New("projections: new dead letters: pool is nil")
	}
	return &DeadLetters{pool: pool}, nil
}

// Record stores msgs as dead letters of projection (idempotent per message uuid).
func (d *DeadLetters) Record(ctx context.Context, projection string, msgs ...*message.Message) error {
	for _, m := range msgs {
		meta, _ := json.Marshal(map[string]string(m.Metadata))
		var env struct {
			EventID        string `json:"event_id"`
			Type           string `json:"event_type"`
			StreamID       string `json:"stream_id"`
			GlobalPosition int64  `json:"global_position"`
		}
		_ = json.Unmarshal(m.Payload, &env) // best effort: a malformed payload is a dead letter too
		if _, err := d.pool.Exec(ctx, `INSERT INTO projection_dead_letters (projection, message_uuid, event_id, event_type,
				stream_id, global_position, topic, reason, payload, metadata)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (projection, message_uuid) DO UPDATE SET reason = EXCLUDED.reason, dead_at = now(),
				replayed_at = NULL, replay_error = ''`,
			projection, m.UUID, env.EventID, env.Type, env.StreamID, env.GlobalPosition,
			m.Metadata.Get(middleware.PoisonedTopicKey), m.Metadata.Get(middleware.ReasonForPoisonedKey), m.Payload, meta); err != nil {
			return Transient(fmt.Errorf("record dead letter %s of %s: %w", m.UUID, projection, err))
		}
	}
	return nil
}

// ListDeadLettersParams select dead letters.
type ListDeadLettersParams struct {
	// IncludeReplayed lists dead letters replayed successfully too.
	IncludeReplayed bool
	// AfterID pages: only ids above it.
	AfterID int64
	// Limit caps the answer. Default 100.
	Limit int
}

const deadLetterColumns = `id, projection, message_uuid, event_id, event_type, stream_id, global_position, topic,
	reason, payload, metadata, dead_at, replayed_at, replay_error`

func scanDeadLetter(row pgx.Row) (DeadLetter, error) {
	var (
		dl   DeadLetter
		meta []byte
	)
	err := row.Scan(&dl.ID, &dl.Projection, &dl.MessageUUID, &dl.EventID, &dl.EventType, &dl.StreamID,
		&dl.GlobalPosition, &dl.Topic, &dl.Reason, &dl.Payload, &meta, &dl.DeadAt, &dl.ReplayedAt, &dl.ReplayError)
	if err == nil {
		_ = json.Unmarshal(meta, &dl.Metadata)
	}
	return dl, err
}

// List returns the dead letters of projection, oldest first.
func (d *DeadLetters) List(ctx context.Context, projection string, p ListDeadLettersParams) ([]DeadLetter, error) {
	if p.Limit <= 0 {
		p.Limit = 100
	}
	rows, err := d.pool.Query(ctx, `SELECT `+deadLetterColumns+` FROM projection_dead_letters
		WHERE projection = $1 AND id > $2 AND ($3 OR replayed_at IS NULL) ORDER BY id LIMIT $4`,
		projection, p.AfterID, p.IncludeReplayed, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list dead letters of %s: %w", projection, err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (DeadLetter, error) { return scanDeadLetter(row) })
}

// Get returns one dead letter.
func (d *DeadLetters) Get(ctx context.Context, id int64) (DeadLetter, error) {
	dl, err := scanDeadLetter(d.pool.QueryRow(ctx, `SELECT `+deadLetterColumns+` FROM projection_dead_letters WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return DeadLetter{}, fmt.Errorf("%w: %d", ErrDeadLetterNotFound, id)
	}
	return dl, err
}

// ReplayResult says what a replay did.
type ReplayResult struct {
	Replayed int `json:"replayed"`
	Failed   int `json:"failed"`
}

// Replay feeds the open dead letters of p (all, or those of ids) back through p.Apply, one
// at a time, in the order they died. Apply is idempotent, so an event applied meanwhile
// changes nothing. A success marks the letter replayed; a failure records its error and
// leaves it open.
func (d *DeadLetters) Replay(ctx context.Context, p Projector, ids ...int64) (ReplayResult, error) {
	var res ReplayResult
	if ids == nil {
		ids = []int64{}
	}
	rows, err := d.pool.Query(ctx, `SELECT `+deadLetterColumns+` FROM projection_dead_letters
		WHERE projection = $1 AND replayed_at IS NULL AND (cardinality($2::bigint[]) = 0 OR id = ANY($2)) ORDER BY id`,
		p.Name(), ids)
	if err != nil {
		return res, fmt.Errorf("list dead letters of %s: %w", p.Name(), err)
	}
	letters, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (DeadLetter, error) { return scanDeadLetter(row) })
	if err != nil {
		return res, fmt.Errorf("list dead letters of %s: %w", p.Name(), err)
	}
	for _, dl := range letters {
		msg := message.NewMessage(dl.MessageUUID, []byte(dl.Payload))
		ev, err := decodeMessage(msg)
		if err == nil {
			err = p.Apply(ctx, []Event{ev})
		}
		if err != nil {
			res.Failed++
			if _, uerr := d.pool.Exec(ctx, `UPDATE projection_dead_letters SET replay_error = $2 WHERE id = $1`, dl.ID, err.Error()); uerr != nil {
				return res, uerr
			}
			continue
		}
		res.Replayed++
		if _, err := d.pool.Exec(ctx, `UPDATE projection_dead_letters SET replayed_at = now(), replay_error = '' WHERE id = $1`, dl.ID); err != nil {
			return res, err
		}
	}
	return res, nil
}

// recordingPublisher records dead letters before publishing them.
type recordingPublisher struct {
	message.Publisher
	projection string
	dl         *DeadLetters
}

func (p recordingPublisher) Publish(topic string, msgs ...*message.Message) error {
	ctx := context.Background()
	if len(msgs) > 0 {
		ctx = msgs[0].Context()
	}
	if err := p.dl.Record(ctx, p.projection, msgs...); err != nil {
		return err
	}
	return p.Publisher.Publish(topic, msgs...)
}
