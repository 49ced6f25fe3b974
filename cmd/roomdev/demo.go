package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/worker"
)

// demoParticipant joins and leaves the first room the demo created.
const demoParticipant = "alice"

// Bounds of the demo's steps: a step whose events do not arrive in time fails the demo. (A
// variable so that a test can shorten it.)
var demoBounds = struct{ create, lifecycle, end, booking time.Duration }{
	create:    60 * time.Second, // every create result
	lifecycle: 15 * time.Second, // a participant joins, or leaves and the room finishes
	end:       10 * time.Second, // room.end answered and session_ended stored
	booking:   15 * time.Second, // a booking 5s ahead scheduled and created
}

// demoBookingAhead is how far ahead the demo's booking starts.
const demoBookingAhead = 5 * time.Second

// runDemo publishes every *.json request in dir (and the first one a second time, to show the
// idempotency record at work), then prints each result as it arrives. With the webhook receiver
// on (WEBHOOK_ADDR, which roomdev sets for its stand-in), a participant then joins and leaves the
// first created room, whose lifecycle events are printed until session_ended; finally a room.end
// ends the next created room. A step whose events do not arrive within its bound is an error.
func runDemo(ctx context.Context, nc *nats.Conn, cfg worker.Config, w *worker.Worker, dir string, out io.Writer) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("-demo %s: no request files (*.json) found", dir)
	}
	slices.Sort(files)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readyCtx, readyCancel := context.WithTimeout(ctx, demoBounds.create)
	defer readyCancel()
	for w.Ready() != nil {
		select {
		case <-readyCtx.Done():
			return fmt.Errorf("demo: worker not ready: %v", w.Ready())
		case <-time.After(50 * time.Millisecond):
		}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	d := &demo{ctx: ctx, js: js, cfg: cfg, out: out, pending: map[string]string{}, roomOf: map[string]string{},
		seen: map[string]map[string]bool{}, earlier: map[string][]*event.Event{}}
	if d.results, err = follow(ctx, js, cfg.EventsStream); err != nil {
		return fmt.Errorf("demo: read results: %w", err)
	}
	defer d.results.stop()
	lifecycle := cfg.Webhook.Addr != ""
	if lifecycle {
		if d.lifecycle, err = follow(ctx, js, cfg.Webhook.Stream); err != nil {
			return fmt.Errorf("demo: read lifecycle events: %w", err)
		}
		defer d.lifecycle.stop()
	}

	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := d.publish(f, events.TypeCreateRoom, cfg.RequestSubject, body, ""); err != nil {
			return err
		}
	}
	first, _ := os.ReadFile(files[0])
	if err := d.publish(files[0], events.TypeCreateRoom, cfg.RequestSubject, first, " (again, new id: answered from the idempotency record)"); err != nil {
		return err
	}
	if err := d.await(demoBounds.create, "create result(s)", func() []string { return d.unanswered() }); err != nil {
		return err
	}

	// The rooms of the next steps: the first and the second room created, in file order.
	var rooms []string
	for _, f := range files {
		if r := d.roomOf[filepath.Base(f)]; r != "" && !slices.Contains(rooms, r) {
			rooms = append(rooms, r)
		}
	}
	if len(rooms) < 2 {
		return fmt.Errorf("demo: %d room(s) created, the lifecycle steps need 2", len(rooms))
	}
	joined, ended := rooms[0], rooms[1]

	if lifecycle {
		fmt.Fprintf(out, "-- lifecycle of %s: %s joins and leaves; plugNmeet's webhooks, verified, arrive from %s.>\n",
			joined, demoParticipant, cfg.Webhook.SubjectPrefix)
		d.showRoom(joined)
		if err := d.participant(joined, "join"); err != nil {
			return err
		}
		if err := d.await(demoBounds.lifecycle, "lifecycle events of "+joined, d.missing(joined, "room_created", "room_started", "participant_joined", "track_published")); err != nil {
			return err
		}
		if err := d.participant(joined, "leave"); err != nil {
			return err
		}
		if err := d.await(demoBounds.lifecycle, "lifecycle events of "+joined,
			d.missing(joined, "participant_left", "room_finished", "session_ended")); err != nil {
			return err
		}
		fmt.Fprintf(out, "-- room.end for %s\n", ended)
		d.showRoom(ended)
	}
	endBody, _ := json.Marshal(events.EndRoom{RoomID: ended})
	if err := d.publish(ended, events.TypeEndRoom, cfg.EndSubject, endBody, ""); err != nil {
		return err
	}
	waitEnd := func() []string { return d.unanswered() }
	if lifecycle {
		waitEnd = func() []string { return append(d.unanswered(), d.missing(ended, "session_ended")()...) }
	}
	if err := d.await(demoBounds.end, "the end of "+ended, waitEnd); err != nil {
		return err
	}
	if err := d.bookAhead(files[0]); err != nil {
		return err
	}
	fmt.Fprintf(out, "demo done: %d created, %d failed, %d ended, %d booked", d.created, d.failed, d.ended, d.booked)
	if lifecycle {
		fmt.Fprintf(out, "; %d lifecycle events of %s and %s", d.shown, joined, ended)
	}
	fmt.Fprintln(out)
	return nil
}

