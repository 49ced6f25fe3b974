// Package validatorgen writes Go code that validates a decoded JSON document
// against a JSON Schema (draft 2020-12), so that a request is checked by
// straight-line code instead of by a schema interpreter.
//
// The generated code belongs to package schema: it walks the tree that
// package's decoder builds (map[string]any, []any, string, bool, nil and
// encoding/json's Number), calls the helpers of schema/genruntime.go, and
// reports exactly the problems, at exactly the JSON Pointers and in exactly
// the words, that package reports for santhosh-tekuri/jsonschema/v6's
// validation of the same document (see schema/errors.go).
//
// It knows the keywords roomworker's schemas use and no others: type, enum
// (of strings, booleans and null), format "uri", minLength, maxLength,
// pattern, minimum and maximum (of integers), required, properties,
// additionalProperties, items (one schema), not, allOf, a "$ref" to a
// "#/$defs/NAME" that stands alone (beside a title or description at most),
// boolean schemas, the errorMessage annotation for pattern, format and not,
// and the plain annotations (title, description, examples, default,
// $comment, deprecated, readOnly, writeOnly). Any other keyword, anywhere in
// the document ($defs included), makes Generate fail, so a schema change can
// never be ignored silently.
package validatorgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/format"
	"io"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/roomworker/roomworker/schema/internal/jsonschemautil"
)

// Options name the generated code.
type Options struct {
	// Package is the package clause of the generated file.
	Package string
	// Func is the name of the generated entry point,
	// func Func(doc any) []FieldError.
	Func string
	// Prefix starts the name of every other generated identifier.
	Prefix string
	// Source is the schema file's name and Generator the command that
	// writes the file, both for the header.
	Source, Generator string
}

// draft2020 is the only dialect the generated code implements.
const draft2020 = "https://json-schema.org/draft/2020-12/schema"

// Generate returns the gofmt-ed Go source of a validator for the schema src.
func Generate(src []byte, opt Options) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("validatorgen: decoding %s: %w", opt.Source, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("validatorgen: decoding %s: data after the schema", opt.Source)
	}
	g := &gen{opt: opt}
	root, err := g.compileRoot(doc)
	if err != nil {
		return nil, fmt.Errorf("validatorgen: %s: %w", opt.Source, err)
	}
	return g.emit(root)
}

// node is one compiled subschema.
type node struct {
	ptr string // JSON Pointer of the subschema once local references are inlined

	boolean *bool // a boolean schema; nothing else is set

	types     int    // mask of the runtime's gen* type constants; 0 for any
	typeWant  string // e.g. "an object" or "a string or null"
	typeNames []string

	enum    []any // strings, booleans and nil
	enumMsg string

	format    string
	formatMsg string

	minLength, maxLength int // -1 when absent
	pattern              *string
	patternMsg           string

	minimum, maximum       string // the schema's number text; "" when absent
	minimumMsg, maximumMsg string

	required   []string
	properties []property // sorted by name
	additional *node      // the additionalProperties schema; nil when absent

	items *node

	not    *node
	notMsg string

	allOf []*node

	// set while emitting
	fn string // name of the node's function, "" until it has one
}

type property struct {
	name   string
	schema *node
}

// declared returns the property names, sorted.
func (n *node) declared() []string {
	out := make([]string, len(n.properties))
	for i, p := range n.properties {
		out[i] = p.name
	}
	return out
}

// passes reports whether every value is valid against n.
func (n *node) passes() bool {
	if n.boolean != nil {
		return *n.boolean
	}
	return n.types == 0 && n.enum == nil && n.format == "" && n.minLength < 0 && n.maxLength < 0 &&
		n.pattern == nil && n.minimum == "" && n.maximum == "" && len(n.required) == 0 &&
		len(n.properties) == 0 && n.additional == nil && n.items == nil && n.not == nil && len(n.allOf) == 0
}

// fails reports whether no value is valid against n (the false schema).
func (n *node) fails() bool { return n.boolean != nil && !*n.boolean }

// onlyType reports whether n checks nothing but one JSON type other than
// integer, a check the parent can make inline.
func (n *node) onlyType() bool {
	if n.boolean != nil || n.types == 0 || n.types&(n.types-1) != 0 || n.types == tInteger {
		return false
	}
	m := *n
	m.types = 0
	return m.passes()
}

