package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/worker"
)

const statusHelp = `Usage: roomctl status [-format text|json] ROOM_ID

Shows roomworker's record for ROOM_ID (key room.<ROOM_ID> in KV_BUCKET): the
plugNmeet session the last creating request got, when it was written, and the
id of that request; and whether a worker is working on the room right now
(its lease, key lease.<ROOM_ID>). While the record lives (IDEMPOTENCY_WINDOW)
a new request with the same room_id and payload is answered with the recorded
session if plugNmeet still has it live (duplicate: true), and gets a new
session if the room has ended.

Exit status:
  0  the record (or a lease) was shown
  1  there is neither a record nor a lease for ROOM_ID (never created, or
     the record expired)
  2  usage or NATS error
`

// roomIDPattern is what the create-room schema allows for room_id.
var roomIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func statusCommand() command {
	return command{
		name:    "status",
		summary: "show the idempotency record of a room (outcome, sid, when, request id)",
		run:     runStatus,
	}
}

func runStatus(ctx context.Context, e env, args []string) int {
	const cmd = "status"
	fs := newFlags(cmd)
	format := fs.String("format", "text", "print the record as `text` or json (the record as stored)")
	if code, stop := parseFlags(fs, cmd, statusHelp+"\n"+envHelp, e, args); stop {
		return code
	}
	switch {
	case fs.NArg() == 0:
		return usageError(e.stderr, cmd, "no ROOM_ID given")
	case fs.NArg() > 1:
		return usageError(e.stderr, cmd, "one ROOM_ID at a time, got %d", fs.NArg())
	case !roomIDPattern.MatchString(fs.Arg(0)):
		return usageError(e.stderr, cmd, "%q is not a room_id (1 to 64 ASCII letters, digits, '-' or '_')", fs.Arg(0))
	}
	if err := checkFormat(*format); err != nil {
		return usageError(e.stderr, cmd, "%v", err)
	}
	roomID := fs.Arg(0)
	fail := func(err error) int {
		fmt.Fprintf(e.stderr, "roomctl status: %v\n", err)
		return exitUsage
	}
	s, err := connect(ctx, e.getenv)
	if err != nil {
		return fail(err)
	}
	defer s.close()
	kctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	kv, err := s.js.KeyValue(kctx, s.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return fail(fmt.Errorf("key-value bucket %s not found (roomworker creates it when it starts)", s.Bucket))
	} else if err != nil {
		return fail(fmt.Errorf("key-value bucket %s: %w", s.Bucket, err))
	}
	var lease worker.Lease
	leaseEntry, err := kv.Get(kctx, worker.LeaseKey(roomID))
	switch {
	case err == nil:
		_ = json.Unmarshal(leaseEntry.Value(), &lease) // best effort: the key alone says a worker holds it
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		return fail(fmt.Errorf("read %s: %w", worker.LeaseKey(roomID), err))
	}
	entry, err := kv.Get(kctx, worker.RoomKey(roomID))
	if errors.Is(err, jetstream.ErrKeyNotFound) && leaseEntry == nil {
		fmt.Fprintf(e.stderr, "roomctl status: no record for room %s: roomworker has not created it, or the record expired (IDEMPOTENCY_WINDOW)\n", roomID)
		return exitFailure
	} else if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fail(fmt.Errorf("read %s: %w", worker.RoomKey(roomID), err))
	}
	var rec worker.Record
	if entry != nil {
		if *format == "json" {
			fmt.Fprintln(e.stdout, string(entry.Value()))
			return exitOK
		}
		if err := json.Unmarshal(entry.Value(), &rec); err != nil {
			return fail(fmt.Errorf("record %s is not readable: %w", worker.RoomKey(roomID), err))
		}
	} else if *format == "json" {
		fmt.Fprintln(e.stdout, string(leaseEntry.Value()))
		return exitOK
	}
	row := func(k, v string) { fmt.Fprintf(e.stdout, "%-11s %s\n", k+":", v) }
	row("room_id", roomID)
	state := "no session recorded"
	if entry != nil {
		state = rec.State
	}
	if entry != nil && rec.State == worker.StateClaimed {
		// A claim: a worker is creating the room's first record.
		state, entry, leaseEntry = "no session recorded", nil, entry
		lease = worker.Lease{Holder: rec.Holder, RequestID: rec.RequestID}
	}
	// A lease held for the request that wrote the record is that request finishing (its result is
	// being published): not news.
	if leaseEntry != nil && !(entry != nil && lease.RequestID == rec.RequestID) {
		state += "; a worker is working on the room now"
		if lease.Holder != "" {
			state += " (" + printable(lease.Holder) + ", request " + printable(lease.RequestID) + ")"
		}
	}
	row("state", printable(state))
	if entry == nil {
		return exitOK
	}
	if rec.SID != "" {
		row("sid", printable(rec.SID))
	}
	at := rec.At
	if at.IsZero() {
		at = entry.Created()
	}
	row("at", fmt.Sprintf("%s (%s ago)", at.UTC().Format(time.RFC3339), time.Since(at).Round(time.Second)))
	row("request_id", printable(rec.RequestID))
	row("attempts", fmt.Sprint(rec.Attempts))
	row("warnings", fmt.Sprint(len(rec.Warnings)))
	return exitOK
}