// demo is the state of one demo run.
type demo struct {
	ctx                context.Context
	js                 jetstream.JetStream
	cfg                worker.Config
	out                io.Writer
	results, lifecycle *feed
	pending            map[string]string          // request id → what it asked for (file or room)
	roomOf             map[string]string          // request file → the room_id of its room.created
	seen               map[string]map[string]bool // room_id → lifecycle event names stored
	earlier            map[string][]*event.Event  // room_id → its lifecycle events not printed yet
	show               string                     // the room whose lifecycle events are printed
	created, failed    int
	ended, shown       int
	booked             int
	bookedAt           map[string]time.Time // request id of a booking → its create_at
	unreadable         int                  // lifecycle messages that are not CloudEvents (not printed)
}

// bookAhead books a copy of the request in file (room demo-booked) starting demoBookingAhead
// from now, and waits for its room.scheduled and then its room.created, CREATE_LEAD before the start.
func (d *demo) bookAhead(file string) error {
	var req map[string]any
	body, err := os.ReadFile(file)
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		return fmt.Errorf("demo: booking from %s: %w", file, err)
	}
	req["room_id"] = "demo-booked"
	if body, err = json.Marshal(req); err != nil {
		return err
	}
	start := time.Now().Add(demoBookingAhead).Truncate(time.Millisecond)
	fmt.Fprintf(d.out, "-- booking demo-booked: the meeting starts at %s, %s from now; with CREATE_LEAD %s the room is created at %s\n",
		start.UTC().Format("15:04:05.000"), demoBookingAhead, d.cfg.CreateLead, start.Add(-d.cfg.CreateLead).UTC().Format("15:04:05.000"))
	if err := d.publish("demo-booked", events.TypeCreateRoom, d.cfg.RequestSubject, body, " (starttime "+start.UTC().Format(time.RFC3339Nano)+")",
		func(ev *event.Event) { ev.SetExtension(events.ExtStartTime, start.UTC().Format(time.RFC3339Nano)) }); err != nil {
		return err
	}
	return d.await(demoBounds.booking, "the booking of demo-booked", func() []string { return d.unanswered() })
}

