package schema

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/roomworker/roomworker/schema/internal/jsonschemautil"
)

//go:embed create-room.schema.json
var schemaJSON []byte

//go:embed end-room.schema.json
var endRoomJSON []byte

// schemaURL is the schema's $id; it names the schema inside the compiler.
const schemaURL = "https://github.com/roomworker/roomworker/schema/create-room.schema.json"

// endRoomURL is end-room.schema.json's $id.
const endRoomURL = "https://github.com/roomworker/roomworker/schema/end-room.schema.json"

// EndRoomJSON returns the bytes of end-room.schema.json, the JSON Schema of a room.end
// request's data. The caller owns the returned slice.
func EndRoomJSON() []byte { return bytes.Clone(endRoomJSON) }

// JSON returns the bytes of create-room.schema.json, the file users can
// download and use with any draft 2020-12 validator. The caller owns the
// returned slice.
func JSON() []byte {
	return bytes.Clone(schemaJSON)
}

//go:generate go run gen_validator.go

// Validator checks requests against one of the embedded schemas.
// It is safe for concurrent use.
type Validator struct {
	// generated, when set, validates instead of schema: the code
	// internal/validatorgen wrote from the schema file, which reports what
	// the library would, without interpreting the schema on every request.
	generated func(doc any) []FieldError
	schema    *jsonschema.Schema
	// messages maps a subschema's JSON Pointer inside the schema file to
	// its errorMessage annotation (keyword -> message).
	messages map[string]map[string]string
	// properties maps a subschema's JSON Pointer to the property names it
	// declares, to suggest a fix for a misspelt property.
	properties map[string][]string
}

// New returns the validator of the embedded create-room schema: the Go code
// generated from it (create_room_validate_gen.go), which reports exactly
// what santhosh-tekuri/jsonschema/v6 reports for the schema file. The error
// is always nil; it is kept for callers of the compiling constructor.
func New() (*Validator, error) { return &Validator{generated: validateCreateRoom}, nil }

// NewEndRoom compiles the embedded end-room schema.
func NewEndRoom() (*Validator, error) { return newValidator(endRoomJSON, endRoomURL) }

func newValidator(src []byte, url string) (*Validator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("schema: decoding embedded schema: %w", err)
	}
	doc = inlineRefs(doc)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("schema: adding embedded schema: %w", err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("schema: compiling embedded schema: %w", err)
	}
	v := &Validator{
		schema:     sch,
		messages:   map[string]map[string]string{},
		properties: map[string][]string{},
	}
	v.collectAnnotations(doc, "")
	return v, nil
}

// collectAnnotations walks the schema document and records, for each
// subschema, its errorMessage annotation and its declared property names.
func (v *Validator) collectAnnotations(node any, ptr string) {
	switch n := node.(type) {
	case map[string]any:
		if msgs, ok := n["errorMessage"].(map[string]any); ok {
			m := make(map[string]string, len(msgs))
			for kw, msg := range msgs {
				if s, ok := msg.(string); ok {
					m[kw] = s
				}
			}
			v.messages[ptr] = m
		}
		if props, ok := n["properties"].(map[string]any); ok {
			names := make([]string, 0, len(props))
			for name := range props {
				names = append(names, name)
			}
			v.properties[ptr] = names
		}
		for key, child := range n {
			if key == "errorMessage" || key == "examples" || key == "enum" || key == "const" {
				continue // values, not subschemas
			}
			v.collectAnnotations(child, ptr+"/"+jsonschemautil.EscapeToken(key))
		}
	case []any:
		for i, child := range n {
			v.collectAnnotations(child, fmt.Sprintf("%s/%d", ptr, i))
		}
	}
}

// Validate checks one create-room request given as raw JSON. It returns nil
// when the request is valid and a [*Error] listing every problem otherwise,
// also when data is not valid UTF-8, not JSON or not a JSON object.
func (v *Validator) Validate(data []byte) error {
	_, err := v.Parse(data)
	return err
}

// Parse decodes and validates one create-room request given as raw JSON. On
// success it returns the decoded request: JSON objects as map[string]any,
// arrays as []any, numbers as [encoding/json.Number] (their exact text),
// strings, bools and nil, as encoding/json decodes them with UseNumber. The
// caller owns the tree. It fails exactly as [Validator.Validate] does.
func (v *Validator) Parse(data []byte) (map[string]any, error) {
	doc, ferr := decode(data)
	if ferr != nil {
		return nil, &Error{Errors: []FieldError{*ferr}}
	}
	if err := v.validateDoc(doc); err != nil {
		return nil, err
	}
	// The schema only accepts an object at the top.
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema: validated request is %T, not an object", doc)
	}
	return m, nil
}

// validateDoc validates an already decoded document (numbers as json.Number).
func (v *Validator) validateDoc(doc any) error {
	if v.generated != nil {
		if errs := v.generated(doc); len(errs) > 0 {
			return &Error{Errors: errs}
		}
		return nil
	}
	err := v.schema.Validate(doc)
	if err == nil {
		return nil
	}
	verr, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return fmt.Errorf("schema: validating: %w", err)
	}
	return &Error{Errors: v.fieldErrors(verr)}
}

// defaultValidator validates create-room requests with the generated code.
var defaultValidator = &Validator{generated: validateCreateRoom}

// Validate checks one create-room request given as raw JSON with the
// embedded schema. It returns nil when the request is valid and a [*Error]
// listing every problem otherwise (see the package documentation for the
// paths and messages). It is safe for concurrent use.
func Validate(data []byte) error {
	return defaultValidator.Validate(data)
}

// Parse decodes and validates one create-room request given as raw JSON with
// the embedded schema, like [Validate]. On success it returns the decoded
// request (see [Validator.Parse]) so callers can read room_id and metadata,
// or hash its canonical form, without decoding the bytes again. It is safe
// for concurrent use.
func Parse(data []byte) (map[string]any, error) {
	return defaultValidator.Parse(data)
}

var endRoomValidator = sync.OnceValues(NewEndRoom)

// ParseEndRoom decodes and validates the data of a room.end request with the embedded end-room
// schema and returns its room_id. It fails as [Validate] does, with every problem as a JSON
// Pointer.
func ParseEndRoom(data []byte) (string, error) {
	v, err := endRoomValidator()
	if err != nil {
		return "", err
	}
	m, err := v.Parse(data)
	if err != nil {
		return "", err
	}
	id, _ := m["room_id"].(string) // the schema requires it
	return id, nil
}
