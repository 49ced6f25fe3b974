package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
)

// The bucket holds four kinds of entries, each written with its own per-entry TTL (the bucket
// itself has no MaxAge), so that no lifetime can cut another one short:
//
//	room.<room_id>           a claim while a worker creates the room's first record, then the
//	                         room's Record, with the outcome of the request that wrote it     TTL: leaseTTL (a claim), IDEMPOTENCY_WINDOW (a Record)
//	lease.<room_id>          the room's lease while a worker works on a room that has a Record TTL: leaseTTL
//	request.<request key>    the outcome of a request the room's Record does not carry         TTL: IDEMPOTENCY_WINDOW
//	attempts.<request key>   plugNmeet calls spent in earlier deliveries                       TTL: the longer of IDEMPOTENCY_WINDOW and 24h, renewed on each write; deleted once the result is stored
//
// The fast path, a request for a room the bucket does not know, writes room.<room_id> twice and
// reads nothing: a claim (a create that fails if the key exists) takes the room, and the Record,
// which carries the request's outcome, replaces the claim. Only a room with a Record takes the
// separate lease and reads the Record and the request's outcome (see acquire).
//
// Room ids are [a-zA-Z0-9_-]{1,64} and request keys hex, all valid key characters.

// Record is what the bucket keeps per room_id under RoomKey: the session a request created,
// kept for IDEMPOTENCY_WINDOW.
type Record struct {
	State       string           `json:"state"`
	RoomID      string           `json:"room_id"`
	RequestID   string           `json:"request_id"`
	RequestKey  string           `json:"request_key"`
	PayloadHash string           `json:"payload_hash"`
	SID         string           `json:"sid,omitempty"`
	RoomInfo    json.RawMessage  `json:"room_info,omitempty"`
	Warnings    []events.Warning `json:"warnings,omitempty"`
	Attempts    int              `json:"attempts,omitempty"`
	At          time.Time        `json:"at"`
	EndedAt     time.Time        `json:"ended_at,omitzero"`
	// Variants are the other payloads whose requests got this session while it was live.
	Variants []Variant `json:"variants,omitempty"`
	// Holder is the worker that holds a claim (State claimed).
	Holder string `json:"holder,omitempty"`
	// Outcome is the final outcome of the request RequestKey names, recorded with the Record
	// in one write.
	Outcome *Outcome `json:"outcome,omitempty"`
}

// Variant is another payload answered with a recorded session, with its own warnings.
type Variant struct {
	PayloadHash string           `json:"payload_hash"`
	Warnings    []events.Warning `json:"warnings,omitempty"`
}

// ownOutcome returns the outcome of the request that wrote the Record, with its data rebuilt
// from the Record when it was left out (Outcome.InRecord). The rebuilt data is the same bytes as
// the result published then: the same fields through the same encoder, with the warnings'
// numbers kept as written (records are decoded with UseNumber).
func (r *Record) ownOutcome() *Outcome {
	o := *r.Outcome
	if o.InRecord && len(o.Data) == 0 {
		data, err := encodeCreated(events.RoomCreated{RoomID: r.RoomID, SID: r.SID, RoomInfo: r.RoomInfo,
			Attempts: r.Attempts, Warnings: r.Warnings})
		if err == nil {
			o.Data = data
		}
	}
	o.InRecord = false
	return &o
}

// decodeJSON decodes a bucket entry, keeping numbers as written (json.Number).
func decodeJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// payload returns the recorded payload with hash h (the creating one, or a variant), or nil.
func (r *Record) payload(h string) *Variant {
	if r.PayloadHash == h {
		return &Variant{PayloadHash: h, Warnings: r.Warnings}
	}
	for i := range r.Variants {
		if r.Variants[i].PayloadHash == h {
			return &r.Variants[i]
		}
	}
	return nil
}

// Lease is what the bucket keeps under LeaseKey while a worker works on a room.
type Lease struct {
	Holder    string    `json:"holder"`
	RequestID string    `json:"request_id"`
	At        time.Time `json:"at"`
}

