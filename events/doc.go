// Package events defines roomworker's CloudEvents: the event types it
// consumes and produces, the data carried by its result events, and the
// NATS protocol binding used to move them.
//
// # NATS binding
//
// Decode accepts both content modes of the CloudEvents NATS protocol binding:
//
//   - Binary mode (binding 1.0.3 draft): every context attribute and
//     extension is a "ce-<name>" header whose value is percent-encoded as in
//     the binding (and the HTTP binding it copies); the message body is the
//     event data. datacontenttype comes from "ce-datacontenttype", or else
//     from "Content-Type".
//   - Structured mode (binding 1.0.2 and 1.0.3): "Content-Type:
//     application/cloudevents+json" (parameters allowed, charset must be
//     UTF-8) and the JSON event format as the body, with "data" or
//     "data_base64".
//
// Header names are matched without regard to case, as the binding and the
// NATS header design (ADR-4) say, so "ce-id", "Ce-Id" and "CE-ID" all carry
// the id; the same attribute given twice (by two spellings or two values) is
// an error. A message whose Content-Type starts with
// "application/cloudevents" is structured, whatever else it carries. A
// message without that Content-Type and without any "ce-" header is not a
// CloudEvent: a bare JSON body is rejected even when it looks like an event.
//
// Decoding is strict: only specversion "1.0" is accepted; id, source and
// type are required; every string must be valid UTF-8 without control
// characters or Unicode noncharacters; extension names must be lowercase
// ASCII letters and digits; a header value must be printable ASCII with
// well-formed %XX escapes (a double-quoted value, RFC 7230, is unquoted
// first); at most MaxAttributes attributes are read. Every failure is an
// *InvalidEventError, which matches ErrInvalidEvent with errors.Is and lists
// each problem.
//
// The caller bounds the message size; within that bound decoding does work
// linear in the input and never recurses on its structure except through
// encoding/json, which limits nesting depth.
//
// EncodeBinary and EncodeStructured render an event for publishing. The
// encoder percent-encodes space, '"', '%' and every byte outside 0x21-0x7E,
// so a header value can never carry CR or LF. JSON is written without HTML
// escaping: '<', '>' and '&' in attributes and data (here and in result
// data) stay one byte each, so an event does not grow with the markup it
// carries.
//
// # Result events
//
// NewResult and NewResultFor build room.created and room.failed events whose
// id is derived from the request (so a redelivered request yields the same
// result id), with subject = room_id, the requestid extension and the W3C
// trace context copied from the request. ResultMsgID gives the Nats-Msg-Id
// under which a result must be published.
//
// A result names its request through an Origin: OriginOf for a decoded
// request; PeekOrigin for a message Decode rejects (too large, malformed),
// which reads the id, source and trace context from the ce- headers in
// binary mode, whatever the body, and from the top-level members within the
// first PeekLimit (64 KiB) bytes of the body in structured mode; and
// StreamOrigin, the message's stream position, only when PeekOrigin cannot
// read a valid id and source.
package events
