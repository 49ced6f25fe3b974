package events_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
)

// A scheduler asks roomworker for a room: it builds a room.create event
// around the create-room request and stores it in JetStream. Publishing the
// same event twice (say, after a timeout) is harmless: JetStream drops the
// copy because Nats-Msg-Id is the event id.
func ExamplePublish() {
	// An in-process NATS server with JetStream and the request stream the
	// worker would create; in production, connect to NATS_URL instead.
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	opts := natstest.DefaultTestOptions
	opts.Port, opts.JetStream, opts.StoreDir = server.RANDOM_PORT, true, dir
	srv := natstest.RunServer(&opts)
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ROOM_REQUESTS", Subjects: []string{"rooms.create"}}); err != nil {
		fmt.Println(err)
		return
	}

	request := map[string]any{
		"room_id": "weekly-sync",
		"metadata": map[string]any{
			"room_title":    "Weekly sync",
			"room_features": map[string]any{"allow_webcams": true /* ... */},
		},
	}
	ev, err := events.NewCreateRoomRequest(request,
		events.WithSource("urn:example:scheduler"),
		events.WithID("3f0c8a52-1d7e-4b8a-9f61-2a5b7c9d0e14"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 2 {
		ack, err := events.Publish(ctx, js, "rooms.create", ev)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("stream %s, sequence %d, duplicate %v\n", ack.Stream, ack.Sequence, ack.Duplicate)
	}
	fmt.Println("subject:", ev.Subject())
	// Output:
	// stream ROOM_REQUESTS, sequence 1, duplicate false
	// stream ROOM_REQUESTS, sequence 1, duplicate true
	// subject: weekly-sync
}

// A scheduler ends a meeting: it publishes a room.end request for the room
// on the end subject. roomworker ends the live session with plugNmeet's
// endRoom and answers room.ended (already_ended true when there was no live
// session) or room.failed, with requestid = the request's id.
func ExampleNewEndRoomRequest() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	opts := natstest.DefaultTestOptions
	opts.Port, opts.JetStream, opts.StoreDir = server.RANDOM_PORT, true, dir
	srv := natstest.RunServer(&opts)
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The request stream as the worker creates it: it takes rooms.create and rooms.end.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ROOM_REQUESTS",
		Subjects: []string{"rooms.create", "rooms.end"}}); err != nil {
		fmt.Println(err)
		return
	}

	if _, err := events.NewEndRoomRequest("user_1"); errors.Is(err, events.ErrInvalidRoomID) {
		fmt.Println("refused:", err)
	}
	ev, err := events.NewEndRoomRequest("weekly-sync",
		events.WithSource("urn:example:scheduler"),
		events.WithID("8d1f6a0e-4c2b-4f7e-9a35-0b6c2d7e9f11"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ack, err := events.Publish(ctx, js, "rooms.end", ev)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("stream %s, sequence %d\n", ack.Stream, ack.Sequence)
	fmt.Printf("%s subject=%s data=%s\n", ev.Type(), ev.Subject(), ev.Data())
	// Output:
	// refused: events: end-room request: invalid room_id "user_1": must not start with "user_" (reserved by plugNmeet)
	// stream ROOM_REQUESTS, sequence 1
	// room.end subject=weekly-sync data={"room_id":"weekly-sync"}
}
