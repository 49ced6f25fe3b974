package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
)

const replayHelp = `Usage: roomctl replay -reason retries_exhausted|rejected [-since DURATION] [-dry-run]

Republishes the requests behind room.failed results with the given reason,
for example after a plugNmeet outage is over. For each such result stored in
EVENTS_STREAM within -since, roomctl publishes a copy of the original
request: the same data, source and extensions, with a new id derived from
the failed result (so the same failure always maps to the same replay id)
and the original id in the "replayof" extension.

Where the original requests come from:
  retries_exhausted  the failure carries its request (data.request), so
                     replay works with either REQUEST_RETENTION. Failures
                     published by a roomworker that did not embed the
                     request yet are looked up in REQUEST_STREAM instead.
  rejected           the failure does not carry its request: REQUEST_STREAM
                     must still hold it, which means roomworker runs with
                     REQUEST_RETENTION=limits. With the default work-queue
                     retention JetStream deletes a request once it is
                     answered, and replay reports it as "not found".

Idempotent: a failure is skipped when its replay id is already in
REQUEST_STREAM (published, result pending) or already has a result in
EVENTS_STREAM (created, or failed again, in which case that new failure is
itself replayed once by the next run); a copy answered while replay runs
counts as answered. Each copy is published with its id as Nats-Msg-Id, so
two runs at the same moment store it once. Running replay again with the
same arguments therefore republishes nothing new.

Output, one line per failed request:
  republished ROOM_ID request ORIGINAL_ID as REPLAY_ID
  would republish ROOM_ID request ORIGINAL_ID as REPLAY_ID    (-dry-run)
  already replayed ROOM_ID request ORIGINAL_ID as REPLAY_ID (pending|created|failed)
  not found ROOM_ID request ORIGINAL_ID: why
and a summary line.

Exit status:
  0  every matching failure was republished, or had been already
  1  some original requests were not found (the others were republished)
  2  usage or NATS error
`

// replayNamespace is the UUIDv5 namespace of replay event ids.
var replayNamespace = uuid.MustParse("b3c5a0e1-58d2-4c57-9a1e-7f4e2d6c3b90")

// afterFailuresRead, when set (by tests), runs after replay has first read
// the results and before it reads the request stream: a copy answered here
// is in neither read, and only step 3 of runReplay sees it.
var afterFailuresRead func()

// extReplayOf names, on a replayed request, the id of the request it copies.
const extReplayOf = "replayof"

// replayID is the id of the copy of the request whose failure is the
// result with id failedID.
func replayID(failedID string) string {
	return uuid.NewSHA1(replayNamespace, []byte(failedID)).String()
}

func replayCommand() command {
	return command{
		name:    "replay",
		summary: "republish the requests behind room.failed results (after an outage)",
		run:     runReplay,
	}
}

// replayable lists the reasons worth a second attempt: the others fail the
// same way again.
var replayable = map[events.Reason]bool{events.ReasonRetriesExhausted: true, events.ReasonRejected: true}