// JSON types, as the runtime's gen* bits.
const (
	tNull = 1 << iota
	tBoolean
	tNumber
	tInteger
	tString
	tArray
	tObject
)

// typeOrder is the library's order of types in a type error.
var typeOrder = []struct {
	name string
	bit  int
}{
	{"null", tNull}, {"boolean", tBoolean}, {"number", tNumber}, {"integer", tInteger},
	{"string", tString}, {"array", tArray}, {"object", tObject},
}

var typeConst = map[int]string{
	tNull: "genNull", tBoolean: "genBoolean", tNumber: "genNumber", tInteger: "genInteger",
	tString: "genString", tArray: "genArray", tObject: "genObject",
}

// annotations are keywords that validate nothing.
var annotations = map[string]bool{
	"title": true, "description": true, "examples": true, "default": true, "$comment": true,
	"deprecated": true, "readOnly": true, "writeOnly": true, "errorMessage": true,
}

// keywords are the validating keywords the generated code implements.
var keywords = map[string]bool{
	"type": true, "enum": true, "format": true, "minLength": true, "maxLength": true, "pattern": true,
	"minimum": true, "maximum": true, "required": true, "properties": true, "additionalProperties": true,
	"items": true, "not": true, "allOf": true, "$ref": true,
}

// customMessages are the keywords whose error an errorMessage annotation
// words (see schema/errors.go).
var customMessages = map[string]bool{"pattern": true, "format": true, "not": true}

type gen struct {
	opt  Options
	defs map[string]any
}

func (g *gen) compileRoot(doc any) (*node, error) {
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the schema is %s, want an object", jsonType(doc))
	}
	if s, ok := root["$schema"]; ok && s != draft2020 {
		return nil, fmt.Errorf("$schema is %v, want %q", s, draft2020)
	}
	if id, ok := root["$id"]; ok {
		if _, ok := id.(string); !ok {
			return nil, fmt.Errorf("$id is %s, want a string", jsonType(id))
		}
	}
	if d, ok := root["$defs"]; ok {
		if g.defs, ok = d.(map[string]any); !ok {
			return nil, fmt.Errorf("$defs is %s, want an object", jsonType(d))
		}
	}
	// Every definition must be supported, even one nothing refers to yet.
	for _, name := range sortedKeys(g.defs) {
		if _, err := g.compile(g.defs[name], "/$defs/"+jsonschemautil.EscapeToken(name), map[string]bool{name: true}); err != nil {
			return nil, err
		}
	}
	body := make(map[string]any, len(root))
	for k, v := range root {
		switch k {
		case "$schema", "$id", "$defs":
		default:
			body[k] = v
		}
	}
	return g.compile(body, "", map[string]bool{})
}

