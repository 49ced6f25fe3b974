package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/schema"
	"github.com/roomworker/roomworker/worker"
)

// A room plugNmeet ended without a webhook reaching us (no receiver, or NATS down for longer than
// plugNmeet retries) is found by reconciliation: one plugnmeet.session_ended flagged reconciled,
// and its record says ended. A live room is left alone.
func TestReconciliationEndsVanishedRooms(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, func(c *worker.Config) { c.Webhook.Reconcile = time.Second })
	rw := e.StartWorker(nil)
	e.StartWorker(nil) // two replicas: one reconciles at a time
	e.Publish(testenv.NewEvent("", testenv.Request("vanishes")))
	e.Publish(testenv.NewEvent("", testenv.Request("stays")))
	got := e.WaitResults(2, 10*time.Second)
	sids := map[string]string{}
	for _, r := range got {
		sids[r.Created.RoomID] = r.Created.SID
	}
	e.Standin.EndRoom("vanishes") // plugNmeet ends it; no webhook is configured

	ctx := context.Background()
	var ev *jetstream.RawStreamMsg
	e.Eventually(15*time.Second, "a reconciled session_ended", func() bool {
		s, err := e.JS.Stream(ctx, e.Cfg.Webhook.Stream)
		if err != nil {
			return false
		}
		m, err := s.GetLastMsgForSubject(ctx, e.Cfg.Webhook.LifecycleSubject("session_ended"))
		if err != nil {
			return false
		}
		ev = m
		return true
	})
	dec, _, err := events.Decode(ev.Header, ev.Data)
	if err != nil {
		t.Fatal(err)
	}
	if dec.Type() != "plugnmeet.session_ended" || dec.Subject() != "vanishes" || fmt.Sprint(dec.Extensions()[events.ExtReconciled]) != "true" {
		t.Errorf("got %s subject %s extensions %v", dec.Type(), dec.Subject(), dec.Extensions())
	}
	if err := schema.ValidateLifecycleEvent(dec.Data()); err != nil {
		t.Errorf("the reconciled event breaks schema/lifecycle-event.schema.json: %v", err)
	}
	var data struct {
		Room struct{ RoomID, SID string } `json:"room"`
	}
	if err := json.Unmarshal(dec.Data(), &data); err != nil || data.Room.SID != sids["vanishes"] {
		t.Errorf("data %s: want the recorded sid %s", dec.Data(), sids["vanishes"])
	}
	kv, err := e.JS.KeyValue(ctx, e.Cfg.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	state := func(room string) string {
		entry, err := kv.Get(ctx, worker.RoomKey(room))
		if err != nil {
			t.Fatal(err)
		}
		var rec worker.Record
		_ = json.Unmarshal(entry.Value(), &rec)
		return rec.State
	}
	// The event is stored first, then the record is marked: wait for the second write.
	e.Eventually(5*time.Second, "the vanished room's record marked ended", func() bool {
		return state("vanishes") == worker.StateEnded
	})
	time.Sleep(2500 * time.Millisecond) // two more runs: nothing else happens
	if s := state("stays"); s != worker.StateCreated {
		t.Errorf("record of the live room: %q, want created", s)
	}
	s, _ := e.JS.Stream(ctx, e.Cfg.Webhook.Stream)
	info, _ := s.Info(ctx)
	if info.State.Msgs != 1 {
		t.Errorf("%d lifecycle events, want the one reconciled session_ended", info.State.Msgs)
	}
	if v := value(t, rw.Reg, "roomworker_rooms_reconciled_total", nil); v > 1 {
		t.Errorf("reconciled counter %v on one replica, want at most 1", v)
	}
}
