package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// runDemo publishes every *.json request in dir (and the first one a second time, to show the
// idempotency record at work), then prints each result as it arrives.
func runDemo(ctx context.Context, nc *nats.Conn, cfg worker.Config, w *worker.Worker, dir string, out io.Writer) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("-demo %s: no request files (*.json) found", dir)
	}
	slices.Sort(files)

	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for w.Ready() != nil {
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: worker not ready: %v", w.Ready())
		case <-time.After(50 * time.Millisecond):
		}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	// Read results from the events stream's next sequence on. (DeliverNew would start where the
	// stream is when the ordered consumer is first used, after the fastest results are stored.)
	stream, err := js.Stream(ctx, cfg.EventsStream)
	if err != nil {
		return fmt.Errorf("demo: read results: %w", err)
	}
	results, err := js.OrderedConsumer(ctx, cfg.EventsStream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   stream.CachedInfo().State.LastSeq + 1,
	})
	if err != nil {
		return fmt.Errorf("demo: read results: %w", err)
	}

	type sent struct{ id, file string }
	var pending []sent
	publish := func(file string, body []byte, note string) error {
		ev := event.New()
		ev.SetID(uuid.NewString())
		ev.SetSource("roomworker/demo")
		ev.SetType(events.TypeCreateRoom)
		ev.SetTime(time.Now())
		ev.SetExtension(events.ExtTraceParent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		if err := ev.SetData(event.ApplicationJSON, body); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		h, data, err := events.EncodeBinary(&ev)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		msg := &nats.Msg{Subject: cfg.RequestSubject, Header: h, Data: data}
		if _, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(ev.ID())); err != nil {
			return fmt.Errorf("publish %s: %w", file, err)
		}
		fmt.Fprintf(out, "-> published %-32s id=%s%s\n", filepath.Base(file), ev.ID(), note)
		pending = append(pending, sent{ev.ID(), filepath.Base(file)})
		return nil
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := publish(f, body, ""); err != nil {
			return err
		}
	}
	first, _ := os.ReadFile(files[0])
	if err := publish(files[0], first, " (again, new id: answered from the idempotency record)"); err != nil {
		return err
	}

	byID := map[string]string{}
	for _, p := range pending {
		byID[p.id] = p.file
	}
	created, failed := 0, 0
	for len(byID) > 0 {
		msg, err := results.Next(jetstream.FetchMaxWait(time.Until(deadline(ctx))))
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || ctx.Err() != nil {
				return fmt.Errorf("demo: %d result(s) did not arrive within 60s", len(byID))
			}
			return fmt.Errorf("demo: read results: %w", err)
		}
		ev, _, err := events.Decode(msg.Headers(), msg.Data())
		if err != nil {
			return fmt.Errorf("demo: undecodable result: %w", err)
		}
		reqID, _ := ev.Extensions()[events.ExtRequestID].(string)
		file, ok := byID[reqID]
		if !ok {
			continue
		}
		delete(byID, reqID)
		fmt.Fprintf(out, "<- %-12s for %-28s %s\n", ev.Type(), file, summarize(ev))
		if ev.Type() == events.TypeRoomCreated {
			created++
		} else {
			failed++
		}
	}
	fmt.Fprintf(out, "demo done: %d created, %d failed\n", created, failed)
	return nil
}

func deadline(ctx context.Context) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Now().Add(time.Minute)
	}
	return d
}

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
