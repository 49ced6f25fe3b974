package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/jsonscan"
)

// appliedWarnings compares the metadata a request asked for (decoded, numbers as json.Number)
// with the metadata plugNmeet applied
// (room_info.metadata) and returns one warning per requested setting that came back different.
//
// Every leaf of the requested metadata is compared with the value at the same path in the applied
// metadata. A leaf missing from the applied metadata counts as its zero value (protojson leaves
// unset optional fields out), and a 64-bit integer sent back as a string equals the same number.
// Paths are JSON Pointers from the request root (/metadata/room_features/allow_webcams).
//
// The applied metadata is read once, front to back, without being decoded: only the values at
// requested paths are looked at (and decoded only for a warning); the rest is checked and
// skipped. Applied metadata that this walk does not take (malformed, which is an error, a
// duplicate key at a requested path, a requested key over 255 bytes, very deep nesting) is
// decoded whole as it always was, with the same result.
func appliedWarnings(req any, appliedMetadata json.RawMessage) ([]events.Warning, error) {
	if len(appliedMetadata) == 0 || req == nil {
		return nil, nil
	}
	if out, ok := walkWarnings(req, appliedMetadata); ok {
		return out, nil
	}
	return treeWarnings(req, appliedMetadata)
}

// walkWarnings is appliedWarnings by reading the applied metadata once; ok is false when the
// walk cannot tell (see appliedWarnings).
func walkWarnings(req any, appliedMetadata json.RawMessage) (out []events.Warning, ok bool) {
	var scratch [512]byte
	w := settingsWalk{r: jsonscan.NewReader(appliedMetadata), seen: scratch[:0:384], path: scratch[384:384]}
	w.path = append(w.path, "/metadata"...)
	if !w.value(req, 0) {
		return nil, false
	}
	// Like json.Decoder, whatever follows the first value is not looked at.
	sortWarnings(w.out)
	return w.out, true
}

// treeWarnings is appliedWarnings by decoding the applied metadata into a tree.
func treeWarnings(req any, appliedMetadata json.RawMessage) ([]events.Warning, error) {
	var applied any
	if err := decodeNumbers(appliedMetadata, &applied); err != nil {
		return nil, fmt.Errorf("applied metadata: %w", err)
	}
	var out []events.Warning
	compareTree("/metadata", req, applied, true, &out)
	sortWarnings(out)
	return out, nil
}

func sortWarnings(out []events.Warning) {
	slices.SortFunc(out, func(a, b events.Warning) int { return strings.Compare(a.Path, b.Path) })
}

// settingsWalk compares requested settings with the applied metadata as it reads it.
type settingsWalk struct {
	r    jsonscan.Reader
	path []byte // the JSON Pointer of the value being compared
	// seen holds the requested keys met so far in each object being read, as a stack: each key
	// followed by its length (one byte; longer keys are left to the tree).
	seen []byte
	out  []events.Warning
}

// value compares req with the applied value next in the reader, reading it. It reports false
// when the walk cannot go on (see appliedWarnings).
func (w *settingsWalk) value(req any, depth int) bool {
	obj, isObj := req.(map[string]any)
	if !isObj {
		w.r.Peek()
		start := w.r.Pos()
		if !w.r.Skip(depth) {
			return false
		}
		w.leaf(req, w.r.Bytes()[start:w.r.Pos()])
		return true
	}
	if w.r.Peek() != '{' {
		// Not an object: every requested setting under it is missing.
		if !w.r.Skip(depth) {
			return false
		}
		w.missing(obj)
		return true
	}
	if depth >= jsonscan.MaxDepth {
		return false
	}
	w.r.Open('{')
	base := len(w.seen)
	for more := !w.r.Close('}'); more; {
		w.r.Peek()
		at := w.r.Pos()
		k, esc, high, ok := w.r.Key()
		if !ok {
			return false
		}
		if esc || high && !utf8.Valid(k) {
			// The key is its text unquoted as encoding/json does it (U+FFFD for invalid UTF-8).
			var s string
			if json.Unmarshal(w.r.Bytes()[at:at+len(k)+2], &s) != nil {
				return false
			}
			k = []byte(s)
		}
		sub, wanted := obj[string(k)]
		if !wanted {
			if !w.r.Skip(depth + 1) {
				return false
			}
		} else {
			if len(k) > 255 || seenKey(w.seen[base:], k) {
				return false // a duplicate: the decoded tree keeps the last
			}
			w.seen = append(append(w.seen, k...), byte(len(k)))
			n := len(w.path)
			w.path = appendPointer(w.path, k)
			if !w.value(sub, depth+1) {
				return false
			}
			w.path = w.path[:n]
		}
		if more, ok = w.r.Next('}'); !ok {
			return false
		}
	}
	if seenCount(w.seen[base:]) < len(obj) {
		for k, sub := range obj {
			if !seenKey(w.seen[base:], k) {
				n := len(w.path)
				w.path = appendPointer(w.path, k)
				w.missing(sub)
				w.path = w.path[:n]
			}
		}
	}
	w.seen = w.seen[:base]
	return true
}

// seenKey reports whether the key k is in seen (keys each followed by their length).
func seenKey[K string | []byte](seen []byte, k K) bool {
	for end := len(seen); end > 0; {
		n := int(seen[end-1])
		key := seen[end-1-n : end-1]
		if string(key) == string(k) {
			return true
		}
		end -= n + 1
	}
	return false
}

// seenCount returns how many keys seen holds.
func seenCount(seen []byte) int {
	c := 0
	for end := len(seen); end > 0; end -= int(seen[end-1]) + 1 {
		c++
	}
	return c
}

