package events_test

import (
	"context"
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