// compile compiles the subschema s found at ptr; expanding names the
// definitions being inlined around it.
func (g *gen) compile(s any, ptr string, expanding map[string]bool) (*node, error) {
	where := func(kw string) string { return fmt.Sprintf("%s/%s", ptr, jsonschemautil.EscapeToken(kw)) }
	if b, ok := s.(bool); ok {
		return &node{ptr: ptr, boolean: &b, minLength: -1, maxLength: -1}, nil
	}
	obj, ok := s.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: a schema is %s, want an object or a boolean", orRoot(ptr), jsonType(s))
	}
	if ref, ok := obj["$ref"]; ok {
		return g.ref(obj, ref, ptr, expanding)
	}
	for _, kw := range sortedKeys(obj) {
		if !keywords[kw] && !annotations[kw] {
			return nil, fmt.Errorf("%s: unsupported keyword %q: teach schema/internal/validatorgen (and schema/genruntime.go) what it means", orRoot(ptr), kw)
		}
	}
	n := &node{ptr: ptr, minLength: -1, maxLength: -1}
	custom, err := errorMessages(obj, ptr)
	if err != nil {
		return nil, err
	}
	for _, kw := range sortedKeys(obj) {
		v := obj[kw]
		var err error
		switch kw {
		case "title", "description", "$comment":
			if _, ok := v.(string); !ok {
				err = fmt.Errorf("%s is %s, want a string", where(kw), jsonType(v))
			}
		case "type":
			err = n.setType(v, where(kw))
		case "enum":
			err = n.setEnum(v, where(kw))
		case "format":
			if v != "uri" {
				err = fmt.Errorf("%s: unsupported format %v (only \"uri\" is implemented)", where(kw), v)
			}
			n.format = "uri"
			n.formatMsg = cmpOr(custom["format"], "is not a valid uri")
		case "minLength":
			n.minLength, err = count(v, where(kw))
		case "maxLength":
			n.maxLength, err = count(v, where(kw))
		case "pattern":
			p, ok := v.(string)
			if !ok {
				err = fmt.Errorf("%s is %s, want a string", where(kw), jsonType(v))
				break
			}
			if _, err = regexp.Compile(p); err != nil {
				err = fmt.Errorf("%s: %w", where(kw), err)
				break
			}
			n.pattern = &p
			n.patternMsg = cmpOr(custom["pattern"], "has an invalid format")
		case "minimum":
			n.minimum, n.minimumMsg, err = bound(v, where(kw), "must be at least ")
		case "maximum":
			n.maximum, n.maximumMsg, err = bound(v, where(kw), "must be at most ")
		case "required":
			n.required, err = stringList(v, where(kw))
		case "properties":
			props, ok := v.(map[string]any)
			if !ok {
				err = fmt.Errorf("%s is %s, want an object", where(kw), jsonType(v))
				break
			}
			for _, name := range sortedKeys(props) {
				// schema/inline.go and the annotation walk of schema/schema.go take a property
				// named as a keyword holding values for values, not a subschema: it would be
				// validated or worded differently there.
				if jsonschemautil.HoldsValues(name) || strings.ContainsAny(name, "~/%") {
					return nil, fmt.Errorf("%s: unsupported property name %q", where(kw), name)
				}
				child, err := g.compile(props[name], where(kw)+"/"+jsonschemautil.EscapeToken(name), expanding)
				if err != nil {
					return nil, err
				}
				n.properties = append(n.properties, property{name, child})
			}
		case "additionalProperties":
			n.additional, err = g.compile(v, where(kw), expanding)
		case "items":
			if _, ok := v.([]any); ok {
				err = fmt.Errorf("%s: an array of schemas is not draft 2020-12 (use prefixItems, which is not implemented)", where(kw))
				break
			}
			n.items, err = g.compile(v, where(kw), expanding)
		case "not":
			n.not, err = g.compile(v, where(kw), expanding)
			n.notMsg = cmpOr(custom["not"], "is not allowed")
		case "allOf":
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				err = fmt.Errorf("%s is %s, want a non-empty array", where(kw), jsonType(v))
				break
			}
			for i, item := range list {
				child, err := g.compile(item, fmt.Sprintf("%s/%d", where(kw), i), expanding)
				if err != nil {
					return nil, err
				}
				n.allOf = append(n.allOf, child)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if (n.minimum != "" || n.maximum != "") && (n.types&tInteger == 0 || n.types&tNumber != 0) {
		// Only an integer is sure to be a number math/big can read.
		return nil, fmt.Errorf("%s: minimum and maximum are implemented for \"type\": \"integer\" only", orRoot(ptr))
	}
	return n, nil
}

// ref compiles a subschema holding "$ref", which must be one that
// schema/inline.go replaces by a copy of its definition.
func (g *gen) ref(obj map[string]any, ref any, ptr string, expanding map[string]bool) (*node, error) {
	if kw, beside := jsonschemautil.BesideRef(obj); beside {
		return nil, fmt.Errorf("%s: unsupported: \"$ref\" beside %q (only a reference that stands alone, with a title or description, is implemented)", orRoot(ptr), kw)
	}
	name, ok := jsonschemautil.DefName(ref)
	if !ok {
		return nil, fmt.Errorf("%s: unsupported $ref %v (only #/$defs/NAME is implemented)", orRoot(ptr), ref)
	}
	def, ok := g.defs[name].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: $ref %s: no such object in $defs", orRoot(ptr), ref)
	}
	if expanding[name] {
		return nil, fmt.Errorf("%s: $ref %s refers back to itself (recursive schemas are not implemented)", orRoot(ptr), ref)
	}
	if jsonschemautil.HasIdentifier(def) {
		return nil, fmt.Errorf("%s: $ref %s: a definition with $id or an anchor is not implemented", orRoot(ptr), ref)
	}
	expanding[name] = true
	defer delete(expanding, name)
	return g.compile(def, ptr, expanding)
}