// missing compares req with a missing applied value.
func (w *settingsWalk) missing(req any) {
	if obj, ok := req.(map[string]any); ok {
		for k, sub := range obj {
			n := len(w.path)
			w.path = appendPointer(w.path, k)
			w.missing(sub)
			w.path = w.path[:n]
		}
		return
	}
	if !isZero(req) {
		w.out = append(w.out, events.Warning{Path: string(w.path), Requested: req})
	}
}

// leaf compares the requested leaf req with the applied value v (one well-formed JSON value).
func (w *settingsWalk) leaf(req any, v []byte) {
	if sameRaw(req, v) {
		return
	}
	applied := decodeApplied(v)
	w.out = append(w.out, events.Warning{Path: string(w.path), Requested: req, Applied: applied})
}

// sameRaw is sameValue(req, the decoded v), without decoding v in the usual cases.
func sameRaw(req any, v []byte) bool {
	switch r := req.(type) {
	case bool:
		if v[0] == 't' || v[0] == 'f' {
			return r == (v[0] == 't')
		}
	case string:
		if v[0] == '"' {
			if s, ok := plainString(v); ok {
				return string(s) == r
			}
		}
	case json.Number:
		switch {
		case v[0] == '-' || '0' <= v[0] && v[0] <= '9':
			return string(v) == r.String()
		case v[0] == '"':
			if s, ok := plainString(v); ok {
				if string(s) != r.String() {
					return false
				}
				_, err := strconv.ParseFloat(r.String(), 64)
				return err == nil
			}
		}
	case []any:
		if v[0] != '[' {
			return len(r) == 0 // null, or not an array: sameValue's answer either way
		}
		rd := jsonscan.NewReader(v)
		rd.Open('[')
		n, same := 0, true
		for more := !rd.Close(']'); more; n++ {
			rd.Peek()
			start := rd.Pos()
			rd.Skip(1) // well-formed: checked as it was read
			if same && n < len(r) {
				same = sameRaw(r[n], v[start:rd.Pos()])
			}
			more, _ = rd.Next(']')
		}
		return same && n == len(r)
	}
	return sameValue(req, decodeApplied(v))
}

// plainString returns the content of the string token v when it is the string's value.
func plainString(v []byte) ([]byte, bool) {
	s := v[1 : len(v)-1]
	for _, c := range s {
		if c == '\\' || c >= utf8.RuneSelf {
			return nil, false
		}
	}
	return s, true
}

// decodeApplied decodes one well-formed JSON value as decodeNumbers does.
func decodeApplied(v []byte) any {
	rd := jsonscan.NewReader(v)
	if x, ok := decodeValue(&rd); ok {
		return x
	}
	var x any
	_ = decodeNumbers(v, &x) // v is well-formed: checked as it was read
	return x
}

// decodeValue decodes the well-formed value next in rd as decodeNumbers does; ok is false for
// a string encoding/json alone unquotes (see jsonscan.Reader.Unquote).
func decodeValue(rd *jsonscan.Reader) (any, bool) {
	switch rd.Peek() {
	case '{':
		rd.Open('{')
		m := map[string]any{}
		for more := !rd.Close('}'); more; {
			rd.Peek()
			k, ok := rd.Text()
			if !ok {
				return nil, false
			}
			rd.Open(':')
			x, ok := decodeValue(rd)
			if !ok {
				return nil, false
			}
			m[string(k)] = x
			more, _ = rd.Next('}')
		}
		return m, true
	case '[':
		rd.Open('[')
		a := []any{}
		for more := !rd.Close(']'); more; {
			x, ok := decodeValue(rd)
			if !ok {
				return nil, false
			}
			a = append(a, x)
			more, _ = rd.Next(']')
		}
		return a, true
	case '"':
		s, ok := rd.Text()
		return string(s), ok
	}
	tok, _ := rd.Token()
	switch tok[0] {
	case 'n':
		return nil, true
	case 't':
		return true, true
	case 'f':
		return false, true
	}
	return json.Number(tok), true
}

// appendPointer appends "/" and the key k, escaped as a JSON Pointer token.
func appendPointer[K string | []byte](path []byte, k K) []byte {
	path = append(path, '/')
	for i := 0; i < len(k); i++ {
		if k[i] == '~' || k[i] == '/' {
			return append(path, escapePointer(string(k))...)
		}
	}
	return append(path, k...)
}

func decodeNumbers(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

func compareTree(path string, req, applied any, present bool, out *[]events.Warning) {
	if obj, ok := req.(map[string]any); ok {
		appliedObj, _ := applied.(map[string]any)
		for k, v := range obj {
			av, ok := appliedObj[k]
			compareTree(path+"/"+escapePointer(k), v, av, ok, out)
		}
		return
	}
	if !present {
		applied = nil
	}
	if !sameValue(req, applied) {
		*out = append(*out, events.Warning{Path: path, Requested: req, Applied: applied})
	}
}

// sameValue reports whether a requested leaf and its applied counterpart mean the same.
func sameValue(req, applied any) bool {
	if applied == nil {
		return isZero(req)
	}
	switch r := req.(type) {
	case json.Number:
		return numberString(applied) == r.String()
	case string, bool:
		return r == applied
	case []any:
		a, ok := applied.([]any)
		if !ok || len(a) != len(r) {
			return len(r) == 0 && !ok
		}
		for i := range r {
			if !sameValue(r[i], a[i]) {
				return false
			}
		}
		return true
	case nil:
		return isZero(applied)
	}
	return false
}

func numberString(v any) string {
	switch a := v.(type) {
	case json.Number:
		return a.String()
	case string:
		if _, err := strconv.ParseFloat(a, 64); err == nil {
			return a
		}
	}
	return "\x00not a number"
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case json.Number:
		f, err := x.Float64()
		return err == nil && f == 0
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
