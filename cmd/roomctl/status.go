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

Shows roomworker's idempotency record for ROOM_ID (key room.<ROOM_ID> in
KV_BUCKET): its state ("created", or "creating" while a worker holds the
room's lease), the plugNmeet session id, when it was written, and the id of
the request that made it. roomworker answers a request with the same room_id
and payload from this record while it lives (IDEMPOTENCY_WINDOW).

Exit status:
  0  the record was shown
  1  there is no record for ROOM_ID (never created, or the record expired)
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
	entry, err := kv.Get(kctx, worker.RoomKey(roomID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		fmt.Fprintf(e.stderr, "roomctl status: no record for room %s: roomworker has not created it, or the record expired (IDEMPOTENCY_WINDOW)\n", roomID)
		return exitFailure
	} else if err != nil {
		return fail(fmt.Errorf("read %s: %w", worker.RoomKey(roomID), err))
	}
	if *format == "json" {
		fmt.Fprintln(e.stdout, string(entry.Value()))
		return exitOK
	}
	var rec worker.Record
	if err := json.Unmarshal(entry.Value(), &rec); err != nil {
		return fail(fmt.Errorf("record %s is not readable: %w", worker.RoomKey(roomID), err))
	}
	state := rec.State
	if rec.State == worker.StateCreating {
		state += " (a worker is calling plugNmeet now"
		if rec.Holder != "" {
			state += ": " + printable(rec.Holder)
		}
		state += ")"
	}
	at := rec.At
	if at.IsZero() {
		at = entry.Created()
	}
	row := func(k, v string) { fmt.Fprintf(e.stdout, "%-11s %s\n", k+":", v) }
	row("room_id", roomID)
	row("state", printable(state))
	if rec.SID != "" {
		row("sid", printable(rec.SID))
	}
	row("at", fmt.Sprintf("%s (%s ago)", at.UTC().Format(time.RFC3339), time.Since(at).Round(time.Second)))
	row("request_id", printable(rec.RequestID))
	if rec.State == worker.StateCreated {
		row("attempts", fmt.Sprint(rec.Attempts))
		row("warnings", fmt.Sprint(len(rec.Warnings)))
	}
	return exitOK
}