// errorMessages returns the errorMessage annotation of obj (keyword ->
// message), refusing one the runtime would not use.
func errorMessages(obj map[string]any, ptr string) (map[string]string, error) {
	v, ok := obj["errorMessage"]
	if !ok {
		return nil, nil
	}
	msgs, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s/errorMessage is %s, want an object (keyword -> message)", ptr, jsonType(v))
	}
	out := make(map[string]string, len(msgs))
	for kw, m := range msgs {
		s, ok := m.(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("%s/errorMessage/%s is not a message", ptr, jsonschemautil.EscapeToken(kw))
		}
		if !customMessages[kw] {
			return nil, fmt.Errorf("%s/errorMessage/%s: a message for %q is not implemented (only pattern, format and not)", ptr, jsonschemautil.EscapeToken(kw), kw)
		}
		if _, ok := obj[kw]; !ok {
			return nil, fmt.Errorf("%s/errorMessage/%s: no %q beside it to word", ptr, jsonschemautil.EscapeToken(kw), kw)
		}
		out[kw] = s
	}
	return out, nil
}

func (n *node) setType(v any, where string) error {
	var names []string
	switch t := v.(type) {
	case string:
		names = []string{t}
	case []any:
		for _, item := range t {
			s, ok := item.(string)
			if !ok {
				return fmt.Errorf("%s holds %s, want type names", where, jsonType(item))
			}
			names = append(names, s)
		}
	default:
		return fmt.Errorf("%s is %s, want a type name or an array of them", where, jsonType(v))
	}
	if len(names) == 0 {
		return fmt.Errorf("%s is empty", where)
	}
	for _, name := range names {
		i := slices.IndexFunc(typeOrder, func(t struct {
			name string
			bit  int
		}) bool {
			return t.name == name
		})
		if i < 0 {
			return fmt.Errorf("%s: unknown type %q", where, name)
		}
		n.types |= typeOrder[i].bit
	}
	var want []string
	for _, t := range typeOrder {
		if n.types&t.bit != 0 {
			n.typeNames = append(n.typeNames, t.name)
			want = append(want, jsonschemautil.WithArticle(t.name))
		}
	}
	n.typeWant = strings.Join(want, " or ")
	return nil
}

func (n *node) setEnum(v any, where string) error {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return fmt.Errorf("%s is %s, want a non-empty array", where, jsonType(v))
	}
	want := make([]string, len(list))
	for i, item := range list {
		switch item.(type) {
		case string, bool, nil:
		default:
			return fmt.Errorf("%s: an enum value that is %s is not implemented (strings, booleans and null only)", where, jsonType(item))
		}
		want[i] = fmt.Sprintf("%q", fmt.Sprint(item))
	}
	n.enum = list
	if len(want) == 1 {
		n.enumMsg = "must be " + want[0]
	} else {
		n.enumMsg = "must be one of " + strings.Join(want, ", ")
	}
	return nil
}

// count reads a non-negative integer keyword value.
func count(v any, where string) (int, error) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%s is %s, want a non-negative integer", where, jsonType(v))
	}
	r, ok := new(big.Rat).SetString(string(num))
	if !ok || !r.IsInt() || r.Sign() < 0 || !r.Num().IsInt64() || r.Num().Int64() > 1<<31-1 {
		return 0, fmt.Errorf("%s is %s, want a non-negative integer below 2^31", where, num)
	}
	return int(r.Num().Int64()), nil
}

// bound reads a minimum or maximum and words its error as errors.go does.
func bound(v any, where, msg string) (string, string, error) {
	num, ok := v.(json.Number)
	if !ok {
		return "", "", fmt.Errorf("%s is %s, want a number", where, jsonType(v))
	}
	r, ok := new(big.Rat).SetString(string(num))
	if !ok {
		return "", "", fmt.Errorf("%s: %s is not a number math/big can read", where, num)
	}
	return string(num), msg + jsonschemautil.RatString(r), nil
}

