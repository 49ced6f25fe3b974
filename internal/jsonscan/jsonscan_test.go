package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// depth returns the deepest nesting of objects and arrays in the JSON text b (strings skipped).
func depth(b []byte) int {
	d, most, inStr, esc := 0, 0, false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			d++
			most = max(most, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return most
}

// checkAgainstEncodingJSON reports how the Reader and CompactObject disagree with encoding/json
// on b.
func checkAgainstEncodingJSON(t *testing.T, b []byte) {
	t.Helper()
	valid := json.Valid(b)
	shallow := depth(b) <= MaxDepth
	r := NewReader(b)
	skipped := r.Skip(0) && r.AtEnd()
	if skipped && !valid || valid && shallow && !skipped {
		t.Fatalf("Skip of %q: %v, json.Valid %v", b, skipped, valid)
	}
	out, ok := CompactObject(nil, b)
	isObject := valid && bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{"))
	if ok && !isObject || isObject && shallow && !ok {
		t.Fatalf("CompactObject of %q: %v, json.Valid %v, object %v", b, ok, valid, isObject)
	}
	if ok {
		var want bytes.Buffer
		if err := json.Compact(&want, b); err != nil || !bytes.Equal(out, want.Bytes()) {
			t.Fatalf("CompactObject of %q: %q, json.Compact %q (%v)", b, out, want.Bytes(), err)
		}
		// In place, over its own bytes.
		in := bytes.Clone(b)
		if got, ok := CompactObject(in[:0], in); !ok || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("CompactObject in place of %q: %q", b, got)
		}
	}
	// A string token: Unquote and Text give what json.Unmarshal gives, when they take it.
	r = NewReader(b)
	if r.Peek() == '"' {
		var want string
		werr := json.Unmarshal(b, &want)
		u := NewReader(b)
		got, ok := u.Unquote(nil)
		if ok && u.AtEnd() && (werr != nil || string(got) != want) {
			t.Fatalf("Unquote of %q: %q, json.Unmarshal %q (%v)", b, got, want, werr)
		}
		x := NewReader(b)
		txt, tok := x.Text()
		if tok != ok || tok && string(txt) != string(got) {
			t.Fatalf("Text of %q: %q %v, Unquote %q %v", b, txt, tok, got, ok)
		}
		s := NewReader(b)
		if n := s.StringLen(); ok && n < len(got) {
			t.Fatalf("StringLen of %q: %d, value %d bytes", b, n, len(got))
		}
		if werr == nil && !ok && !strings.Contains(string(b), `\u`) && !bytes.ContainsFunc(b, func(r rune) bool { return r == '\uFFFD' }) {
			t.Fatalf("Unquote gave up on %q, which has no escape to leave to encoding/json", b)
		}
	}
}

func TestReaderAgainstEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":[1,2.5,-0,1e3,1E-3,true,false,null,"x",{}]}`, `{"a":"\u00e9\n\"\\\/"}`,
		`{"a":1,}`, `{"a"}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`, `{"a":tru}`, `{"a":"x}`,
		`{"a":"` + "\x01" + `"}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{} {}`, `{}x`, `[]`, `5`, `"s"`, `""`, `"\ud800"`,
		`"\ud83d\ude00"`, "\"\xff\"", `"é"`, `"a\tb"`, "\"a\tb\"", `{"a":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`,
		`{"a":` + strings.Repeat("[", 255) + strings.Repeat("]", 255) + `}`, ``, ` `, `{`, `{"a":1`, "{\"a\":1}\x00",
	} {
		checkAgainstEncodingJSON(t, []byte(s))
	}
}

func FuzzReader(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,-0,1e3,true,null,"x\u00e9\"",{}]}`, `"\ud83d\ude00 \n"`, " {\"k\" : \"v\" } "} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAgainstEncodingJSON(t, b)
	})
}
