package events

import (
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"
)

// TestOverNATS sends events through a real (in-process) NATS server, so the
// header encoding is checked against what the wire actually carries.
func TestOverNATS(t *testing.T) {
	opts := natstest.DefaultTestOptions
	opts.Port = server.RANDOM_PORT
	srv := natstest.RunServer(&opts)
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("rooms.>")
	if err != nil {
		t.Fatal(err)
	}

	send := func(h nats.Header, body []byte) *nats.Msg {
		t.Helper()
		if err := nc.PublishMsg(&nats.Msg{Subject: "rooms.create", Header: h, Data: body}); err != nil {
			t.Fatal(err)
		}
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	t.Run("binary and structured round trip", func(t *testing.T) {
		in := newEvent(`  "Weekly" 100% Grüße 😀  `)
		in.SetExtension("note", "trailing space ")
		for _, enc := range []func(*event.Event) (nats.Header, []byte, error){EncodeBinary, EncodeStructured} {
			h, body, err := enc(in)
			if err != nil {
				t.Fatal(err)
			}
			m := send(h, body)
			out, _, err := Decode(m.Header, m.Data)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffCanon(canon(t, in), canon(t, out)); d != "" {
				t.Errorf("event changed on the wire:\n%s", d)
			}
		}
	})

	t.Run("header names in any case", func(t *testing.T) {
		m := send(binaryHeader("Ce-Specversion", "1.0", "CE-ID", "x", "ce-Source", "/s", "Ce-Type", "room.create", "content-type", "application/json"), []byte(`{}`))
		e, mode, err := Decode(m.Header, m.Data)
		if err != nil || mode != ModeBinary || e.ID() != "x" || e.DataContentType() != "application/json" {
			t.Fatalf("decode = %v, %q, %v", e, mode, err)
		}
	})

	t.Run("a raw line break in a header value cannot add a header", func(t *testing.T) {
		// A producer that skips percent-encoding: nats.go turns CR/LF into
		// spaces, and the receiver still sees exactly the headers sent.
		m := send(minimalBinary("ce-subject", "x\r\nNats-Msg-Id: evil"), nil)
		if _, ok := m.Header["Nats-Msg-Id"]; ok {
			t.Fatalf("injected header arrived: %v", m.Header)
		}
		e, _, err := Decode(m.Header, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if e.Subject() != "x  Nats-Msg-Id: evil" {
			t.Errorf("subject = %q", e.Subject())
		}
	})
}