func stringList(v any, where string) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s is %s, want an array of strings", where, jsonType(v))
	}
	out := make([]string, len(list))
	for i, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("%s/%d is %s, want a string", where, i, jsonType(item))
		}
		if slices.Contains(out[:i], s) {
			return nil, fmt.Errorf("%s names %q twice", where, s)
		}
		out[i] = s
	}
	return out, nil
}

// emitter writes the generated file.
type emitter struct {
	g       *gen
	buf     bytes.Buffer
	funcs   []*node // nodes with a function, in the order they were named
	decls   bytes.Buffer
	regexps map[string]string // pattern -> variable
	bounds  map[string]string // number text -> variable
	enums   int
	lists   map[string]string // Go literal -> variable
}

func (g *gen) emit(root *node) ([]byte, error) {
	e := &emitter{g: g, regexps: map[string]string{}, bounds: map[string]string{}, lists: map[string]string{}}
	o := g.opt
	e.name(root)
	var body bytes.Buffer
	for i := 0; i < len(e.funcs); i++ { // e.funcs grows as functions are written
		e.function(&body, e.funcs[i])
	}

	b := &e.buf
	fmt.Fprintf(b, "// Code generated by %s from %s; DO NOT EDIT.\n\n", o.Generator, o.Source)
	fmt.Fprintf(b, "package %s\n\n", o.Package)
	imports := []string{"encoding/json", "regexp", "unicode/utf8"}
	uses := body.String() + e.decls.String()
	fmt.Fprintf(b, "import (\n")
	for _, imp := range imports {
		if strings.Contains(uses, imp[strings.LastIndex(imp, "/")+1:]+".") {
			fmt.Fprintf(b, "\t%q\n", imp)
		}
	}
	fmt.Fprintf(b, ")\n\n")
	fmt.Fprintf(b, "// %s validates a document decoded from JSON (objects as map[string]any,\n", o.Func)
	fmt.Fprintf(b, "// numbers as json.Number) against %s and returns every problem,\n", o.Source)
	fmt.Fprintf(b, "// sorted by path and message, as the library-based validator reports them;\n")
	fmt.Fprintf(b, "// nil when the document is valid.\n")
	fmt.Fprintf(b, "func %s(doc any) []FieldError {\n", o.Func)
	fmt.Fprintf(b, "\tvar c genCollector\n")
	if root.fails() {
		fmt.Fprintf(b, "\tc.add(nil, %q)\n", "is not allowed")
	} else if !root.passes() {
		fmt.Fprintf(b, "\t%s(&c, doc, nil)\n", root.fn)
	}
	fmt.Fprintf(b, "\treturn c.result()\n}\n\n")
	b.Write(e.decls.Bytes())
	b.Write(body.Bytes())
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("validatorgen: formatting the generated code: %w\n%s", err, b.Bytes())
	}
	return out, nil
}

// name gives n a function when it needs one.
func (e *emitter) name(n *node) string {
	if n.fn == "" {
		n.fn = fmt.Sprintf("%sSchema%d", e.g.opt.Prefix, len(e.funcs))
		e.funcs = append(e.funcs, n)
	}
	return n.fn
}

// declVar returns the package variable vars holds for key, first declaring it (named
// Prefix+kind+its number among vars) with the Go expression init.
func (e *emitter) declVar(vars map[string]string, key, kind, init string) string {
	if v, ok := vars[key]; ok {
		return v
	}
	v := fmt.Sprintf("%s%s%d", e.g.opt.Prefix, kind, len(vars))
	vars[key] = v
	fmt.Fprintf(&e.decls, "var %s = %s\n\n", v, init)
	return v
}

func (e *emitter) regexpVar(p string) string {
	return e.declVar(e.regexps, p, "Pattern", "regexp.MustCompile("+strconv.Quote(p)+")")
}

func (e *emitter) boundVar(num string) string {
	return e.declVar(e.bounds, num, "Bound", "genNewBound("+strconv.Quote(num)+")")
}