// Outcome is a request's final result, recorded under its request key before the result is
// published, so that a redelivery answers with the same result instead of deciding again.
type Outcome struct {
	Type   string `json:"type"` // events.TypeRoomCreated or events.TypeRoomFailed
	RoomID string `json:"room_id,omitempty"`
	Label  string `json:"label"`         // the metric reason: created, duplicate or the failure reason
	Hit    bool   `json:"hit,omitempty"` // answered with a recorded session, without a create call
	// For the log line of a result stored by a later delivery.
	SID      string          `json:"sid,omitempty"`
	Attempts int             `json:"attempts,omitempty"`
	Message  string          `json:"message,omitempty"`
	Warnings int             `json:"warnings,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
	// InRecord: Data is left out because the Record that carries this outcome holds all of it
	// (a room.created of the Record's own session): see Record.ownOutcome.
	InRecord bool `json:"in_record,omitempty"`
}

// States of a room Record.
const (
	// StateCreated: the recorded session was live when recorded.
	StateCreated = "created"
	// StateEnded: the recorded session has ended (a webhook said so, a room.end request ended
	// it, or plugNmeet no longer had it): the next room.create makes a new session at once.
	StateEnded = "ended"
	// StateNone: no session is recorded; the Record only carries the outcome of the request
	// that wrote it (a failure, or a room.end for a room roomworker did not know).
	StateNone = "none"
	// StateClaimed: a worker is deciding a request for a room the bucket had no Record of;
	// the entry is its claim on the room (the room's lease), and expires by leaseTTL if the
	// worker vanishes.
	StateClaimed = "claimed"
)

// RoomKey is the bucket key of a room's Record.
func RoomKey(roomID string) string { return "room." + roomID }

// LeaseKey is the bucket key of a room's Lease.
func LeaseKey(roomID string) string { return "lease." + roomID }

func outcomeKey(requestKey string) string  { return "request." + requestKey }
func attemptsKey(requestKey string) string { return "attempts." + requestKey }

// errLeaseHeld means another worker holds the room's lease right now.
var errLeaseHeld = errors.New("room_id lease held by another worker")

// store is the idempotency bucket.
type store struct {
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	bucket string
	window time.Duration // IDEMPOTENCY_WINDOW: the TTL of records, outcomes and counters
}

// lease is a room lease this worker holds; release gives it up (once; nil-safe). It is either a
// claim on room.<room_id> (the room had no Record) or the separate lease.<room_id> (it had one).
type lease struct {
	s      *store
	roomID string
	rev    uint64 // the revision of the entry this lease wrote (see key)
	claim  bool
	// rec is the room's Record when the lease was taken (nil for a claim).
	rec *Record
	// replaced: the claim was overwritten by the room's Record; there is nothing to release.
	replaced bool
}

// key is the entry this lease wrote: the room's key for a claim, its lease key otherwise.
func (l *lease) key() string {
	if l.claim {
		return RoomKey(l.roomID)
	}
	return LeaseKey(l.roomID)
}

// record returns the room's Record read when the lease was taken; nil for a claim.
func (l *lease) record() *Record {
	if l == nil {
		return nil
	}
	return l.rec
}

// markerTTL is how long the marker of a released lease stays in the bucket.
const markerTTL = time.Minute

// maxAcquireRounds bounds how often acquire starts over when the room's entry changes under it.
const maxAcquireRounds = 3

// acquire takes the room's lease for the request requestKey, or finds the request's recorded
// outcome (then no lease is taken, unless the lease was a claim, which release gives back).
//
// A room the bucket has no entry for is claimed with one write and no read: the fast path. A
// redelivered request (redelivery true) then still looks for its outcome under request.<key>,
// which only an earlier delivery can have written. A room with a Record is read: the request's
// outcome is the Record's, or is read from request.<key>; otherwise the worker creates the
// separate lease.<room_id> and rewrites the Record with its revision expected, so that the
// Record cannot expire (and let a claim in) while the lease lives, nor change unnoticed.
//
// errLeaseHeld: another worker holds the claim or the lease. Staleness is never judged by this
// worker's clock: both expire by their TTL.
func (s *store) acquire(ctx context.Context, roomID, requestKey string, l Lease, ttl time.Duration,
	redelivery bool) (*lease, *Outcome, error) {
	for range maxAcquireRounds {
		claim := Record{State: StateClaimed, RoomID: roomID, RequestID: l.RequestID, RequestKey: requestKey,
			Holder: l.Holder, At: l.At}
		b, err := claim.encode()
		if err != nil {
			return nil, nil, err
		}
		rev, err := s.claim(ctx, roomID, b, ttl)
		if err == nil {
			held := &lease{s: s, roomID: roomID, rev: rev, claim: true}
			if !redelivery {
				return held, nil, nil
			}
			out, err := s.outcome(ctx, requestKey)
			return held, out, err
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, nil, fmt.Errorf("claim room: %w", err)
		}
		e, err := s.kv.Get(ctx, RoomKey(roomID))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // expired or deleted in between: claim again
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", RoomKey(roomID), err)
		}
		var rec Record
		if decodeJSON(e.Value(), &rec) != nil {
			rec = Record{State: StateNone, RoomID: roomID} // unreadable: as good as none, and rewritten
		}
		if rec.RequestKey == requestKey && rec.Outcome != nil && rec.State != StateClaimed {
			return nil, rec.ownOutcome(), nil
		}
		if out, err := s.outcome(ctx, requestKey); out != nil || err != nil {
			return nil, out, err
		}
		if rec.State == StateClaimed {
			return nil, nil, errLeaseHeld
		}
		held, err := s.takeLease(ctx, roomID, l, ttl)
		if err != nil {
			return nil, nil, err
		}
		_, err = s.js.Publish(ctx, "$KV."+s.bucket+"."+RoomKey(roomID), e.Value(),
			jetstream.WithExpectLastSequencePerSubject(e.Revision()), jetstream.WithMsgTTL(s.window+ttl))
		if err == nil {
			held.rec = &rec
			return held, nil, nil
		}
		_ = held.release(ctx)
		if !isWrongLastSequence(err) {
			return nil, nil, fmt.Errorf("write %s: %w", RoomKey(roomID), err)
		}
		// The Record changed (a webhook, another worker) or expired: look again.
	}
	return nil, nil, errLeaseHeld
}

// claim creates room.<room_id> with value b, failing with jetstream.ErrKeyExists when the key
// holds anything. The first try is one asynchronous publish that expects the key's subject to be
// empty (cheaper for the client than the KeyValue's request-reply); only when that fails does
// KeyValue.Create look closer (a key deleted or purged, whose marker is still there, is created
// over its marker).
func (s *store) claim(ctx context.Context, roomID string, b []byte, ttl time.Duration) (uint64, error) {
	fut, err := s.js.PublishAsync("$KV."+s.bucket+"."+RoomKey(roomID), b,
		jetstream.WithExpectLastSequencePerSubject(0), jetstream.WithMsgTTL(ttl))
	if err == nil {
		ack, err := awaitPubAck(fut)
		if err == nil {
			return ack.Sequence, nil
		}
		if !isWrongLastSequence(err) {
			return 0, err
		}
	}
	return s.kv.Create(ctx, RoomKey(roomID), b, jetstream.KeyTTL(ttl))
}

// takeLease writes the room's lease.<room_id>, which expires by its TTL alone if this worker
// vanishes. It fails with errLeaseHeld while another worker's lease has not expired. It alone
// does not keep out a claim on a room without a Record: acquire does.
func (s *store) takeLease(ctx context.Context, roomID string, l Lease, ttl time.Duration) (*lease, error) {
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	rev, err := s.kv.Create(ctx, LeaseKey(roomID), b, jetstream.KeyTTL(ttl))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil, errLeaseHeld
	}
	if err != nil {
		return nil, fmt.Errorf("take room lease: %w", err)
	}
	return &lease{s: s, roomID: roomID, rev: rev}, nil
}

// recorded notes that the room's Record was written over the claim, if this lease is one.
func (l *lease) recorded() {
	if l != nil && l.claim {
		l.replaced = true
	}
}

// release deletes the lease if it is still the one this worker wrote. Failing that, the lease
// expires by its TTL. A claim the room's Record replaced has nothing to release.
func (l *lease) release(ctx context.Context) error {
	if l == nil || l.replaced {
		return nil
	}
	// A purge whose marker expires leaves the key as if never written: the next claim on the
	// room is again one write, and no tombstone stays in the bucket for good.
	err := l.s.kv.Purge(ctx, l.key(), jetstream.LastRevision(l.rev), jetstream.PurgeTTL(markerTTL))
	if err != nil && !isWrongLastSequence(err) {
		return fmt.Errorf("release room lease: %w", err)
	}
	return nil
}

// room reads a room's Record; nil when there is none (or it cannot be read: the create call is
// idempotent on an active room anyway, and the next record repairs it).
func (s *store) room(ctx context.Context, roomID string) (*Record, error) {
	var r Record
	ok, err := s.getJSON(ctx, RoomKey(roomID), &r)
	if !ok || err != nil {
		return nil, err
	}
	return &r, nil
}

// outcome reads a request's recorded Outcome; nil when there is none.
func (s *store) outcome(ctx context.Context, requestKey string) (*Outcome, error) {
	var o Outcome
	ok, err := s.getJSON(ctx, outcomeKey(requestKey), &o)
	if !ok || err != nil {
		return nil, err
	}
	return &o, nil
}

func (s *store) getJSON(ctx context.Context, key string, v any) (bool, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", key, err)
	}
	if decodeJSON(e.Value(), v) != nil {
		return false, nil
	}
	return true, nil
}

// markEnded records that the room's session sid has ended. A record of another session, or none,
// is left alone. It reports whether the record changed.
func (s *store) markEnded(ctx context.Context, roomID, sid string) (bool, error) {
	for range 3 { // another writer between our read and write: read again
		e, err := s.kv.Get(ctx, RoomKey(roomID))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("read %s: %w", RoomKey(roomID), err)
		}
		var r Record
		if decodeJSON(e.Value(), &r) != nil || r.SID != sid || r.State == StateEnded {
			return false, nil
		}
		r.State, r.EndedAt = StateEnded, time.Now().UTC()
		b, err := r.encode()
		if err != nil {
			return false, err
		}
		_, err = s.js.Publish(ctx, "$KV."+s.bucket+"."+RoomKey(roomID), b,
			jetstream.WithExpectLastSequencePerSubject(e.Revision()), jetstream.WithMsgTTL(s.window))
		if isWrongLastSequence(err) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("write %s: %w", RoomKey(roomID), err)
		}
		return true, nil
	}
	return false, fmt.Errorf("write %s: changed by others three times in a row", RoomKey(roomID))
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

// write is one pending bucket write; wait returns its outcome.
type write func() error

// put starts writing value under key with the given TTL and returns a function that waits for
// the server's answer, so several writes can be on their way at once.
func (s *store) put(key string, value []byte, ttl time.Duration) (write, error) {
	fut, err := s.js.PublishAsync("$KV."+s.bucket+"."+key, value, jetstream.WithMsgTTL(ttl))
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", key, err)
	}
	return func() error {
		if _, err := awaitPubAck(fut); err != nil {
			return fmt.Errorf("write %s: %w", key, err)
		}
		return nil
	}, nil
}

func (s *store) putRoom(r Record) (write, error) {
	b, err := r.encode()
	if err != nil {
		return nil, err
	}
	return s.put(RoomKey(r.RoomID), b, s.window)
}

func (s *store) putOutcome(requestKey string, o Outcome) (write, error) {
	b, err := events.Marshal(o)
	if err != nil {
		return nil, err
	}
	return s.put(outcomeKey(requestKey), b, s.window)
}

// minAttemptsTTL keeps a request's attempt count across any realistic gap between its
// deliveries (backoff up to RETRY_MAX_DELAY, lease waits, a credentials pause), however short
// IDEMPOTENCY_WINDOW is, so MAX_ATTEMPTS holds.
const minAttemptsTTL = 24 * time.Hour

func (s *store) putAttempts(requestKey string, n int) (write, error) {
	return s.put(attemptsKey(requestKey), []byte(strconv.Itoa(n)), max(s.window, minAttemptsTTL))
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
