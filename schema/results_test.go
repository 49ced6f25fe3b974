package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/roomworker/roomworker/events"
)

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidateResult(t *testing.T) {
	roomInfo := json.RawMessage(`{"room_title":"T","room_id":"r1","sid":"RM_x","joined_participants":0,"is_running":true,` +
		`"is_recording":false,"is_active_rtmp":false,"webhook_url":"","is_breakout_room":false,"parent_room_id":"",` +
		`"creation_time":1772442000,"metadata":{"room_title":"T"}}`)
	// A request as the worker embeds it in a retries_exhausted failure.
	req, err := events.NewCreateRoomRequest([]byte(`{"room_id":"r1","metadata":{"room_title":"T"}}`),
		events.WithSource("urn:example:scheduler"),
		events.WithExtension(events.ExtTraceParent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
		events.WithExtension("priority", int32(3)), events.WithExtension("urgent", true))
	if err != nil {
		t.Fatal(err)
	}
	_, embedded, err := events.EncodeStructured(req)
	if err != nil {
		t.Fatal(err)
	}
	req.DataEncoded = append(req.DataEncoded, '\n') // not written as is: data_base64
	_, embedded64, err := events.EncodeStructured(req)
	if err != nil || !strings.Contains(string(embedded64), `"data_base64":`) {
		t.Fatalf("%s (%v), want data_base64", embedded64, err)
	}
	exhausted := func(request string) []byte {
		return []byte(`{"room_id":"r1","reason":"retries_exhausted","message":"m","attempts":10,"request":` + request + `}`)
	}
	const minimalRequest = `{"specversion":"1.0","id":"a","source":"s","type":"room.create","data":{}}`
	tests := []struct {
		name    string
		typ     string
		data    []byte
		wantErr string // "" = valid; else a substring of the error
	}{
		{"created from the Go type", "room.created", mustJSON(t, events.RoomCreated{RoomID: "r1", SID: "RM_x", RoomInfo: roomInfo, Attempts: 1}), ""},
		{"created, room_info unknown", "room.created", mustJSON(t, events.RoomCreated{RoomID: "r1", SID: "RM_x", Duplicate: true}), ""},
		{"created with warnings", "room.created", mustJSON(t, events.RoomCreated{RoomID: "r1", SID: "RM_x", Attempts: 2,
			Warnings: []events.Warning{{Path: "/metadata/room_features/allow_rtmp", Requested: true, Applied: false}}}), ""},
		{"created without sid", "room.created", []byte(`{"room_id":"r1","sid":"","room_info":null,"duplicate":false,"attempts":1,"warnings":[]}`), "/sid"},
		{"created with unknown property", "room.created", []byte(`{"room_id":"r1","sid":"s","room_info":null,"duplicate":false,"attempts":1,"warnings":[],"x":1}`), "additional properties 'x'"},
		{"created, warnings null", "room.created", []byte(`{"room_id":"r1","sid":"s","room_info":null,"duplicate":false,"attempts":1,"warnings":null}`), "/warnings"},
		{"failed from the Go type", "room.failed", mustJSON(t, events.RoomFailed{RoomID: "r1", Reason: events.ReasonRetriesExhausted,
			Message: "10 create attempts failed", Attempts: 10, PlugNmeetStatusCode: 503}), ""},
		{"failed, invalid event without room", "room.failed", mustJSON(t, events.RoomFailed{Reason: events.ReasonInvalidEvent,
			Message: "bad", Errors: []events.FieldError{{Path: "", Message: "not a CloudEvent"}}}), ""},
		{"failed, unknown reason", "room.failed", []byte(`{"reason":"oops","message":"m","attempts":0}`), "/reason"},
		{"failed, bad pointer", "room.failed", []byte(`{"reason":"invalid_request","message":"m","attempts":0,"errors":[{"path":"room_id","message":"x"}]}`), "/errors/0/path"},
		{"failed, negative attempts", "room.failed", []byte(`{"reason":"rejected","message":"m","attempts":-1}`), "/attempts"},
		{"failed with its request, from the Go type", "room.failed", mustJSON(t, events.RoomFailed{RoomID: "r1",
			Reason: events.ReasonRetriesExhausted, Message: "m", Attempts: 10, Request: embedded}), ""},
		{"failed with its request as data_base64", "room.failed", exhausted(string(embedded64)), ""},
		{"failed with a minimal request", "room.failed", exhausted(minimalRequest), ""},
		{"request on a rejected failure", "room.failed", []byte(`{"reason":"rejected","message":"m","attempts":1,"request":` +
			minimalRequest + `}`), "/reason: value must be 'retries_exhausted'"},
		{"request without id", "room.failed", exhausted(`{"specversion":"1.0","source":"s","type":"room.create","data":{}}`),
			"/request: missing property 'id'"},
		{"request of another type", "room.failed", exhausted(strings.Replace(minimalRequest, "room.create", "room.created", 1)), "/request/type"},
		{"request in another spec version", "room.failed", exhausted(strings.Replace(minimalRequest, `"1.0"`, `"0.3"`, 1)), "/request/specversion"},
		{"request without data", "room.failed", exhausted(`{"specversion":"1.0","id":"a","source":"s","type":"room.create"}`), "/request: missing property 'data'"},
		{"request with data twice", "room.failed", exhausted(strings.Replace(minimalRequest, `"data":{}`, `"data":{},"data_base64":"e30="`, 1)), "/request: 'oneOf' failed"},
		{"request with an invalid extension name", "room.failed", exhausted(strings.Replace(minimalRequest, "{", `{"Trace-Parent":"x",`, 1)),
			"'Trace-Parent' does not match pattern"},
		{"request with an object extension", "room.failed", exhausted(strings.Replace(minimalRequest, "{", `{"ext":{},`, 1)), "/request/ext"},
		{"request as a string", "room.failed", exhausted(`"{}"`), "/request: got string, want object"},
		{"not JSON", "room.failed", []byte(`{`), "not JSON"},
		{"array", "room.created", []byte(`[]`), "(root)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateResult(tt.typ, tt.data)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ValidateResult(%s) = %v, want nil", tt.data, err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("ValidateResult(%s) = nil, want an error about %q", tt.data, tt.wantErr)
			case tt.wantErr != "" && (!errors.Is(err, ErrInvalidResult) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("ValidateResult = %v, want ErrInvalidResult mentioning %q", err, tt.wantErr)
			}
		})
	}
	if err := ValidateResult("room.create", []byte(`{}`)); err == nil || errors.Is(err, ErrInvalidResult) {
		t.Errorf("unknown type: got %v, want a plain error", err)
	}
}