func (e *emitter) enumFunc(n *node) string {
	name := fmt.Sprintf("%sEnum%d", e.g.opt.Prefix, e.enums)
	e.enums++
	d := &e.decls
	fmt.Fprintf(d, "// %s reports whether v is one of the values %s/enum allows.\n", name, orRoot(n.ptr))
	var strs, bools []string
	null := false
	for _, item := range n.enum {
		switch item := item.(type) {
		case string:
			strs = append(strs, "x == "+strconv.Quote(item))
		case bool:
			bools = append(bools, fmt.Sprintf("x == %t", item))
		case nil:
			null = true
		}
	}
	if strs != nil || bools != nil {
		fmt.Fprintf(d, "func %s(v any) bool {\n\tswitch x := v.(type) {\n", name)
	} else {
		fmt.Fprintf(d, "func %s(v any) bool {\n\tswitch v.(type) {\n", name)
	}
	if strs != nil {
		fmt.Fprintf(d, "\tcase string:\n\t\treturn %s\n", strings.Join(strs, " || "))
	}
	if bools != nil {
		fmt.Fprintf(d, "\tcase bool:\n\t\treturn %s\n", strings.Join(bools, " || "))
	}
	if null {
		fmt.Fprintf(d, "\tcase nil:\n\t\treturn true\n")
	}
	fmt.Fprintf(d, "\t}\n\treturn false\n}\n\n")
	return name
}

func (e *emitter) listVar(names []string) string {
	q := make([]string, len(names))
	for i, s := range names {
		q[i] = strconv.Quote(s)
	}
	lit := strings.Join(q, ", ")
	return e.declVar(e.lists, lit, "Declared", "[]string{"+lit+"}")
}

// goTypes are the Go types the decoder gives each JSON type.
var goTypes = map[int]string{
	tBoolean: "bool", tNumber: "json.Number", tInteger: "json.Number", tString: "string",
	tArray: "[]any", tObject: "map[string]any",
}

