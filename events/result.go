package events

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/google/uuid"
)

// resultNamespace is the UUIDv5 namespace of roomworker result ids.
var resultNamespace = uuid.MustParse("6f1d3c52-8a4e-4b0f-9d43-2f7c1e5a9b80")

// Origin identifies what a result event answers: a request event, or a
// message that could not be read as one.
type Origin struct {
	// Source and ID identify the request (a CloudEvents id is only unique
	// within its source).
	Source string
	ID     string
	// TraceParent and TraceState are copied to the result when set.
	TraceParent string
	TraceState  string
}

// OriginOf returns the origin of a decoded request event.
func OriginOf(req *event.Event) Origin {
	return Origin{
		Source:      req.Source(),
		ID:          req.ID(),
		TraceParent: Extension(req, ExtTraceParent),
		TraceState:  Extension(req, ExtTraceState),
	}
}

// StreamOrigin returns the origin of a message that is not a readable
// CloudEvent, identified by its JetStream stream and stream sequence (stable
// across redeliveries). Its ID, "<stream>/<seq>", becomes the result's
// requestid.
func StreamOrigin(stream string, seq uint64) Origin {
	return Origin{Source: "urn:roomworker:stream", ID: stream + "/" + strconv.FormatUint(seq, 10)}
}

// ResultID returns the id of the result of type typ for origin o: a UUIDv5
// of the origin's source and id and the type, so a redelivered request gets
// the same result id and room.created and room.failed for one request get
// different ids.
func ResultID(o Origin, typ string) string {
	return uuid.NewSHA1(resultNamespace, originName(o, typ)).String()
}

// ResultMsgID returns the Nats-Msg-Id to publish o's result with. It
// depends on the request only, not on the result type, so that JetStream
// deduplication keeps at most one result per request within the stream's
// duplicate window, even if a redelivery ends differently.
func ResultMsgID(o Origin) string {
	return uuid.NewSHA1(resultNamespace, originName(o, "")).String()
}

// originName encodes its parts unambiguously (length-prefixed).
func originName(o Origin, typ string) []byte {
	b := make([]byte, 0, len(o.Source)+len(o.ID)+len(typ)+16)
	for _, s := range []string{o.Source, o.ID, typ} {
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		b = append(b, s...)
	}
	return b
}

// NewResult builds the result event of type typ, from source, answering
// req, with data rendered as JSON. See NewResultFor.
func NewResult(req *event.Event, typ, source string, data any) (*event.Event, error) {
	if req == nil {
		return nil, errors.New("events: NewResult: nil request event")
	}
	return NewResultFor(OriginOf(req), typ, source, data)
}

// NewResultFor builds the result event of type typ, from source, answering
// origin o: id = ResultID(o, typ), subject = the data's room_id when data
// is a RoomCreated or RoomFailed with one, extension requestid = o.ID,
// traceparent and tracestate from o, time = now, datacontenttype
// application/json and data = data as JSON.
func NewResultFor(o Origin, typ, source string, data any) (*event.Event, error) {
	if o.ID == "" || typ == "" || source == "" {
		return nil, fmt.Errorf("events: NewResultFor: origin id, type and source are required (got %q, %q, %q)", o.ID, typ, source)
	}
	e := event.New(event.CloudEventsVersionV1)
	e.SetID(ResultID(o, typ))
	e.SetType(typ)
	e.SetSource(source)
	e.SetTime(time.Now())
	if room := roomID(data); room != "" {
		e.SetSubject(room)
	}
	e.SetExtension(ExtRequestID, o.ID)
	if o.TraceParent != "" {
		e.SetExtension(ExtTraceParent, o.TraceParent)
	}
	if o.TraceState != "" {
		e.SetExtension(ExtTraceState, o.TraceState)
	}
	if err := setJSONData(&e, data); err != nil {
		return nil, fmt.Errorf("events: result data: %w", err)
	}
	var p problems
	validateEvent(&e, memberName, &p)
	if err := p.err(""); err != nil {
		return nil, fmt.Errorf("events: result event: %w", err)
	}
	return &e, nil
}

// setJSONData sets e's data to data rendered as JSON, as event.SetData does
// (a []byte is taken as it is, nil is no data) but without HTML escaping.
func setJSONData(e *event.Event, data any) error {
	e.SetDataContentType(event.ApplicationJSON)
	switch d := data.(type) {
	case nil:
		e.DataEncoded, e.DataBase64 = nil, false
	case []byte:
		return e.SetData(event.ApplicationJSON, d)
	default:
		b, err := Marshal(d)
		if err != nil {
			return err
		}
		e.DataEncoded, e.DataBase64 = b, false
	}
	return nil
}

// roomID returns the room id carried by result data, if any.
func roomID(data any) string {
	switch d := data.(type) {
	case RoomCreated:
		return d.RoomID
	case *RoomCreated:
		if d != nil {
			return d.RoomID
		}
	case RoomFailed:
		return d.RoomID
	case *RoomFailed:
		if d != nil {
			return d.RoomID
		}
	}
	return ""
}

// CopyTrace copies the traceparent and tracestate extensions of from to to,
// when from has them.
func CopyTrace(from, to *event.Event) {
	for _, name := range []string{ExtTraceParent, ExtTraceState} {
		if v := Extension(from, name); v != "" {
			to.SetExtension(name, v)
		}
	}
}

// Extension returns the canonical string of an extension attribute of e, or "" when e has
// none by that name.
func Extension(e *event.Event, name string) string {
	if e == nil || e.Context == nil {
		return ""
	}
	v, ok := e.Extensions()[name]
	if !ok {
		return ""
	}
	s, err := types.Format(v)
	if err != nil {
		return ""
	}
	return s
}
