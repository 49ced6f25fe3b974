package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The bare baseline (-role=bare) is the least a consumer of room.create can do and still be
// correct: JetStream Consume with prefetch, one signed POST of the request data to plugNmeet's
// create route (nothing read from the answer but its HTTP status), the answer body published as
// the result with a Nats-Msg-Id and its PubAck awaited, then the ack. It uses nats.go and
// net/http directly and no roomworker package, so it measures NATS and HTTP only.

// bareCreateRoute is plugNmeet's create route, written out rather than imported.
const bareCreateRoute = "/auth/room/create"

// bareConfig is the bare baseline's settings, read from the same variables as roomworker's.
type bareConfig struct {
	natsURL, url, key, secret string
	concurrency               int
}

func bareConfigFrom(lookup lookupFunc) (bareConfig, error) {
	get := func(k, def string) string {
		if v, ok := lookup(k); ok && v != "" {
			return v
		}
		return def
	}
	c := bareConfig{natsURL: get("NATS_URL", nats.DefaultURL), url: get("PLUGNMEET_URL", ""),
		key: get("PLUGNMEET_API_KEY", ""), secret: get("PLUGNMEET_API_SECRET", "")}
	if _, err := fmt.Sscan(get("CONCURRENCY", "64"), &c.concurrency); err != nil || c.concurrency < 1 {
		return c, fmt.Errorf("CONCURRENCY: %q is not a positive number", get("CONCURRENCY", ""))
	}
	if c.url == "" || c.key == "" || c.secret == "" {
		return c, fmt.Errorf("PLUGNMEET_URL, PLUGNMEET_API_KEY and PLUGNMEET_API_SECRET must be set")
	}
	return c, nil
}

// bare is the running bare pipeline.
type bare struct {
	cfg  bareConfig
	js   jetstream.JetStream
	http *http.Client
}

func runBare(ctx context.Context, lookup lookupFunc) error {
	cfg, err := bareConfigFrom(lookup)
	if err != nil {
		return err
	}
	nc, js, cons, err := baselineConsumer(ctx, cfg.natsURL, "bare")
	if err != nil {
		return err
	}
	defer nc.Close()
	// The same connection pool sizes as roomworker's client, so neither side re-dials.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 512, 256
	b := &bare{cfg: cfg, js: js, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}

	// Consume delivers messages one at a time to its handler; concurrency workers take them
	// from there, and the handler blocks while all of them are busy (the prefetch buffer of
	// PullMaxMessages keeps the next ones ready).
	work := make(chan jetstream.Msg)
	var wg sync.WaitGroup
	defer wg.Wait()
	for range cfg.concurrency {
		wg.Go(func() {
			for {
				select {
				case msg := <-work:
					b.handle(ctx, msg)
				case <-ctx.Done():
					return
				}
			}
		})
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		select {
		case work <- msg:
		case <-ctx.Done():
		}
	}, jetstream.PullMaxMessages(cfg.concurrency))
	if err != nil {
		return err
	}
	<-ctx.Done()
	cc.Stop()
	return nil
}

// handle posts one request, publishes the answer and acks; a failure naks for redelivery.
func (b *bare) handle(ctx context.Context, msg jetstream.Msg) {
	answer, err := b.create(ctx, msg.Data())
	if err != nil {
		_ = msg.NakWithDelay(100 * time.Millisecond)
		return
	}
	h := msg.Headers()
	out := &nats.Msg{Subject: "rooms.created", Header: nats.Header{"ce-subject": {h.Get("ce-subject")}}, Data: answer}
	if _, err := b.js.PublishMsg(ctx, out, jetstream.WithMsgID("bare-"+h.Get("ce-id"))); err != nil {
		_ = msg.Nak()
		return
	}
	_ = msg.Ack()
}

// create POSTs body signed to the create route and returns the answer body of a 200.
func (b *bare) create(ctx context.Context, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.cfg.url+bareCreateRoute, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("API-KEY", b.cfg.key)
	req.Header.Set("HASH-SIGNATURE", signHex([]byte(b.cfg.secret), body))
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("create: HTTP %d", resp.StatusCode)
	}
	return answer, nil
}

// signHex is plugNmeet's HASH-SIGNATURE: the lowercase hex HMAC-SHA256 of the raw body.
func signHex(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}