// function writes the function of node n:
// func fn(c *genCollector, v any, at *genLoc).
func (e *emitter) function(w *bytes.Buffer, n *node) {
	fmt.Fprintf(w, "// %s checks a value against %s.\n", n.fn, ptrName(n.ptr))
	fmt.Fprintf(w, "func %s(c *genCollector, v any, at *genLoc) {\n", n.fn)
	// The library stops at the first failing one of type, enum and format.
	known := "" // the variable holding v with its one possible Go type
	single := n.types != 0 && n.types&(n.types-1) == 0
	integer := n.types&tInteger != 0
	usesX := n.format != "" || len(n.required) > 0 || len(n.properties) > 0 || n.additional != nil ||
		(n.items != nil && !n.items.passes()) || n.minLength >= 0 || n.maxLength >= 0 || n.pattern != nil ||
		n.minimum != "" || n.maximum != ""
	switch {
	case n.types == 0:
	case single && n.types == tNull:
		fmt.Fprintf(w, "if v != nil {\nc.typeError(at, v, %q, false)\nreturn\n}\n", n.typeWant)
	case single:
		x, cond := "_", "!ok"
		if usesX || integer {
			known, x = "x", "x"
		}
		if integer {
			cond = "!ok || !genIsInteger(x)"
		}
		fmt.Fprintf(w, "%s, ok := v.(%s)\nif %s {\nc.typeError(at, v, %q, %t)\nreturn\n}\n", x, goTypes[n.types], cond, n.typeWant, integer)
	default:
		var bits []string
		for _, t := range typeOrder {
			if n.types&t.bit != 0 {
				bits = append(bits, typeConst[t.bit])
			}
		}
		fmt.Fprintf(w, "if !genHasType(v, %s) {\nc.typeError(at, v, %q, %t)\nreturn\n}\n", strings.Join(bits, "|"), n.typeWant, integer)
	}
	if n.enum != nil {
		fmt.Fprintf(w, "if !%s(v) {\nc.add(at, %q)\nreturn\n}\n", e.enumFunc(n), n.enumMsg)
	}
	// may reports whether v may have JSON type t; typed opens a block in
	// which the variable x holds v as Go type goType.
	may := func(t int) bool { return n.types == 0 || n.types&t != 0 }
	typed := func(t int) (open, close string) {
		if known != "" && n.types&t != 0 {
			return "", "" // x is v already
		}
		return fmt.Sprintf("if x, ok := v.(%s); ok {\n", goTypes[t]), "}\n"
	}
	if n.format != "" && may(tString) {
		open, close := typed(tString)
		fmt.Fprintf(w, "%sif !genIsURI(x) {\nc.add(at, %q)\nreturn\n}\n%s", open, n.formatMsg, close)
	}
	if (len(n.required) > 0 || len(n.properties) > 0 || n.additional != nil) && may(tObject) {
		open, close := typed(tObject)
		w.WriteString(open)
		e.object(w, n)
		w.WriteString(close)
	}
	if n.items != nil && !n.items.passes() && may(tArray) {
		open, close := typed(tArray)
		w.WriteString(open)
		var loop bytes.Buffer
		item := "_"
		if e.check(&loop, n.items, "item", "&genLoc{up: at, index: i, elem: true}") {
			item = "item"
		}
		fmt.Fprintf(w, "for i, %s := range x {\n%s}\n", item, loop.Bytes())
		w.WriteString(close)
	}
	if (n.minLength >= 0 || n.maxLength >= 0 || n.pattern != nil) && may(tString) {
		open, close := typed(tString)
		w.WriteString(open)
		if n.minLength >= 0 || n.maxLength >= 0 {
			fmt.Fprintf(w, "n := utf8.RuneCountInString(x)\n")
		}
		if n.minLength >= 0 {
			fmt.Fprintf(w, "if n < %d {\nc.minLength(at, %d, n)\n}\n", n.minLength, n.minLength)
		}
		if n.maxLength >= 0 {
			fmt.Fprintf(w, "if n > %d {\nc.maxLength(at, %d, n)\n}\n", n.maxLength, n.maxLength)
		}
		if n.pattern != nil {
			fmt.Fprintf(w, "if !%s.MatchString(x) {\nc.add(at, %q)\n}\n", e.regexpVar(*n.pattern), n.patternMsg)
		}
		w.WriteString(close)
	}
	if n.minimum != "" || n.maximum != "" {
		open, close := typed(tInteger)
		w.WriteString(open)
		if n.minimum != "" {
			fmt.Fprintf(w, "if genCompare(x, %s) < 0 {\nc.add(at, %q)\n}\n", e.boundVar(n.minimum), n.minimumMsg)
		}
		if n.maximum != "" {
			fmt.Fprintf(w, "if genCompare(x, %s) > 0 {\nc.add(at, %q)\n}\n", e.boundVar(n.maximum), n.maximumMsg)
		}
		w.WriteString(close)
	}
	if n.not != nil {
		switch {
		case n.not.passes():
			fmt.Fprintf(w, "c.add(at, %q)\n", n.notMsg)
		case n.not.fails():
		default:
			fmt.Fprintf(w, "{\nq := genCollector{quiet: true}\n%s(&q, v, at)\nif q.n == 0 {\nc.add(at, %q)\n}\n}\n", e.name(n.not), n.notMsg)
		}
	}
	for _, sub := range n.allOf {
		e.check(w, sub, "v", "at")
	}
	fmt.Fprintf(w, "}\n\n")
}

// object writes the object keywords of n; x holds the object.
func (e *emitter) object(w *bytes.Buffer, n *node) {
	bit := map[string]int{}
	for i, p := range n.properties {
		if i < 64 {
			bit[p.name] = i
		}
	}
	var mask uint64
	for _, name := range n.required {
		if i, ok := bit[name]; ok {
			mask |= 1 << i
		}
	}
	if mask != 0 {
		fmt.Fprintf(w, "var seen uint64\n")
	}
	addFalse := n.additional != nil && n.additional.fails()
	additional := n.additional != nil && !n.additional.passes()
	loop := mask != 0 || additional
	for _, p := range n.properties {
		loop = loop || !p.schema.passes()
	}
	if loop {
		var body bytes.Buffer
		w, outer := &body, w
		usesVal := false
		if len(n.properties) > 0 {
			fmt.Fprintf(w, "switch k {\n")
			for _, p := range n.properties {
				i, hasBit := bit[p.name]
				required := hasBit && mask&(1<<i) != 0
				if !required && p.schema.passes() && !additional {
					continue // nothing to do, and no default case to keep it from
				}
				fmt.Fprintf(w, "case %q:\n", p.name)
				if required {
					fmt.Fprintf(w, "seen |= 1 << %d\n", i)
				}
				usesVal = e.check(w, p.schema, "val", "&genLoc{up: at, key: k}") || usesVal
			}
			if additional {
				fmt.Fprintf(w, "default:\n")
				usesVal = e.additional(w, n, addFalse) || usesVal
			}
			fmt.Fprintf(w, "}\n")
		} else if additional {
			usesVal = e.additional(w, n, addFalse) || usesVal
		}
		val := "_"
		if usesVal {
			val = "val"
		}
		fmt.Fprintf(outer, "for k, %s := range x {\n%s}\n", val, body.Bytes())
		w = outer
	}
	if mask != 0 {
		fmt.Fprintf(w, "if seen&%#x != %#x {\n", mask, mask)
		for _, name := range n.required {
			if i, ok := bit[name]; ok {
				fmt.Fprintf(w, "if seen&(1<<%d) == 0 {\nc.addMember(at, %q, \"is required\")\n}\n", i, name)
			}
		}
		fmt.Fprintf(w, "}\n")
	}
	for _, name := range n.required {
		if _, ok := bit[name]; !ok {
			fmt.Fprintf(w, "if _, ok := x[%q]; !ok {\nc.addMember(at, %q, \"is required\")\n}\n", name, name)
		}
	}
}

