package events

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
)

// canon renders everything a consumer can observe of an event as strings,
// extensions by their canonical string, so events decoded from different
// modes compare equal when they carry the same information.
func canon(t testing.TB, e *event.Event) map[string]string {
	t.Helper()
	m := map[string]string{
		"specversion":     e.SpecVersion(),
		"id":              e.ID(),
		"source":          e.Source(),
		"type":            e.Type(),
		"subject":         e.Subject(),
		"datacontenttype": e.DataContentType(),
		"dataschema":      e.DataSchema(),
		"data":            string(e.DataEncoded),
	}
	if tm := e.Time(); !tm.IsZero() {
		m["time"] = tm.UTC().Format(time.RFC3339Nano)
	}
	for k, v := range e.Extensions() {
		s, err := types.Format(v)
		if err != nil {
			t.Fatalf("extension %s: %v", k, err)
		}
		m["ext:"+k] = s
	}
	return m
}

func diffCanon(a, b map[string]string) string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var d []string
	for _, k := range keys {
		if a[k] != b[k] {
			d = append(d, k+": "+quote(a[k])+" != "+quote(b[k]))
		}
	}
	return strings.Join(d, "\n")
}

// newEvent returns a valid request event with the given subject.
func newEvent(subject string) *event.Event {
	e := event.New()
	e.SetID("req-1")
	e.SetSource("/scheduler/eu-1")
	e.SetType(TypeCreateRoom)
	if subject != "" {
		e.SetSubject(subject)
	}
	e.SetTime(time.Date(2026, 5, 4, 3, 2, 1, 123456789, time.UTC))
	_ = e.SetData(event.ApplicationJSON, map[string]any{"room_id": "room01", "max_participants": 10})
	return &e
}

// binaryHeader builds a header from key/value pairs, keeping keys as given.
func binaryHeader(kv ...string) nats.Header {
	h := nats.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// minimalBinary is a valid binary header plus extra pairs.
func minimalBinary(extra ...string) nats.Header {
	return binaryHeader(append([]string{
		"ce-specversion", "1.0", "ce-id", "abc-1", "ce-source", "/scheduler", "ce-type", "room.create",
	}, extra...)...)
}
