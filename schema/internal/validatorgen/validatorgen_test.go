package validatorgen

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

var testOptions = Options{Package: "schema", Func: "validateTest", Prefix: "test", Source: "test.json", Generator: "test"}

// TestRefusesWhatItDoesNotImplement: a keyword the generated code would not
// check, or would word differently from package schema's library path, is
// an error, wherever it is.
func TestRefusesWhatItDoesNotImplement(t *testing.T) {
	tests := []struct {
		name, schema, want string
	}{
		{"anyOf", `{"anyOf": [{"type": "string"}]}`, `unsupported keyword "anyOf"`},
		{"oneOf", `{"properties": {"a": {"oneOf": [true]}}}`, `/properties/a: unsupported keyword "oneOf"`},
		{"const", `{"const": 1}`, `unsupported keyword "const"`},
		{"minItems", `{"items": {"minItems": 1}}`, `/items: unsupported keyword "minItems"`},
		{"uniqueItems", `{"uniqueItems": true}`, `unsupported keyword "uniqueItems"`},
		{"patternProperties", `{"patternProperties": {"^a": true}}`, `unsupported keyword "patternProperties"`},
		{"exclusiveMinimum", `{"type": "integer", "exclusiveMinimum": 0}`, `unsupported keyword "exclusiveMinimum"`},
		{"multipleOf", `{"multipleOf": 2}`, `unsupported keyword "multipleOf"`},
		{"if", `{"if": true, "then": false}`, `unsupported keyword "if"`},
		{"unevaluatedProperties", `{"unevaluatedProperties": false}`, `unsupported keyword "unevaluatedProperties"`},
		{"dependentRequired", `{"dependentRequired": {"a": ["b"]}}`, `unsupported keyword "dependentRequired"`},
		{"propertyNames", `{"propertyNames": {"maxLength": 3}}`, `unsupported keyword "propertyNames"`},
		{"misspelt keyword", `{"properties": {"a": {"maxlength": 3}}}`, `unsupported keyword "maxlength"`},
		{"in an unused definition", `{"$defs": {"x": {"contains": true}}}`, `/$defs/x: unsupported keyword "contains"`},
		{"nested $defs", `{"allOf": [{"$defs": {}}]}`, `/allOf/0: unsupported keyword "$defs"`},
		{"nested $id", `{"not": {"$id": "x"}}`, `/not: unsupported keyword "$id"`},
		{"$anchor", `{"$anchor": "x"}`, `unsupported keyword "$anchor"`},
		{"other format", `{"format": "email"}`, `unsupported format email`},
		{"other draft", `{"$schema": "http://json-schema.org/draft-07/schema#"}`, `$schema is`},
		{"items array", `{"items": [true]}`, `not draft 2020-12`},
		{"$ref beside a keyword", `{"$defs": {"a": true}, "properties": {"p": {"$ref": "#/$defs/a", "type": "string"}}}`, `"$ref" beside "type"`},
		{"$ref elsewhere", `{"properties": {"p": {"$ref": "#/properties/q"}}}`, `unsupported $ref #/properties/q`},
		{"$ref to nothing", `{"properties": {"p": {"$ref": "#/$defs/nope"}}}`, `no such object in $defs`},
		{"$ref to a boolean", `{"$defs": {"t": true}, "not": {"$ref": "#/$defs/t"}}`, `no such object in $defs`},
		{"recursive $ref", `{"$defs": {"a": {"items": {"$ref": "#/$defs/a"}}}, "properties": {"p": {"$ref": "#/$defs/a"}}}`, `refers back to itself`},
		{"enum of numbers", `{"enum": [1, 2]}`, `enum value that is a number`},
		{"enum of objects", `{"enum": [{}]}`, `enum value that is an object`},
		{"minimum without integer", `{"type": "number", "minimum": 0}`, `"type": "integer" only`},
		{"maximum without type", `{"maximum": 0}`, `"type": "integer" only`},
		{"maximum of integer or number", `{"type": ["integer", "number"], "maximum": 0}`, `"type": "integer" only`},
		{"errorMessage for minLength", `{"minLength": 1, "errorMessage": {"minLength": "too short"}}`, `a message for "minLength" is not implemented`},
		{"errorMessage without its keyword", `{"errorMessage": {"pattern": "bad"}}`, `no "pattern" beside it`},
		{"errorMessage not an object", `{"pattern": "a", "errorMessage": "bad"}`, `want an object`},
		{"errorMessage not a string", `{"pattern": "a", "errorMessage": {"pattern": 1}}`, `is not a message`},
		{"bad pattern", `{"pattern": "("}`, `missing closing )`},
		{"unknown type", `{"type": "int"}`, `unknown type "int"`},
		{"negative minLength", `{"minLength": -1}`, `want a non-negative integer`},
		{"duplicate required", `{"required": ["a", "a"]}`, `names "a" twice`},
		{"reserved property name", `{"properties": {"enum": true}}`, `unsupported property name "enum"`},
		{"property name with a slash", `{"properties": {"a/b": true}}`, `unsupported property name "a/b"`},
		{"not a schema", `{"properties": {"a": 1}}`, `want an object or a boolean`},
		{"schema not an object", `true`, `want an object`},
		{"trailing data", `{} {}`, `data after the schema`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Generate([]byte(tt.schema), testOptions)
			if err == nil {
				t.Fatalf("generated code for %s:\n%s", tt.schema, out)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

// TestTargetsGenerate: every schema go generate reads generates, and the
// create-room schema declares no keyword but those that are implemented.
func TestTargetsGenerate(t *testing.T) {
	for _, target := range Targets {
		src, err := os.ReadFile("../../" + target.Schema)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Generate(src, target.Options)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(out, []byte("// Code generated by gen_validator.go from "+target.Source+"; DO NOT EDIT.\n")) {
			t.Errorf("%s: no generated-code header: %.100s", target.Output, out)
		}
		again, err := Generate(src, target.Options)
		if err != nil || !bytes.Equal(out, again) {
			t.Errorf("%s: two runs differ (%v)", target.Output, err)
		}
	}
}
