package schema

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestFastDecodeAgreesWithStd decodes edge cases with the fast decoder and
// with the encoding/json path: both accept the same inputs and build the
// same tree, and what the fast decoder refuses still gets the same error.
func TestFastDecodeAgreesWithStd(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"object", `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, true},
		{"spaces", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n", true},
		{"empty containers", `{"a":{},"b":[]}`, true},
		{"duplicate key", `{"a":1,"a":2}`, false},
		{"duplicate key, nested", `{"a":{"b":[{"c":1,"c":1}]}}`, false},
		{"same key in sibling objects", `[{"a":1},{"a":2}]`, true},
		{"numbers keep their text", `[0,-0,1.50,-2e10,3E+2,4e-0,18446744073709551616]`, true},
		{"escapes", `["\"\\\/\b\f\n\r\t", "\u00e9\u20AC", "caf\u00e9 \"x\""]`, true},
		{"surrogate pair", `"\ud83d\ude00"`, true},
		{"lone high surrogate", `"\ud83dx"`, true},
		{"lone low surrogate", `"\ude00\u0041"`, true},
		{"high surrogate then non-surrogate escape", `"\ud83d\u0041"`, true},
		{"two high surrogates", `"\ud83d\ud83d\ude00"`, true},
		{"raw UTF-8", `{"k":"héllo €😀"}`, true},
		{"top-level scalar", `42`, true},
		{"empty", ``, false},
		{"whitespace only", " \n", false},
		{"BOM", "\xef\xbb\xbf{}", false},
		{"invalid UTF-8 in string", "{\"a\":\"caf\xe9\"}", false},
		{"UTF-8 surrogate in string", "\"\xed\xa0\x80\"", false},
		{"invalid UTF-8 outside string", "{\xff}", false},
		{"control character", "\"a\tb\"", false},
		{"bad escape", `"\x"`, false},
		{"short unicode escape", `"\u12"`, false},
		{"bad hex", `"\u12g4"`, false},
		{"leading zero", `01`, false},
		{"bare minus", `-`, false},
		{"fraction without digits", `1.`, false},
		{"exponent without digits", `1e+`, false},
		{"plus sign", `+1`, false},
		{"trailing comma in object", `{"a":1,}`, false},
		{"trailing comma in array", `[1,]`, false},
		{"missing colon", `{"a" 1}`, false},
		{"unquoted key", `{a:1}`, false},
		{"truncated literal", `tru`, false},
		{"literal with suffix", `truex`, false},
		{"trailing data", `{} {}`, false},
		{"unterminated string", `"abc`, false},
		{"unterminated object", `{"a":1`, false},
		{"deepest nesting", strings.Repeat("[", maxFastDepth) + strings.Repeat("]", maxFastDepth), true},
		{"too deep", strings.Repeat("[", maxFastDepth+1) + strings.Repeat("]", maxFastDepth+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.in)
			fast, ok := fastDecode(data)
			std, stdErr := decodeStd(data)
			if ok != tt.ok {
				t.Fatalf("fast decoder ok = %v, want %v", ok, tt.ok)
			}
			if (stdErr == nil) != tt.ok {
				t.Fatalf("encoding/json path error = %v, want ok = %v", stdErr, tt.ok)
			}
			if ok && !reflect.DeepEqual(fast, std) {
				t.Errorf("fast decoder built %#v, encoding/json %#v", fast, std)
			}
			got, gotErr := decode(data)
			if !reflect.DeepEqual(got, std) || !reflect.DeepEqual(gotErr, stdErr) {
				t.Errorf("decode = %#v, %v; want %#v, %v", got, gotErr, std, stdErr)
			}
		})
	}
}

