package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultSource is the source of a request built by NewCreateRoomRequest or
// NewEndRoomRequest without WithSource. Publishers should name themselves instead: a
// CloudEvents id is only unique within its source.
const DefaultSource = "urn:roomworker:publisher"

// RequestOption sets an attribute of the event NewCreateRoomRequest or
// NewEndRoomRequest builds.
type RequestOption func(*event.Event)

// WithID sets the event id (default: a fresh random UUID). Reuse an id only
// to publish the same request again: JetStream drops the copy within the
// request stream's duplicate window, and roomworker answers the id once.
func WithID(id string) RequestOption { return func(e *event.Event) { e.SetID(id) } }

// WithSource sets the event source, a URI-reference naming the publisher
// (default DefaultSource).
func WithSource(source string) RequestOption { return func(e *event.Event) { e.SetSource(source) } }

// WithSubject sets the event subject (default: the request's room_id).
func WithSubject(subject string) RequestOption {
	return func(e *event.Event) { e.SetSubject(subject) }
}

// WithTime sets the event time (default: now).
func WithTime(t time.Time) RequestOption { return func(e *event.Event) { e.SetTime(t) } }

// WithExtension sets an extension attribute, for example ExtTraceParent
// with a W3C traceparent, which roomworker copies to the result. An invalid
// name or value makes NewCreateRoomRequest or NewEndRoomRequest fail.
func WithExtension(name string, value any) RequestOption {
	return func(e *event.Event) { e.SetExtension(name, value) }
}

// NewCreateRoomRequest builds a room.create CloudEvent carrying data, a
// create-room request: []byte and json.RawMessage are taken as the JSON
// text itself, any other value is rendered with encoding/json. The event
// gets a fresh UUID id, source DefaultSource, the time now, subject = the
// data's room_id and datacontenttype application/json, each overridable
// with opts.
//
// It checks that data is JSON and the event valid CloudEvents 1.0 (errors
// match ErrInvalidEvent), not that data follows the create-room schema:
// run schema.Validate on the data first to catch what roomworker would
// answer with room.failed (reason invalid_request).
func NewCreateRoomRequest(data any, opts ...RequestOption) (*event.Event, error) {
	var body []byte
	switch d := data.(type) {
	case []byte:
		body = d
	case json.RawMessage:
		body = d
	default:
		b, err := Marshal(data)
		if err != nil {
			return nil, fmt.Errorf("events: create-room request data: %w", err)
		}
		body = b
	}
	if !json.Valid(body) {
		return nil, errors.New("events: create-room request data is not valid JSON")
	}
	subject := ""
	var head struct {
		RoomID any `json:"room_id"`
	}
	if json.Unmarshal(body, &head) == nil {
		if id, ok := head.RoomID.(string); ok && id != "" {
			subject = id
		}
	}
	e, err := newRequest(TypeCreateRoom, subject, body, opts)
	if err != nil {
		return nil, fmt.Errorf("events: create-room request: %w", err)
	}
	return e, nil
}

// newRequest builds a request event of type typ around the JSON data body
// with the defaults of RequestOption (fresh UUID id, DefaultSource, now,
// application/json) and subject, applies opts and checks the result is
// valid CloudEvents 1.0 (an *InvalidEventError otherwise).
func newRequest(typ, subject string, body []byte, opts []RequestOption) (*event.Event, error) {
	e := event.New(event.CloudEventsVersionV1)
	e.SetID(uuid.NewString())
	e.SetSource(DefaultSource)
	e.SetType(typ)
	e.SetTime(time.Now().UTC())
	if subject != "" {
		e.SetSubject(subject)
	}
	e.SetDataContentType(event.ApplicationJSON)
	e.DataEncoded = append([]byte(nil), body...)
	for _, o := range opts {
		o(&e)
	}
	var p problems
	// An option the SDK refused (an empty id, a source that is no URI
	// reference) left the default in place: report it, not the default.
	for _, attr := range slices.Sorted(maps.Keys(e.FieldErrors)) {
		p.add(attr, fmt.Sprintf("%s: %v", memberName(attr), e.FieldErrors[attr]))
	}
	if len(p) == 0 {
		validateEvent(&e, memberName, &p)
	}
	if err := p.err(""); err != nil {
		return nil, err
	}
	return &e, nil
}

// Publish stores ev on subject in JetStream in binary mode, with
// Nats-Msg-Id set to the event id so that JetStream drops a retried publish
// of the same event inside the stream's duplicate window, and returns the
// PubAck (Duplicate is true for such a copy). opts add JetStream publish
// options, for example jetstream.WithExpectStream.
func Publish(ctx context.Context, js jetstream.JetStream, subject string, ev *event.Event, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	return publish(ctx, js, subject, ev, EncodeBinary, opts)
}

// PublishStructured is Publish in structured mode (the JSON event format,
// Content-Type application/cloudevents+json).
func PublishStructured(ctx context.Context, js jetstream.JetStream, subject string, ev *event.Event, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	return publish(ctx, js, subject, ev, EncodeStructured, opts)
}

func publish(ctx context.Context, js jetstream.JetStream, subject string, ev *event.Event,
	encode func(*event.Event) (nats.Header, []byte, error), opts []jetstream.PublishOpt) (*jetstream.PubAck, error) {
	h, body, err := encode(ev)
	if err != nil {
		return nil, err
	}
	opts = append([]jetstream.PublishOpt{jetstream.WithMsgID(ev.ID())}, opts...)
	ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: subject, Header: h, Data: body}, opts...)
	if err != nil {
		return nil, fmt.Errorf("events: publish %s to %s: %w", ev.Type(), subject, err)
	}
	return ack, nil
}
