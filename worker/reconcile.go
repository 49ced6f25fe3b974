package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/plugnmeet"
)

// Reconciliation closes the gap webhooks leave: a delivery plugNmeet gave up on (the receiver
// or NATS down for more than its ~3 s of retries), or no receiver at all. Every
// RECONCILE_INTERVAL, and after the NATS connection comes back, one replica compares the rooms
// the bucket records as live with plugNmeet's active rooms. A recorded room plugNmeet no longer
// has (checked again under the room's lease, with isRoomActive) gets a plugnmeet.session_ended
// event flagged reconciled=true, and its record says the session ended.

// roomLister is the part of the plugNmeet client reconciliation needs.
type roomLister interface {
	GetActiveRoomsInfo(ctx context.Context) ([]plugnmeet.ActiveRoom, error)
}

// reconcileKey is the bucket key that lets one replica at a time reconcile.
const reconcileKey = "reconcile.lease"

// reconcileNamespace is the UUIDv5 namespace of reconciled session_ended event ids.
var reconcileNamespace = uuid.MustParse("2d1f4a8e-93c7-4b5e-a0f6-5c8e7d2b1a34")

// reconcileLoop reconciles every RECONCILE_INTERVAL and after NATS reconnects, until ctx ends.
func (w *Worker) reconcileLoop(ctx context.Context) {
	lister, ok := w.api.(roomLister)
	if !ok {
		return
	}
	every := time.NewTicker(w.cfg.Webhook.Reconcile)
	defer every.Stop()
	watch := time.NewTicker(min(5*time.Second, w.cfg.Webhook.Reconcile))
	defer watch.Stop()
	reconnects := w.nc.Stats().Reconnects
	for {
		select {
		case <-ctx.Done():
			return
		case <-every.C:
		case <-watch.C:
			r := w.nc.Stats().Reconnects
			if r == reconnects || !w.nc.IsConnected() {
				continue
			}
			reconnects = r
		}
		n, err := w.reconcileRooms(ctx, lister)
		switch {
		case err != nil && ctx.Err() == nil:
			w.log.Warn("reconciling live rooms with plugNmeet failed; next try in RECONCILE_INTERVAL", "err", err)
		case n > 0:
			w.log.Info("rooms plugNmeet no longer has marked ended", "rooms", n)
		}
	}
}

// reconcileRooms runs one comparison and returns how many rooms it found ended. It does nothing
// while another replica reconciles.
func (w *Worker) reconcileRooms(ctx context.Context, lister roomLister) (int, error) {
	kv := w.store.kv
	if kv == nil {
		return 0, nil
	}
	if _, err := kv.Create(ctx, reconcileKey, []byte(w.id), jetstream.KeyTTL(max(w.cfg.Webhook.Reconcile/2, time.Second))); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return 0, nil // another replica's turn
		}
		return 0, fmt.Errorf("reconcile turn: %w", err)
	}
	recorded, err := w.liveRecords(ctx, kv)
	if err != nil || len(recorded) == 0 {
		return 0, err
	}
	cctx, cancel := context.WithTimeout(ctx, w.cfg.RequestTimeout)
	start := time.Now()
	active, err := lister.GetActiveRoomsInfo(cctx)
	cancel()
	w.metrics.observeAPI(ctx, plugnmeet.RouteGetActiveRoomsInfo, start, err)
	if err != nil {
		return 0, err
	}
	live := make(map[string]string, len(active))
	for _, r := range active {
		live[r.RoomInfo.RoomID] = r.RoomInfo.SID
	}
	n := 0
	for room, sid := range recorded {
		if live[room] == sid {
			continue
		}
		gone, err := w.confirmEnded(ctx, room, sid)
		if err != nil {
			return n, err
		}
		if gone {
			n++
		}
	}
	w.metrics.reconciled.Add(float64(n))
	return n, nil
}

// liveRecords returns the sid of every room the bucket records as live.
func (w *Worker) liveRecords(ctx context.Context, kv jetstream.KeyValue) (map[string]string, error) {
	lister, err := kv.ListKeysFiltered(ctx, RoomKey(">"))
	if err != nil {
		return nil, fmt.Errorf("list room records: %w", err)
	}
	defer func() { _ = lister.Stop() }()
	out := map[string]string{}
	for key := range lister.Keys() {
		room := strings.TrimPrefix(key, RoomKey(""))
		rec, err := w.store.room(ctx, room)
		if err != nil {
			return nil, err
		}
		if rec != nil && rec.State == StateCreated && rec.SID != "" {
			out[room] = rec.SID
		}
	}
	return out, nil
}

// confirmEnded checks a room missing from plugNmeet's list again under its lease (a create may
// have just made a new session) and, if its recorded session is really gone, publishes
// plugnmeet.session_ended (reconciled) and marks the record ended.
func (w *Worker) confirmEnded(ctx context.Context, room, sid string) (bool, error) {
	l, err := w.store.takeLease(ctx, room, Lease{Holder: w.id, RequestID: "reconcile", At: time.Now().UTC()}, w.cfg.leaseTTL())
	if errors.Is(err, errLeaseHeld) {
		return false, nil // a request is working on the room: the next run looks again
	}
	if err != nil {
		return false, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = l.release(rctx)
		cancel()
	}()
	rec, err := w.store.room(ctx, room)
	if err != nil || rec == nil || rec.State != StateCreated || rec.SID != sid {
		return false, err
	}
	if active, err := w.isRoomActive(ctx, room); err != nil || active {
		return false, err
	}
	if err := w.publishReconciledEnd(ctx, room, sid); err != nil {
		return false, err
	}
	_, err = w.store.markEnded(ctx, room, sid)
	return err == nil, err
}

// publishReconciledEnd stores a plugnmeet.session_ended event for a session that ended without
// a webhook saying so. Its id derives from the room and sid, so it is stored once.
func (w *Worker) publishReconciledEnd(ctx context.Context, room, sid string) error {
	now := time.Now().UTC()
	id := uuid.NewSHA1(reconcileNamespace, []byte(room+"\x00"+sid)).String()
	data, err := json.Marshal(map[string]any{
		"event":      "session_ended",
		"id":         id,
		"created_at": strconv.FormatInt(now.Unix(), 10),
		"room":       map[string]string{"room_id": room, "sid": sid},
		"reconciled": true,
	})
	if err != nil {
		return err
	}
	ev := event.New(event.CloudEventsVersionV1)
	ev.SetID(id)
	ev.SetSource(w.cfg.PlugNmeet.URL)
	ev.SetType(events.TypeLifecyclePrefix + "session_ended")
	ev.SetSubject(room)
	ev.SetTime(now)
	ev.SetExtension(events.ExtReconciled, true)
	if err := ev.SetData(event.ApplicationJSON, data); err != nil {
		return err
	}
	h, body, err := events.EncodeBinary(&ev)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: w.cfg.Webhook.LifecycleSubject("session_ended"), Header: h, Data: body}
	if _, err := w.js.PublishMsg(ctx, msg, jetstream.WithMsgID(WebhookMsgIDPrefix+id)); err != nil {
		return fmt.Errorf("publish reconciled session_ended for %s: %w", room, err)
	}
	return nil
}