func TestParse(t *testing.T) {
	files, err := filepath.Glob("testdata/*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := Parse(data)
			if verr := Validate(data); !reflect.DeepEqual(err, verr) {
				t.Fatalf("Parse error %v, Validate error %v", err, verr)
			}
			if err != nil {
				if doc != nil {
					t.Errorf("Parse returned a tree with error %v", err)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("error %v is not ErrInvalid", err)
				}
				return
			}
			want, derr := decodeForTest(data)
			if derr != nil {
				t.Fatal(derr)
			}
			if !reflect.DeepEqual(doc, want) {
				t.Errorf("Parse tree differs from encoding/json's:\n got %#v\nwant %#v", doc, want)
			}
		})
	}
}

func TestParseSeedFields(t *testing.T) {
	data, err := os.ReadFile("testdata/valid/seed-example.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if doc["room_id"] != "room01" {
		t.Errorf("room_id = %#v", doc["room_id"])
	}
	meta, _ := doc["metadata"].(map[string]any)
	features, _ := meta["room_features"].(map[string]any)
	breakout, _ := features["breakout_room_features"].(map[string]any)
	if n := breakout["allowed_number_rooms"]; n != json.Number("2") {
		t.Errorf("allowed_number_rooms = %#v, want json.Number(\"2\")", n)
	}
	copyright, _ := meta["copyright_conf"].(map[string]any)
	if want := `Powered by <a href="https://www.plugnmeet.org" target="_blank">plugNmeet</a>`; copyright["text"] != want {
		t.Errorf("copyright text = %#v", copyright["text"])
	}
}

// TestInlineRefs checks that the compiled schema follows no "$ref" (each
// one is a lone reference to a definition) while the file keeps them.
func TestInlineRefs(t *testing.T) {
	if !strings.Contains(string(schemaJSON), `"$ref"`) {
		t.Fatal("the schema file has no $ref; this test is moot")
	}
	var doc any
	if err := json.Unmarshal(schemaJSON, &doc); err != nil {
		t.Fatal(err)
	}
	inlined := inlineRefs(doc).(map[string]any)
	delete(inlined, "$defs")
	if b, _ := json.Marshal(inlined); strings.Contains(string(b), `"$ref"`) {
		t.Errorf("a $ref outside $defs survived inlining: %s", b)
	}
	var again any
	if err := json.Unmarshal(schemaJSON, &again); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(doc, again) {
		t.Error("inlineRefs changed its input")
	}

	ref := func() map[string]any { return map[string]any{"$ref": "#/$defs/a"} }
	cyclic := map[string]any{
		"properties": map[string]any{"p": ref()},
		"$defs": map[string]any{
			"a": map[string]any{"type": "object", "properties": map[string]any{"x": ref()}},
		},
	}
	out := inlineRefs(cyclic).(map[string]any)
	p, _ := out["properties"].(map[string]any)["p"].(map[string]any)
	if p["type"] != "object" {
		t.Fatalf("the reference to a was not inlined once: %v", out)
	}
	if x, _ := p["properties"].(map[string]any)["x"].(map[string]any); x["$ref"] != "#/$defs/a" {
		t.Errorf("a cyclic reference was expanded: %v", out)
	}
}

// FuzzFastDecode checks the fast decoder against the encoding/json path: it
// accepts exactly the inputs encoding/json accepts (in valid UTF-8, without
// a BOM or trailing data) and builds the same tree from them.
func FuzzFastDecode(f *testing.F) {
	files, err := filepath.Glob("testdata/*/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		`"\ud83d\ude00"`, `"\ud83d\u0041"`, `"\ude00"`, `[0,-0.5e+3,1E9]`, `{"a":1,"a":[]}`,
		"\"caf\xc3\xa9\"", "\"\xed\xa0\x80\"", `[[[[]]]]`, ` null `, `01`, `{"a":1,}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := fastDecode(data)
		std, stdErr := decodeStd(data)
		switch {
		case ok && stdErr != nil:
			t.Fatalf("fast decoder accepts what encoding/json refuses (%v)", stdErr)
		case !ok && stdErr == nil:
			t.Fatalf("fast decoder refuses what encoding/json accepts: %#v", std)
		case ok && !reflect.DeepEqual(fast, std):
			t.Fatalf("fast decoder built %#v, encoding/json %#v", fast, std)
		}
	})
}