// loadAsyncAPI reads ../docs/asyncapi.yaml as JSON-compatible values.
func loadAsyncAPI(t *testing.T) (doc map[string]any, asJSON []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "docs", "asyncapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var y any
	if err := yaml.Unmarshal(raw, &y); err != nil {
		t.Fatalf("asyncapi.yaml: %v", err)
	}
	asJSON = mustJSON(t, y)
	if err := json.Unmarshal(asJSON, &doc); err != nil {
		t.Fatal(err)
	}
	return doc, asJSON
}

// lookup follows a JSON Pointer (without "#") through decoded JSON.
func lookup(t *testing.T, doc any, ptr string) any {
	t.Helper()
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("pointer %s: %q is not inside an object", ptr, tok)
		}
		if cur, ok = m[tok]; !ok {
			t.Fatalf("pointer %s: no member %q", ptr, tok)
		}
	}
	return cur
}

// TestAsyncAPI checks docs/asyncapi.yaml against the code: the channels and
// their payload files, that every schema file it references is byte for byte
// the one the binaries embed, that internal references resolve, and that its
// examples follow the schemas they illustrate.
func TestAsyncAPI(t *testing.T) {
	doc, docJSON := loadAsyncAPI(t)
	if v := doc["asyncapi"]; v != "3.0.0" {
		t.Errorf("asyncapi = %v, want 3.0.0", v)
	}

	// Every $ref: internal ones resolve, external ones are the embedded files.
	embedded := map[string][]byte{
		"create-room.schema.json":    JSON(),
		"room-created.schema.json":   RoomCreatedJSON(),
		"room-failed.schema.json":    RoomFailedJSON(),
		"end-room.schema.json":       EndRoomJSON(),
		"room-ended.schema.json":     RoomEndedJSON(),
		"room-scheduled.schema.json": RoomScheduledJSON(),
		"room-cancelled.schema.json": RoomCancelledJSON(),
	}
	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				refs = append(refs, r)
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
	external := map[string]bool{}
	for _, r := range refs {
		if ptr, ok := strings.CutPrefix(r, "#"); ok {
			lookup(t, doc, ptr)
			continue
		}
		file := filepath.Join("..", "docs", filepath.FromSlash(r))
		onDisk, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("$ref %s: %v", r, err)
			continue
		}
		want, ok := embedded[filepath.Base(file)]
		if !ok || filepath.Dir(file) != filepath.Join("..", "schema") {
			t.Errorf("$ref %s: not a schema file the binaries embed (want ../schema/<one of %v>)", r, slices.Sorted(maps.Keys(embedded)))
			continue
		}
		if !bytes.Equal(onDisk, want) {
			t.Errorf("$ref %s: the file differs from the schema the worker validates with", r)
		}
		external[filepath.Base(file)] = true
	}
	if len(external) != len(embedded) {
		t.Errorf("asyncapi.yaml references %v, want all of %v", slices.Sorted(maps.Keys(external)), slices.Sorted(maps.Keys(embedded)))
	}

	// Channels: address, message name and payload.
	const lifecycleName = events.TypeLifecyclePrefix + "<event>"
	channels := []struct {
		channel, address, message, messageName, payload string
	}{
		{"roomsCreate", "rooms.create", "createRoom", events.TypeCreateRoom, "../schema/create-room.schema.json"},
		{"roomsCreated", "rooms.created", "roomCreated", events.TypeRoomCreated, "../schema/room-created.schema.json"},
		{"roomsFailed", "rooms.failed", "roomFailed", events.TypeRoomFailed, "../schema/room-failed.schema.json"},
		{"roomsEnd", "rooms.end", "endRoom", events.TypeEndRoom, "../schema/end-room.schema.json"},
		{"roomsEnded", "rooms.ended", "roomEnded", events.TypeRoomEnded, "../schema/room-ended.schema.json"},
		{"roomsCancel", "rooms.cancel", "cancelRoom", events.TypeCancelRoom, "../schema/end-room.schema.json"},
		{"roomsScheduled", "rooms.scheduled", "roomScheduled", events.TypeRoomScheduled, "../schema/room-scheduled.schema.json"},
		{"roomsCancelled", "rooms.cancelled", "roomCancelled", events.TypeRoomCancelled, "../schema/room-cancelled.schema.json"},
		{"roomsLifecycle", "rooms.lifecycle.{event}", "lifecycleEvent", lifecycleName, "#/components/schemas/lifecycleData"},
	}
	for _, c := range channels {
		if got := lookup(t, doc, "/channels/"+c.channel+"/address"); got != c.address {
			t.Errorf("channel %s address = %v, want %s", c.channel, got, c.address)
		}
		if got := lookup(t, doc, "/channels/"+c.channel+"/messages/"+c.message+"/$ref"); got != "#/components/messages/"+c.message {
			t.Errorf("channel %s message = %v", c.channel, got)
		}
		msg := "/components/messages/" + c.message
		if got := lookup(t, doc, msg+"/name"); got != c.messageName {
			t.Errorf("%s name = %v, want %s", msg, got, c.messageName)
		}
		if got := lookup(t, doc, msg+"/payload/$ref"); got != c.payload {
			t.Errorf("%s payload = %v, want %s", msg, got, c.payload)
		}
	}

	// A room.create may carry the meeting's start (the starttime extension), which books it.
	if got := lookup(t, doc, "/components/schemas/ceRequestHeaders/properties/ce-"+events.ExtStartTime+"/format"); got != "date-time" {
		t.Errorf("ce-%s format = %v, want date-time", events.ExtStartTime, got)
	}
	booked := false
	for _, ex := range lookup(t, doc, "/components/messages/createRoom/examples").([]any) {
		_, has := ex.(map[string]any)["headers"].(map[string]any)["ce-"+events.ExtStartTime]
		booked = booked || has
	}
	if !booked {
		t.Errorf("no room.create example carries ce-%s", events.ExtStartTime)
	}

	// Examples: payloads follow the payload schema, headers the header schema.
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	apiDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(docJSON))
	if err != nil {
		t.Fatal(err)
	}
	const apiURL = "https://github.com/roomworker/roomworker/docs/asyncapi.json"
	if err := c.AddResource(apiURL, apiDoc); err != nil {
		t.Fatal(err)
	}
	for _, ch := range channels {
		msg := "/components/messages/" + ch.message
		headerRef := lookup(t, doc, msg+"/headers/$ref").(string)
		headers, err := c.Compile(apiURL + headerRef)
		if err != nil {
			t.Fatalf("%s headers: %v", msg, err)
		}
		examples, _ := lookup(t, doc, msg+"/examples").([]any)
		if len(examples) == 0 {
			t.Errorf("%s has no examples", msg)
		}
		for i, ex := range examples {
			ex := ex.(map[string]any)
			payload := mustJSON(t, ex["payload"])
			switch ch.message {
			case "createRoom":
				err = Validate(payload)
			case "endRoom", "cancelRoom":
				_, err = ParseEndRoom(payload)
			case "lifecycleEvent":
				// The webhook body has no schema file: the document describes it.
				var sch *jsonschema.Schema
				if sch, err = c.Compile(apiURL + ch.payload); err == nil {
					err = sch.Validate(ex["payload"])
				}
			default:
				err = ValidateResult(ch.messageName, payload)
			}
			if err != nil {
				t.Errorf("%s example %d (%v) payload: %v", msg, i, ex["name"], err)
			}
			h := ex["headers"].(map[string]any)
			if err := headers.Validate(h); err != nil {
				t.Errorf("%s example %d (%v) headers: %v", msg, i, ex["name"], err)
			}
			typ, _ := h["ce-type"].(string)
			if ch.messageName == lifecycleName {
				// plugnmeet.<the delivery's event>, deduplicated by the delivery id.
				if typ != events.TypeLifecyclePrefix+ex["payload"].(map[string]any)["event"].(string) ||
					h["Nats-Msg-Id"] != "plugnmeet-webhook:"+h["ce-id"].(string) {
					t.Errorf("%s example %d: ce-type %v, Nats-Msg-Id %v, want plugnmeet.<payload event> and plugnmeet-webhook:<ce-id>",
						msg, i, h["ce-type"], h["Nats-Msg-Id"])
				}
			} else if typ != ch.messageName {
				t.Errorf("%s example %d: ce-type %v, want %s", msg, i, h["ce-type"], ch.messageName)
			}
		}
	}
}

// TestExamplesWithPublishedSchema validates ../examples with a plain draft
// 2020-12 validator compiled from the schema file as published (what a team
// using another language does), not through this package's Validate: files
// named invalid-* must fail, the others pass.
func TestExamplesWithPublishedSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSON()))
	if err != nil {
		t.Fatal(err)
	}
	const url = "https://github.com/roomworker/roomworker/schema/create-room.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("..", "examples", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples (%v)", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			err = sch.Validate(inst)
			if invalid := strings.HasPrefix(name, "invalid-"); invalid != (err != nil) {
				t.Errorf("published schema: invalid-prefixed=%v but validation error = %v", invalid, err)
			}
		})
	}
}
