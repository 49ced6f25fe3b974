package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
)

// lifecycleEvent is a plugNmeet webhook delivery republished by roomworker
// (type plugnmeet.<event>), read from the lifecycle stream.
type lifecycleEvent struct {
	ev     *event.Event
	body   map[string]any // the delivery body; nil when the data is no JSON object
	stored time.Time      // when JetStream stored it
}

// decodeLifecycle reads a lifecycle message. Data that is no JSON object is
// kept: the line then shows what the attributes say.
func decodeLifecycle(m jetstream.Msg) (*lifecycleEvent, error) {
	ev, _, err := events.Decode(m.Headers(), m.Data())
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(ev.Type(), events.TypeLifecyclePrefix) {
		return nil, fmt.Errorf("event %s has type %q, not %s<event>", printable(ev.ID()), printable(ev.Type()), events.TypeLifecyclePrefix)
	}
	l := &lifecycleEvent{ev: ev}
	_ = json.Unmarshal(ev.Data(), &l.body)
	if meta, err := m.Metadata(); err == nil {
		l.stored = meta.Timestamp
	}
	return l, nil
}

func (l *lifecycleEvent) eventType() string { return l.ev.Type() }

// roomID is the event's subject, or else the body's room.room_id.
func (l *lifecycleEvent) roomID() string {
	if s := l.ev.Subject(); s != "" {
		return s
	}
	return l.field("room", "room_id")
}

// field is the string at path in the body ("" when absent or no string).
func (l *lifecycleEvent) field(path ...string) string {
	var cur any = l.body
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[k]
	}
	s, _ := cur.(string)
	return s
}

// lifecycleFields are the body fields a text line shows, in order, when
// present: name=path.
var lifecycleFields = []struct {
	name string
	path []string
}{
	{"sid", []string{"room", "sid"}},
	{"participant", []string{"participant", "identity"}},
	{"reason", []string{"participant", "disconnect_reason"}},
	{"track", []string{"track", "sid"}},
	{"source", []string{"track", "source"}},
	{"kind", []string{"track", "type"}},
	{"artifact", []string{"room_artifact", "type"}},
	{"artifact_id", []string{"room_artifact", "artifact_id"}},
	{"file_id", []string{"analytics", "file_id"}},
	{"record_id", []string{"recording_info", "record_id"}},
	{"recorder_msg", []string{"recording_info", "recorder_msg"}},
	{"file", []string{"recording_info", "file_path"}},
}

// format renders l as one line: the JSON event format ("json") or words
// ("text").
func (l *lifecycleEvent) format(format string) (string, error) {
	if format == "json" {
		return rawJSON(l.ev)
	}
	var sb strings.Builder
	lineStart(&sb, l.ev, l.stored, l.roomID())
	for _, f := range lifecycleFields {
		if v := l.field(f.path...); v != "" {
			fmt.Fprintf(&sb, " %s=%s", f.name, quoteField(v))
		}
	}
	if v, ok := l.ev.Extensions()[events.ExtReconciled]; ok && fmt.Sprint(v) == "true" {
		sb.WriteString(" reconciled=true")
	}
	fmt.Fprintf(&sb, " id=%s", printable(l.ev.ID()))
	return sb.String(), nil
}

// quoteField keeps a value one word: one with spaces, quotes or
// non-printable characters is rendered as a Go string literal.
func quoteField(v string) string {
	if v == printable(v) && !strings.ContainsAny(v, " \"=") {
		return v
	}
	return fmt.Sprintf("%q", v)
}
