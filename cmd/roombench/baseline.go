package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/plugnmeet"
)

// runClientBaseline (-role=client-pipeline) is the baseline roomworker was first measured against,
// the "pipeline with roomworker's client": one Fetch per batch of free slots (roomworker's pull
// discipline), the request body POSTed through roomworker's plugnmeet client (which decodes and
// checks the answer), the room's sid published with a PubAck (no Nats-Msg-Id), ack. It is not
// the bare pipeline (see bare.go): it includes roomworker's client and its pull discipline.
func runClientBaseline(ctx context.Context, lookup lookupFunc) error {
	get := func(k, def string) string {
		if v, ok := lookup(k); ok && v != "" {
			return v
		}
		return def
	}
	var concurrency int
	if _, err := fmt.Sscan(get("CONCURRENCY", "64"), &concurrency); err != nil || concurrency < 1 {
		return fmt.Errorf("CONCURRENCY: %q is not a positive number", get("CONCURRENCY", ""))
	}
	api, err := plugnmeet.New(plugnmeet.Config{URL: get("PLUGNMEET_URL", ""), APIKey: get("PLUGNMEET_API_KEY", ""),
		APISecret: get("PLUGNMEET_API_SECRET", "")})
	if err != nil {
		return err
	}
	nc, js, cons, err := baselineConsumer(ctx, get("NATS_URL", nats.DefaultURL), "client-pipeline")
	if err != nil {
		return err
	}
	defer nc.Close()
	// The same pull discipline as the worker (never more messages than free slots), written out
	// here rather than imported, so the baseline measures NATS and HTTP, not roomworker code.
	slots := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		slots <- struct{}{}
		free := 1
		for free < concurrency {
			select {
			case slots <- struct{}{}:
				free++
				continue
			default:
			}
			break
		}
		fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		batch, err := cons.Fetch(free, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			for range free {
				<-slots
			}
			if ctx.Err() != nil {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				info, err := api.CreateRoom(ctx, msg.Data())
				if err != nil {
					_ = msg.NakWithDelay(100 * time.Millisecond)
					return
				}
				out := &nats.Msg{Subject: "rooms.created", Header: nats.Header{"ce-subject": {info.RoomID}}, Data: []byte(info.SID)}
				if _, err := js.PublishMsg(ctx, out); err != nil {
					_ = msg.Nak()
					return
				}
				_ = msg.Ack()
			}()
		}
		cancel()
		for range free - got {
			<-slots
		}
		if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// baselineConsumer connects to natsURL and creates the baseline's durable pull consumer on the
// request stream (explicit ack, the worker's AckWait and MaxAckPending). The caller closes nc.
func baselineConsumer(ctx context.Context, natsURL, durable string) (*nats.Conn, jetstream.JetStream, jetstream.Consumer, error) {
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return nil, nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err == nil {
		var cons jetstream.Consumer
		cons, err = js.CreateOrUpdateConsumer(ctx, "ROOM_REQUESTS", jetstream.ConsumerConfig{
			Durable: durable, FilterSubject: "rooms.create", AckPolicy: jetstream.AckExplicitPolicy,
			AckWait: 15 * time.Second, MaxAckPending: 1024,
		})
		if err == nil {
			return nc, js, cons, nil
		}
	}
	nc.Close()
	return nil, nil, nil, err
}
