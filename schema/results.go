package schema

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Result event types whose data ValidateResult checks (the same strings as
// the events package's TypeRoomCreated and TypeRoomFailed).
const (
	resultCreated   = "room.created"
	resultFailed    = "room.failed"
	resultEnded     = "room.ended"
	resultScheduled = "room.scheduled"
	resultCancelled = "room.cancelled"
)

var (
	//go:embed room-created.schema.json
	roomCreatedSchema []byte
	//go:embed room-failed.schema.json
	roomFailedSchema []byte
	//go:embed room-ended.schema.json
	roomEndedSchema []byte
	//go:embed room-scheduled.schema.json
	roomScheduledSchema []byte
	//go:embed room-cancelled.schema.json
	roomCancelledSchema []byte
)

// ErrInvalidResult is matched (errors.Is) by every error ValidateResult
// returns for data that does not follow its schema.
var ErrInvalidResult = errors.New("invalid result data")

// RoomCreatedJSON returns the bytes of room-created.schema.json, the JSON
// Schema (draft 2020-12) of a room.created event's data. The caller owns the
// returned slice.
func RoomCreatedJSON() []byte { return bytes.Clone(roomCreatedSchema) }

// RoomFailedJSON returns the bytes of room-failed.schema.json, the JSON
// Schema (draft 2020-12) of a room.failed event's data. The caller owns the
// returned slice.
func RoomFailedJSON() []byte { return bytes.Clone(roomFailedSchema) }

// RoomEndedJSON returns the bytes of room-ended.schema.json, the JSON Schema (draft 2020-12)
// of a room.ended event's data. The caller owns the returned slice.
func RoomEndedJSON() []byte { return bytes.Clone(roomEndedSchema) }

// RoomScheduledJSON returns the bytes of room-scheduled.schema.json. The caller owns the slice.
func RoomScheduledJSON() []byte { return bytes.Clone(roomScheduledSchema) }

// RoomCancelledJSON returns the bytes of room-cancelled.schema.json. The caller owns the slice.
func RoomCancelledJSON() []byte { return bytes.Clone(roomCancelledSchema) }

// resultSchemas are the compiled result schemas, by event type.
var resultSchemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	out := make(map[string]*jsonschema.Schema, 5)
	for typ, src := range map[string][]byte{resultCreated: roomCreatedSchema, resultFailed: roomFailedSchema,
		resultEnded: roomEndedSchema, resultScheduled: roomScheduledSchema, resultCancelled: roomCancelledSchema} {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
		if err != nil {
			return nil, fmt.Errorf("schema: decoding %s schema: %w", typ, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		c.AssertFormat()
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("schema: adding %s schema: %w", typ, err)
		}
		sch, err := c.Compile(id)
		if err != nil {
			return nil, fmt.Errorf("schema: compiling %s schema: %w", typ, err)
		}
		out[typ] = sch
	}
	return out, nil
})

// ValidateResult checks the data of a result event of type eventType
// ("room.created", "room.ended" or "room.failed") against its JSON Schema. An error for
// invalid data matches ErrInvalidResult and lists every problem as
// "/json/pointer: message"; an unknown type is an error too.
func ValidateResult(eventType string, data []byte) error {
	schemas, err := resultSchemas()
	if err != nil {
		return err
	}
	sch, ok := schemas[eventType]
	if !ok {
		return fmt.Errorf("schema: no result schema for event type %q (want %q, %q, %q, %q or %q)", eventType,
			resultCreated, resultEnded, resultScheduled, resultCancelled, resultFailed)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: %s data is not JSON: %v", ErrInvalidResult, eventType, err)
	}
	err = sch.Validate(doc)
	var verr *jsonschema.ValidationError
	if errors.As(err, &verr) {
		return fmt.Errorf("%w: %s data: %s", ErrInvalidResult, eventType, strings.Join(resultProblems(verr), "; "))
	}
	return err
}

// resultProblems flattens a validation error into sorted
// "/pointer: message" lines, one per leaf.
func resultProblems(e *jsonschema.ValidationError) []string {
	p := message.NewPrinter(language.English)
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			ptr := pointer(e.InstanceLocation)
			if ptr == "" {
				ptr = "(root)"
			}
			out = append(out, fmt.Sprintf("%s: %s", ptr, e.ErrorKind.LocalizedString(p)))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(e)
	sort.Strings(out)
	return out
}

//go:embed lifecycle-event.schema.json
var lifecycleSchema []byte

// LifecycleEventJSON returns the bytes of lifecycle-event.schema.json, the JSON Schema (draft
// 2020-12) of the data of a plugnmeet.<event> lifecycle event. The caller owns the slice.
func LifecycleEventJSON() []byte { return bytes.Clone(lifecycleSchema) }

var lifecycleValidator = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(lifecycleSchema))
	if err != nil {
		return nil, fmt.Errorf("schema: decoding the lifecycle event schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	const id = "https://github.com/roomworker/roomworker/schema/lifecycle-event.schema.json"
	if err := c.AddResource(id, doc); err != nil {
		return nil, err
	}
	return c.Compile(id)
})

// ValidateLifecycleEvent checks the data of a plugnmeet.<event> lifecycle event against its JSON
// Schema. An error for invalid data matches ErrInvalidResult.
func ValidateLifecycleEvent(data []byte) error {
	sch, err := lifecycleValidator()
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: lifecycle event data is not JSON: %v", ErrInvalidResult, err)
	}
	err = sch.Validate(doc)
	var verr *jsonschema.ValidationError
	if errors.As(err, &verr) {
		return fmt.Errorf("%w: lifecycle event data: %s", ErrInvalidResult, strings.Join(resultProblems(verr), "; "))
	}
	return err
}