// publish sends one request event and remembers its id until its result arrives.
func (d *demo) publish(what, typ, subject string, body []byte, note string, opts ...func(*event.Event)) error {
	ev := event.New()
	ev.SetID(uuid.NewString())
	ev.SetSource("roomworker/demo")
	ev.SetType(typ)
	ev.SetTime(time.Now())
	ev.SetExtension(events.ExtTraceParent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if typ == events.TypeEndRoom {
		ev.SetSubject(what)
	}
	if err := ev.SetData(event.ApplicationJSON, body); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for _, o := range opts {
		o(&ev)
	}
	h, data, err := events.EncodeBinary(&ev)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
	defer cancel()
	if _, err := d.js.PublishMsg(ctx, &nats.Msg{Subject: subject, Header: h, Data: data}, jetstream.WithMsgID(ev.ID())); err != nil {
		return fmt.Errorf("publish %s: %w", what, err)
	}
	label := filepath.Base(what)
	if typ == events.TypeEndRoom {
		label = typ + " " + what
	}
	fmt.Fprintf(d.out, "-> published %-32s id=%s%s\n", label, ev.ID(), note)
	d.pending[ev.ID()] = label
	return nil
}

// unanswered lists the requests still waiting for their result.
func (d *demo) unanswered() []string {
	var ids []string
	for id, what := range d.pending {
		ids = append(ids, what+" ("+id+")")
	}
	slices.Sort(ids)
	return ids
}

// missing returns a check listing which of the named lifecycle events of room are not stored yet.
func (d *demo) missing(room string, names ...string) func() []string {
	return func() []string {
		var m []string
		for _, n := range names {
			if !d.seen[room][n] {
				m = append(m, events.TypeLifecyclePrefix+n+" of "+room)
			}
		}
		return m
	}
}

// await prints results and lifecycle events as they arrive until wanting() lists nothing, or
// fails naming what did not arrive within bound.
func (d *demo) await(bound time.Duration, what string, wanting func() []string) error {
	timeout := time.NewTimer(bound)
	defer timeout.Stop()
	var lifecycle <-chan arrival
	if d.lifecycle != nil {
		lifecycle = d.lifecycle.ch
	}
	for {
		w := wanting()
		if len(w) == 0 {
			return nil
		}
		select {
		case <-d.ctx.Done():
			return d.ctx.Err()
		case <-timeout.C:
			return fmt.Errorf("demo: %s did not arrive within %s: %s", what, bound, strings.Join(w, ", "))
		case a := <-d.results.ch:
			if a.err != nil {
				return fmt.Errorf("demo: undecodable result: %w", a.err)
			}
			d.result(a.ev)
		case a := <-lifecycle:
			if a.err != nil {
				d.unreadable++
				continue
			}
			d.lifecycleEvent(a.ev)
		}
	}
}

// result prints a result the demo waits for.
func (d *demo) result(ev *event.Event) {
	reqID, _ := ev.Extensions()[events.ExtRequestID].(string)
	what, ok := d.pending[reqID]
	if !ok {
		return
	}
	if ev.Type() == events.TypeRoomScheduled { // not the last word: the room.created follows
		var s events.RoomScheduled
		if json.Unmarshal(ev.Data(), &s) == nil {
			if d.bookedAt == nil {
				d.bookedAt = map[string]time.Time{}
			}
			d.bookedAt[reqID] = s.CreateAt
			fmt.Fprintf(d.out, "<- %-12s for %-28s room_id=%s create_at=%s start_time=%s\n", ev.Type(), what, s.RoomID,
				s.CreateAt.UTC().Format("15:04:05.000"), s.StartTime.UTC().Format("15:04:05.000"))
		}
		return
	}
	delete(d.pending, reqID)
	fmt.Fprintf(d.out, "<- %-12s for %-28s %s\n", ev.Type(), what, summarize(ev))
	if at, ok := d.bookedAt[reqID]; ok && ev.Type() == events.TypeRoomCreated {
		d.booked++
		fmt.Fprintf(d.out, "   created %s after its create_at (%s)\n", time.Since(at).Round(time.Millisecond),
			at.UTC().Format("15:04:05.000"))
	}
	switch ev.Type() {
	case events.TypeRoomCreated:
		d.created++
		var c events.RoomCreated
		if json.Unmarshal(ev.Data(), &c) == nil && d.roomOf[what] == "" {
			d.roomOf[what] = c.RoomID
		}
	case events.TypeRoomEnded:
		d.ended++
	default:
		d.failed++
	}
}

// lifecycleEvent records a lifecycle event, and prints it when it is of the room shown.
func (d *demo) lifecycleEvent(ev *event.Event) {
	room := ev.Subject()
	name := strings.TrimPrefix(ev.Type(), events.TypeLifecyclePrefix)
	if d.seen[room] == nil {
		d.seen[room] = map[string]bool{}
	}
	d.seen[room][name] = true
	if room != d.show {
		d.earlier[room] = append(d.earlier[room], ev)
		return
	}
	d.print(ev)
}

// showRoom prints the lifecycle events of room from now on, after those that arrived already.
func (d *demo) showRoom(room string) {
	d.show = room
	for _, ev := range d.earlier[room] {
		d.print(ev)
	}
	delete(d.earlier, room)
}

func (d *demo) print(ev *event.Event) {
	d.shown++
	fmt.Fprintf(d.out, "<- %-30s %s\n", ev.Type(), summarizeLifecycle(ev))
}

// hookBody is the part of a plugNmeet webhook body the demo prints.
type hookBody struct {
	Room struct {
		SID string `json:"sid"`
	} `json:"room"`
	Participant *struct {
		Identity         string `json:"identity"`
		DisconnectReason string `json:"disconnect_reason"`
	} `json:"participant"`
	Track *struct {
		Source string `json:"source"`
	} `json:"track"`
}

// summarizeLifecycle renders a lifecycle event's key fields in one line.
func summarizeLifecycle(ev *event.Event) string {
	var b hookBody
	if err := json.Unmarshal(ev.Data(), &b); err != nil {
		return "room=" + ev.Subject()
	}
	var s strings.Builder
	fmt.Fprintf(&s, "room=%s sid=%s", ev.Subject(), b.Room.SID)
	if p := b.Participant; p != nil {
		fmt.Fprintf(&s, " user=%s", p.Identity)
		if p.DisconnectReason != "" {
			fmt.Fprintf(&s, " reason=%s", p.DisconnectReason)
		}
	}
	if b.Track != nil {
		fmt.Fprintf(&s, " track=%s", b.Track.Source)
	}
	if r, _ := ev.Extensions()[events.ExtReconciled].(bool); r {
		s.WriteString(" reconciled=true")
	}
	return s.String()
}

// participant makes the demo participant join or leave room through the stand-in's control
// endpoint (cmd/plugnmeet-standin has the same).
func (d *demo) participant(room, action string) error {
	u := fmt.Sprintf("%s/_standin/rooms/%s/%s?user=%s", strings.TrimRight(d.cfg.PlugNmeet.URL, "/"),
		url.PathEscape(room), action, url.QueryEscape(demoParticipant))
	ctx, cancel := context.WithTimeout(d.ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("demo: %s %s: %w", demoParticipant, action, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("demo: %s %s %s: the stand-in answered %d %s (the lifecycle steps need roomdev's stand-in)",
			demoParticipant, action, room, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(d.out, "-> %s %ss %s (stand-in)\n", demoParticipant, action, room)
	return nil
}

// arrival is one message read from a stream: its event, or why it does not decode.
type arrival struct {
	ev  *event.Event
	err error
}

// feed delivers the events stored in a stream from the moment it was opened on, in order.
type feed struct {
	ch   chan arrival
	cons jetstream.ConsumeContext
}

// follow opens a feed on stream, from its next sequence on. (DeliverNew would start where the
// stream is when the ordered consumer is first used, after the fastest events are stored.)
func follow(ctx context.Context, js jetstream.JetStream, stream string) (*feed, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   s.CachedInfo().State.LastSeq + 1,
	})
	if err != nil {
		return nil, err
	}
	f := &feed{ch: make(chan arrival, 1024)}
	f.cons, err = c.Consume(func(m jetstream.Msg) {
		ev, _, err := events.Decode(m.Headers(), m.Data())
		select {
		case f.ch <- arrival{ev, err}:
		case <-ctx.Done():
		}
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (f *feed) stop() { f.cons.Stop() }

// summarize renders the important part of a result in one line.
func summarize(ev *event.Event) string {
	switch ev.Type() {
	case events.TypeRoomCreated:
		var c events.RoomCreated
		if err := json.Unmarshal(ev.Data(), &c); err != nil {
			return string(ev.Data())
		}
		s := fmt.Sprintf("room_id=%s sid=%s duplicate=%t attempts=%d", c.RoomID, c.SID, c.Duplicate, c.Attempts)
		for _, w := range c.Warnings {
			s += fmt.Sprintf("\n     warning: %s requested %v, plugNmeet applied %v", w.Path, w.Requested, w.Applied)
		}
		return s
	case events.TypeRoomEnded:
		var e events.RoomEnded
		if err := json.Unmarshal(ev.Data(), &e); err != nil {
			return string(ev.Data())
		}
		return fmt.Sprintf("room_id=%s already_ended=%t attempts=%d", e.RoomID, e.AlreadyEnded, e.Attempts)
	default:
		var f events.RoomFailed
		if err := json.Unmarshal(ev.Data(), &f); err != nil {
			return string(ev.Data())
		}
		var b strings.Builder
		fmt.Fprintf(&b, "room_id=%s reason=%s: %s", f.RoomID, f.Reason, f.Message)
		for _, e := range f.Errors {
			fmt.Fprintf(&b, "\n     %s: %s", e.Path, e.Message)
		}
		return b.String()
	}
}