func runReplay(ctx context.Context, e env, args []string) int {
	const cmd = "replay"
	fs := newFlags(cmd)
	reason := fs.String("reason", "", "replay failures with this `REASON`: retries_exhausted or rejected (required)")
	since := fs.Duration("since", 24*time.Hour, "only failures stored within this `DURATION` before now (0: all in EVENTS_STREAM)")
	dryRun := fs.Bool("dry-run", false, "print what would be republished, publish nothing")
	if code, stop := parseFlags(fs, cmd, replayHelp+"\n"+envHelp, e, args); stop {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return usageError(e.stderr, cmd, "unexpected argument %q", fs.Arg(0))
	case *reason == "":
		return usageError(e.stderr, cmd, "-reason is required")
	case !replayable[events.Reason(*reason)]:
		return usageError(e.stderr, cmd, "-reason must be retries_exhausted or rejected, got %q", *reason)
	case *since < 0:
		return usageError(e.stderr, cmd, "-since must not be negative")
	}
	fail := func(err error) int {
		fmt.Fprintf(e.stderr, "roomctl replay: %v\n", err)
		return exitUsage
	}
	s, err := connect(ctx, e.getenv)
	if err != nil {
		return fail(err)
	}
	defer s.close()

	var from time.Time
	if *since > 0 {
		from = time.Now().Add(-*since)
	}
	// 1. The failures to replay, and which requests have a result at all.
	var failures []*resultEvent
	answered := map[string]string{} // request id -> result type
	var lastResult uint64           // stream sequence of the last result read
	err = scan(ctx, s.js, s.EventsStream, s.resultSubjects(), time.Time{}, func(m jetstream.Msg) error {
		if meta, err := m.Metadata(); err == nil {
			lastResult = meta.Sequence.Stream
		}
		r, err := decodeResult(m)
		if err != nil {
			return nil // not a result roomctl can read; the worker never writes one
		}
		noteAnswer(answered, r.ev)
		if r.ev.Type() == events.TypeRoomFailed && r.failed.Reason == events.Reason(*reason) && !r.stored.Before(from) {
			failures = append(failures, r)
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	if afterFailuresRead != nil {
		afterFailuresRead()
	}

	// 2. The original requests, matched exactly: the worker derives a
	// failure's id from its request's source and id. A retries_exhausted
	// failure carries its request; the others, and failures from before the
	// worker embedded it, are looked up in the request stream, which is
	// scanned anyway to find replays still pending.
	originals := map[string]*event.Event{} // failed result id -> request
	unreadable := map[string]error{}       // failed result id -> why its embedded request is unusable
	wanted := map[string]bool{}
	for _, f := range failures {
		req, err := embeddedRequest(f)
		switch {
		case err != nil:
			unreadable[f.ev.ID()] = err
			wanted[f.ev.ID()] = true
		case req != nil:
			originals[f.ev.ID()] = req
		default:
			wanted[f.ev.ID()] = true
		}
	}
	published := map[string]bool{} // ids of the requests in the stream
	workQueue := false
	if len(failures) > 0 {
		workQueue, err = scanRequests(ctx, s, func(ev *event.Event) {
			published[ev.ID()] = true
			if id := events.ResultID(events.OriginOf(ev), events.TypeRoomFailed); wanted[id] && originals[id] == nil {
				originals[id] = ev
			}
		})
		if err != nil {
			return fail(err)
		}
		// 3. The results stored while the request stream was read. The
		// worker stores a request's result before it acks the request, and
		// only the ack removes it from a work-queue stream: every copy is in
		// the request stream, or has its result in the events stream, or
		// both. A copy that left the request stream before step 2 read it
		// had its result stored before that, so reading the results again
		// now, after step 2, finds it, however long the copy waited. (Read
		// in the other order only, results then requests, a copy answered
		// in between is in neither.) A copy another replay publishes after
		// step 2 is dropped as a duplicate by its Nats-Msg-Id.
		if err := answersAfter(ctx, s, lastResult, answered); err != nil {
			return fail(err)
		}
	}

	// 4. Republish what has not been.
	var done, skipped, missing int
	for _, f := range failures {
		room := printable(f.failed.RoomID)
		if room == "" {
			room = "-"
		}
		orig, rid := printable(f.requestID), replayID(f.ev.ID())
		if typ, ok := answered[rid]; ok {
			fmt.Fprintf(e.stdout, "already replayed %s request %s as %s (%s)\n", room, orig, rid, map[string]string{
				events.TypeRoomCreated: "created", events.TypeRoomFailed: "failed"}[typ])
			skipped++
			continue
		}
		if published[rid] {
			fmt.Fprintf(e.stdout, "already replayed %s request %s as %s (pending)\n", room, orig, rid)
			skipped++
			continue
		}
		req := originals[f.ev.ID()]
		if req == nil {
			fmt.Fprintf(e.stdout, "not found %s request %s: %s\n", room, orig,
				notFoundReason(f, unreadable[f.ev.ID()], s.RequestStream, workQueue))
			missing++
			continue
		}
		if *dryRun {
			fmt.Fprintf(e.stdout, "would republish %s request %s as %s\n", room, orig, rid)
			done++
			continue
		}
		cp := req.Clone()
		cp.SetID(rid)
		cp.SetTime(time.Now().UTC())
		cp.SetExtension(extReplayOf, req.ID())
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := events.Publish(pctx, s.js, s.RequestSubject, &cp, jetstream.WithExpectStream(s.RequestStream))
		cancel()
		if err != nil {
			return fail(fmt.Errorf("republish request %s: %w", orig, streamHint(err, s.RequestStream)))
		}
		fmt.Fprintf(e.stdout, "republished %s request %s as %s\n", room, orig, rid)
		done++
	}
	verb := "republished"
	if *dryRun {
		verb = "to republish"
	}
	fmt.Fprintf(e.stdout, "%d %s failures: %d %s, %d already replayed, %d not found\n",
		len(failures), *reason, done, verb, skipped, missing)
	if missing > 0 {
		return exitFailure
	}
	return exitOK
}

// noteAnswer records in answered (request id -> result type) that ev is the
// result of the request its requestid names; other events are ignored.
func noteAnswer(answered map[string]string, ev *event.Event) {
	if t := ev.Type(); t == events.TypeRoomCreated || t == events.TypeRoomFailed {
		id, _ := ev.Extensions()[events.ExtRequestID].(string)
		answered[id] = t
	}
}

// answersAfter adds to answered the results stored in the events stream
// after sequence seq, up to its end as it is now. They are the few stored
// during one replay: each is fetched on its own, stepping from one result
// to the next on each result subject.
func answersAfter(ctx context.Context, s *session, seq uint64, answered map[string]string) error {
	stream, err := s.js.Stream(ctx, s.EventsStream)
	if err != nil {
		return streamHint(err, s.EventsStream)
	}
	last := stream.CachedInfo().State.LastSeq
	for _, subject := range s.resultSubjects() {
		for next := seq + 1; next <= last; {
			m, err := stream.GetMsg(ctx, next, jetstream.WithGetMsgSubject(subject))
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				break // no later result on subject
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", s.EventsStream, err)
			}
			if m.Sequence > last {
				break
			}
			if ev, _, err := events.Decode(m.Header, m.Data); err == nil {
				noteAnswer(answered, ev)
			}
			next = m.Sequence + 1
		}
	}
	return nil
}

// embeddedRequest returns the request event a failure carries in
// data.request: nil when it carries none, an error when what it carries is
// no readable room.create event or not the request this failure answers.
func embeddedRequest(f *resultEvent) (*event.Event, error) {
	if len(f.failed.Request) == 0 || string(f.failed.Request) == "null" {
		return nil, nil
	}
	req, _, err := events.Decode(nats.Header{"Content-Type": {event.ApplicationCloudEventsJSON}}, f.failed.Request)
	if err != nil {
		return nil, fmt.Errorf("the request it carries is unreadable: %w", err)
	}
	if req.Type() != events.TypeCreateRoom {
		return nil, fmt.Errorf("the request it carries has type %q, not %s", printable(req.Type()), events.TypeCreateRoom)
	}
	if events.ResultID(events.OriginOf(req), events.TypeRoomFailed) != f.ev.ID() || req.ID() != f.requestID {
		return nil, fmt.Errorf("the request it carries (source %q, id %q) is not the one this failure answers",
			printable(req.Source()), printable(req.ID()))
	}
	return req, nil
}

// notFoundReason explains why the request behind failure f could not be
// found: embedded is the problem with the request f carries (nil when it
// carries none).
func notFoundReason(f *resultEvent, embedded error, stream string, workQueue bool) string {
	why := "the request is no longer in " + stream
	if embedded != nil {
		why = embedded.Error() + ", and it is no longer in " + stream
	} else if f.failed.Reason == events.ReasonRetriesExhausted {
		why = "the failure does not carry its request (published by an older roomworker), and it is no longer in " + stream
	}
	if !workQueue {
		return why
	}
	if f.failed.Reason == events.ReasonRejected {
		return why + " (rejected failures do not carry their request, and work-queue retention deletes answered requests:" +
			" run roomworker with REQUEST_RETENTION=limits to replay them)"
	}
	return why + " (work-queue retention deletes answered requests)"
}

// scanRequests calls fn with every readable request event in the request
// stream and reports whether the stream has work-queue retention. A
// work-queue stream only admits the worker's consumer, and holds only
// unanswered requests: its messages are read one by one; other streams
// through an ordered consumer.
func scanRequests(ctx context.Context, s *session, fn func(*event.Event)) (workQueue bool, err error) {
	stream, err := s.js.Stream(ctx, s.RequestStream)
	if err != nil {
		return false, streamHint(err, s.RequestStream)
	}
	info := stream.CachedInfo()
	if info.Config.Retention == jetstream.LimitsPolicy {
		return false, scan(ctx, s.js, s.RequestStream, nil, time.Time{}, func(m jetstream.Msg) error {
			if ev, _, err := events.Decode(m.Headers(), m.Data()); err == nil {
				fn(ev)
			}
			return nil
		})
	}
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // answered meanwhile
		}
		if err != nil {
			return true, fmt.Errorf("read %s: %w", s.RequestStream, err)
		}
		if ev, _, err := events.Decode(m.Header, m.Data); err == nil {
			fn(ev)
		}
	}
	return info.Config.Retention == jetstream.WorkQueuePolicy, nil
}
