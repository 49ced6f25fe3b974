package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*.want from the validator's output")

// render prints a validation error one "pointer: message" line per problem,
// the root pointer as "(root)".
func render(t *testing.T, err error) string {
	t.Helper()
	var verr *Error
	if !errors.As(err, &verr) {
		t.Fatalf("error is %T (%v), want *schema.Error", err, err)
	}
	var sb strings.Builder
	for _, fe := range verr.Errors {
		sb.WriteString(fe.String())
		sb.WriteByte('\n')
	}
	return sb.String()
}

func TestValidateValid(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found %d valid cases, want at least 10", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := Validate(data); err != nil {
				t.Errorf("valid request refused:\n%s", render(t, err))
			}
		})
	}
}

func TestValidateInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 50 {
		t.Fatalf("found %d invalid cases, want at least 50", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			verr := Validate(data)
			if verr == nil {
				t.Fatal("invalid request accepted")
			}
			if !errors.Is(verr, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %v", verr)
			}
			got := render(t, verr)
			golden := strings.TrimSuffix(file, ".json") + ".want"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./schema -run TestValidateInvalid -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\ngot:\n%swant:\n%s", golden, got, want)
			}
		})
	}
}

// TestMessagesArePlainWords guards against library wording reaching users:
// raw regular expressions, "'not' failed" and the like.
func TestMessagesArePlainWords(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.json")
	bad := []string{"failed", "pattern", "^", "$", "jsonschema", "want ", "got "}
	for _, file := range files {
		data, _ := os.ReadFile(file)
		var verr *Error
		if !errors.As(Validate(data), &verr) {
			t.Fatalf("%s: no *Error", file)
		}
		for _, fe := range verr.Errors {
			for _, b := range bad {
				if strings.Contains(fe.Message, b) {
					t.Errorf("%s: %s: message contains %q", file, fe, b)
				}
			}
		}
	}
}

func TestErrorsSortedAndComplete(t *testing.T) {
	data, err := os.ReadFile("testdata/invalid/three-errors.json")
	if err != nil {
		t.Fatal(err)
	}
	var verr *Error
	if !errors.As(Validate(data), &verr) {
		t.Fatal("want *Error")
	}
	paths := make([]string, len(verr.Errors))
	for i, fe := range verr.Errors {
		paths[i] = fe.Path
	}
	want := []string{"/max_participants", "/metadata/room_title", "/room_id"}
	if !slices.Equal(paths, want) {
		t.Errorf("paths = %q, want %q", paths, want)
	}
	msg := verr.Error()
	if !strings.HasPrefix(msg, "invalid create-room request: /max_participants: must be at least 1") || !strings.HasSuffix(msg, "(and 2 more)") {
		t.Errorf("Error() = %q", msg)
	}
}

func TestFieldErrorJSON(t *testing.T) {
	b, err := json.Marshal(FieldError{Path: "/room_id", Message: "is required"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"path":"/room_id","message":"is required"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestJSONIsTheSchemaFile(t *testing.T) {
	onDisk, err := os.ReadFile("create-room.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	got := JSON()
	if !bytes.Equal(got, onDisk) {
		t.Fatal("JSON() differs from create-room.schema.json")
	}
	got[0] = 'X' // callers may not corrupt the validator's copy
	if JSON()[0] != onDisk[0] {
		t.Error("JSON() returns the embedded slice itself")
	}
	var doc map[string]any
	if err := json.Unmarshal(onDisk, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" || doc["$id"] != schemaURL {
		t.Errorf("$schema/$id = %v / %v", doc["$schema"], doc["$id"])
	}
}

// TestSchemaAnnotations walks the schema file: every pattern, not and format
// rule carries an errorMessage for it, and every property is documented by
// a title or description (directly or on the $defs entry it refers to).
func TestSchemaAnnotations(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(schemaJSON, &doc); err != nil {
		t.Fatal(err)
	}
	defs, _ := doc["$defs"].(map[string]any)
	documented := func(s map[string]any) bool {
		if s["title"] != nil || s["description"] != nil {
			return true
		}
		if ref, ok := s["$ref"].(string); ok {
			def, _ := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
			return def["title"] != nil || def["description"] != nil
		}
		return false
	}
	var walk func(node any, ptr string, inNot bool)
	walk = func(node any, ptr string, inNot bool) {
		switch n := node.(type) {
		case map[string]any:
			msgs, _ := n["errorMessage"].(map[string]any)
			for _, kw := range []string{"pattern", "not", "format"} {
				// A pattern inside "not" is reported by the "not" around it.
				if _, ok := n[kw]; ok && !(inNot && kw == "pattern") && msgs[kw] == nil {
					t.Errorf("%s: %q has no errorMessage", ptr, kw)
				}
			}
			if props, ok := n["properties"].(map[string]any); ok {
				for name, p := range props {
					if ps, ok := p.(map[string]any); !ok || !documented(ps) {
						t.Errorf("%s/properties/%s: no title or description", ptr, name)
					}
				}
			}
			for k, child := range n {
				if k != "errorMessage" && k != "examples" && k != "enum" {
					walk(child, ptr+"/"+k, inNot || k == "not")
				}
			}
		case []any:
			for _, child := range n {
				walk(child, ptr+"/[]", inNot)
			}
		}
	}
	walk(doc, "", false)
}

func TestValidateConcurrent(t *testing.T) {
	valid, err := os.ReadFile("testdata/valid/seed-example.json")
	if err != nil {
		t.Fatal(err)
	}
	invalid, err := os.ReadFile("testdata/invalid/three-errors.json")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				if i%2 == 0 {
					if err := Validate(valid); err != nil {
						t.Errorf("seed example: %v", err)
					}
				} else if err := Validate(invalid); err == nil {
					t.Error("three-errors accepted")
				}
			}
		})
	}
	wg.Wait()
}

func TestSuggest(t *testing.T) {
	declared := []string{"room_title", "room_features", "webhook_url"}
	tests := []struct{ name, want string }{
		{"room_titel", "room_title"},
		{"Room_Title", "room_title"},
		{"webhookurl", "webhook_url"},
		{"bogus", ""},
		{strings.Repeat("x", 1000), ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.name, declared); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseEndRoom(t *testing.T) {
	for _, c := range []struct {
		data  string
		room  string
		paths []string
	}{
		{`{"room_id":"room01"}`, "room01", nil},
		{`{}`, "", []string{"/room_id"}},
		{`{"room_id":"user_x"}`, "", []string{"/room_id"}},
		{`{"room_id":"a b"}`, "", []string{"/room_id"}},
		{`{"room_id":"r","sid":"x"}`, "", []string{"/sid"}},
		{`{"room_id":1}`, "", []string{"/room_id"}},
		{`[]`, "", []string{""}},
		{`{"room_id":"r","room_id":"s"}`, "", []string{"/room_id"}},
	} {
		room, err := ParseEndRoom([]byte(c.data))
		if c.paths == nil {
			if err != nil || room != c.room {
				t.Errorf("%s: got %q, %v; want %q", c.data, room, err, c.room)
			}
			continue
		}
		var se *Error
		if !errors.As(err, &se) {
			t.Errorf("%s: got %q, %v; want schema errors at %v", c.data, room, err, c.paths)
			continue
		}
		var paths []string
		for _, fe := range se.Errors {
			paths = append(paths, fe.Path)
		}
		if !slices.Equal(paths, c.paths) {
			t.Errorf("%s: error paths %v, want %v (%v)", c.data, paths, c.paths, se)
		}
	}
}
