package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
)

// Record is what the idempotency bucket keeps per room_id, under the key "room.<room_id>".
// While a create call is in flight the record is a lease (State "creating", written with a
// per-message TTL so a vanished holder frees it); after a success it holds the outcome (State
// "created") for IDEMPOTENCY_WINDOW.
type Record struct {
	State       string           `json:"state"`
	Holder      string           `json:"holder,omitempty"`
	RequestID   string           `json:"request_id"`
	RequestKey  string           `json:"request_key"`
	PayloadHash string           `json:"payload_hash"`
	SID         string           `json:"sid,omitempty"`
	RoomInfo    json.RawMessage  `json:"room_info,omitempty"`
	Warnings    []events.Warning `json:"warnings,omitempty"`
	Attempts    int              `json:"attempts,omitempty"`
	At          time.Time        `json:"at"`
}

// Record states.
const (
	StateCreating = "creating"
	StateCreated  = "created"
)

// RoomKey is the idempotency bucket key for a room_id (room ids are [a-zA-Z0-9_-]{1,64},
// all valid key characters).
func RoomKey(roomID string) string { return "room." + roomID }

func attemptsKey(requestKey string) string { return "attempts." + requestKey }

// errLeaseHeld means another worker holds the room's lease right now.
var errLeaseHeld = errors.New("room_id lease held by another worker")

// store is the idempotency bucket.
type store struct {
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	bucket string
}

// entry is a record with the revision it was read at.
type entry struct {
	rec     *Record
	rev     uint64
	created time.Time // server time of the write
	raw     []byte
}

// get reads the record of a room; a nil entry means none.
func (s *store) get(ctx context.Context, roomID string) (*entry, error) {
	e, err := s.kv.Get(ctx, RoomKey(roomID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read idempotency record: %w", err)
	}
	var r Record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		// A record we cannot read is treated as absent: the create call is idempotent on an
		// active room anyway, and overwriting it repairs the bucket.
		return &entry{rev: e.Revision(), created: e.Created()}, nil
	}
	return &entry{rec: &r, rev: e.Revision(), created: e.Created(), raw: e.Value()}, nil
}

// acquire writes a lease for the room, replacing prev (nil when the key had no record). It fails
// with errLeaseHeld when someone else wrote the key first.
func (s *store) acquire(ctx context.Context, roomID string, prev *entry, lease Record, ttl time.Duration) (uint64, error) {
	b, err := json.Marshal(lease)
	if err != nil {
		return 0, err
	}
	var rev uint64
	if prev == nil {
		rev, err = s.kv.Create(ctx, RoomKey(roomID), b, jetstream.KeyTTL(ttl))
	} else {
		rev, err = s.cas(ctx, RoomKey(roomID), b, prev.rev, ttl)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || isWrongLastSequence(err) {
		return 0, errLeaseHeld
	}
	if err != nil {
		return 0, fmt.Errorf("write room lease: %w", err)
	}
	return rev, nil
}

// complete replaces the lease with the outcome record. When the lease was lost meanwhile (its
// TTL ran out and another worker took it) the record is written anyway: both callers got the
// same live session from plugNmeet.
func (s *store) complete(ctx context.Context, roomID string, leaseRev uint64, rec Record) error {
	b, err := rec.encode()
	if err != nil {
		return err
	}
	if _, err = s.cas(ctx, RoomKey(roomID), b, leaseRev, 0); isWrongLastSequence(err) {
		_, err = s.kv.Put(ctx, RoomKey(roomID), b)
	}
	if err != nil {
		return fmt.Errorf("write idempotency record: %w", err)
	}
	return nil
}

// release gives the lease up after a failed attempt, putting back the record it replaced.
func (s *store) release(ctx context.Context, roomID string, leaseRev uint64, prev *entry) error {
	var err error
	if prev != nil && prev.rec != nil && prev.rec.State == StateCreated {
		_, err = s.cas(ctx, RoomKey(roomID), prev.raw, leaseRev, 0)
	} else {
		err = s.kv.Delete(ctx, RoomKey(roomID), jetstream.LastRevision(leaseRev))
	}
	if isWrongLastSequence(err) {
		return nil // someone else already holds or replaced it
	}
	if err != nil {
		return fmt.Errorf("release room lease: %w", err)
	}
	return nil
}

// cas publishes value as the key's next revision, only if its last revision is rev; ttl>0 makes
// the entry expire on its own.
func (s *store) cas(ctx context.Context, key string, value []byte, rev uint64, ttl time.Duration) (uint64, error) {
	opts := []jetstream.PublishOpt{jetstream.WithExpectLastSequencePerSubject(rev)}
	if ttl > 0 {
		opts = append(opts, jetstream.WithMsgTTL(ttl))
	}
	ack, err := s.js.Publish(ctx, "$KV."+s.bucket+"."+key, value, opts...)
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// attempts returns the create attempts already spent on a request in earlier deliveries.
func (s *store) attempts(ctx context.Context, requestKey string) (int, error) {
	e, err := s.kv.Get(ctx, attemptsKey(requestKey))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read attempts: %w", err)
	}
	n, err := strconv.Atoi(string(e.Value()))
	if err != nil {
		return 0, nil
	}
	return n, nil
}

func (s *store) setAttempts(ctx context.Context, requestKey string, n int) error {
	if _, err := s.kv.Put(ctx, attemptsKey(requestKey), []byte(strconv.Itoa(n))); err != nil {
		return fmt.Errorf("write attempts: %w", err)
	}
	return nil
}

func (s *store) clearAttempts(ctx context.Context, requestKey string) error {
	if err := s.kv.Purge(ctx, attemptsKey(requestKey)); err != nil {
		return fmt.Errorf("clear attempts: %w", err)
	}
	return nil
}

func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
