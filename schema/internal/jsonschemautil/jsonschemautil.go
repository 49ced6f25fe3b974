// Package jsonschemautil holds what package schema and its validator generator
// (schema/internal/validatorgen) must do alike: word a problem as the library
// path's messages do (types with their article, bounds, JSON Pointers), and
// tell which "$ref" the schema package inlines and which definitions it may
// copy. The generated validator then reports what the library path reports
// because both call the same code.
//
// It imports nothing of either, so both can import it (package schema's
// tests import validatorgen).
package jsonschemautil

import (
	"encoding/json"
	"math/big"
	"strings"
)

// WithArticle words a JSON type name with its article ("an object",
// "a string", "null").
func WithArticle(jsonType string) string {
	switch jsonType {
	case "null":
		return "null"
	case "object", "array", "integer":
		return "an " + jsonType
	default:
		return "a " + jsonType
	}
}

// TypeName names the JSON type of a decoded value (a tree of map[string]any,
// []any, string, bool, nil and json.Number) with its article, as the
// library's type error names it ("a number" for every json.Number); ok is
// false for any other Go value.
func TypeName(v any) (name string, ok bool) {
	switch v.(type) {
	case nil:
		return "null", true
	case bool:
		return "a boolean", true
	case json.Number:
		return "a number", true
	case string:
		return "a string", true
	case []any:
		return "an array", true
	case map[string]any:
		return "an object", true
	}
	return "", false
}

// RatString words a minimum or maximum as the messages do: an integer as it
// is, any other number with six decimals.
func RatString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	return r.FloatString(6)
}

// EscapeToken escapes one JSON Pointer reference token.
func EscapeToken(t string) string {
	if !strings.ContainsAny(t, "~/") {
		return t
	}
	return strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
}

// DefName names the definition a "$ref" value refers to when it is a plain
// local reference, "#/$defs/NAME" with NAME free of escapes and slashes:
// the only references package schema inlines.
func DefName(ref any) (string, bool) {
	s, _ := ref.(string)
	name, ok := strings.CutPrefix(s, "#/$defs/")
	if !ok || strings.ContainsAny(name, "/~%") {
		return "", false
	}
	return name, true
}

// BesideRef returns a keyword of schema (a subschema holding "$ref") that
// keeps the reference from standing alone: any but "$ref", "title" and
// "description".
func BesideRef(schema map[string]any) (string, bool) {
	for key := range schema {
		if key != "$ref" && key != "title" && key != "description" {
			return key, true
		}
	}
	return "", false
}

// HoldsValues reports whether the keyword's value is made of plain JSON
// values rather than subschemas.
func HoldsValues(keyword string) bool {
	switch keyword {
	case "examples", "enum", "const", "default", "errorMessage":
		return true
	}
	return false
}

// HasIdentifier reports whether node (a schema) declares a URI or an anchor
// anywhere: a copy of it would clash with the original.
func HasIdentifier(node any) bool {
	switch n := node.(type) {
	case map[string]any:
		for key, child := range n {
			switch {
			case key == "$id", key == "$anchor", key == "$dynamicAnchor", key == "$recursiveAnchor":
				return true
			case HoldsValues(key):
				continue
			}
			if HasIdentifier(child) {
				return true
			}
		}
	case []any:
		for _, child := range n {
			if HasIdentifier(child) {
				return true
			}
		}
	}
	return false
}