// additional writes the check of a member k (value val) that no property
// declares, and reports whether it reads val.
func (e *emitter) additional(w *bytes.Buffer, n *node, addFalse bool) bool {
	if addFalse {
		list := "nil"
		if len(n.properties) > 0 {
			list = e.listVar(n.declared())
		}
		fmt.Fprintf(w, "c.unknown(at, k, %s)\n", list)
		return false
	}
	return e.check(w, n.additional, "val", "&genLoc{up: at, key: k}")
}

// check writes the validation of value (a Go expression of type any) against
// n at location loc (a Go expression of type *genLoc), and reports whether
// it reads value.
func (e *emitter) check(w *bytes.Buffer, n *node, value, loc string) bool {
	switch {
	case n.passes():
		return false
	case n.fails():
		fmt.Fprintf(w, "c.add(%s, %q)\n", loc, "is not allowed")
		return false
	case n.onlyType() && n.types == tNull:
		fmt.Fprintf(w, "if %s != nil {\nc.typeError(%s, %s, %q, false)\n}\n", value, loc, value, n.typeWant)
	case n.onlyType():
		fmt.Fprintf(w, "if _, ok := %s.(%s); !ok {\nc.typeError(%s, %s, %q, false)\n}\n", value, goTypes[n.types], loc, value, n.typeWant)
	default:
		fmt.Fprintf(w, "%s(c, %s, %s)\n", e.name(n), value, loc)
	}
	return true
}

// jsonType names the JSON type of a decoded value with its article, as the
// generated code does (genTypeName).
func jsonType(v any) string {
	if name, ok := jsonschemautil.TypeName(v); ok {
		return name
	}
	return fmt.Sprintf("%T", v)
}

func orRoot(ptr string) string {
	if ptr == "" {
		return "(root)"
	}
	return ptr
}

func ptrName(ptr string) string {
	if ptr == "" {
		return "the whole schema"
	}
	return ptr
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Target is one file go generate ./schema writes.
type Target struct {
	// Schema and Output are paths relative to the schema directory.
	Schema, Output string
	Options
}

// Targets are the files schema/gen_validator.go writes: the create-room
// validator, and a validator of a schema using every implemented construct
// that package schema's tests hold to the library too.
var Targets = []Target{
	{
		Schema: "create-room.schema.json",
		Output: "create_room_validate_gen.go",
		Options: Options{
			Package:   "schema",
			Func:      "validateCreateRoom",
			Prefix:    "createRoom",
			Source:    "create-room.schema.json",
			Generator: "gen_validator.go",
		},
	},
	{
		Schema: "internal/validatorgen/testdata/kitchen-sink.schema.json",
		Output: "kitchen_sink_validate_gen_test.go",
		Options: Options{
			Package:   "schema",
			Func:      "validateKitchenSink",
			Prefix:    "kitchenSink",
			Source:    "internal/validatorgen/testdata/kitchen-sink.schema.json",
			Generator: "gen_validator.go",
		},
	},
}
