package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzValidate(f *testing.F) {
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
	// Found by CI's fuzz run: a repeat inside a member that is itself
	// repeated later.
	f.Add([]byte(`{"":{"":{"":1,"":2}},"":3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Validate(data)
		if err == nil {
			return
		}
		var verr *Error
		if !errors.As(err, &verr) {
			t.Fatalf("error is %T (%v), want *schema.Error", err, err)
		}
		if len(verr.Errors) == 0 {
			t.Fatal("*Error without field errors")
		}
		if !slices.IsSortedFunc(verr.Errors, func(a, b FieldError) int { return strings.Compare(a.Path, b.Path) }) {
			t.Errorf("errors not sorted by path: %v", verr.Errors)
		}
		doc, decodeErr := decodeForTest(data)
		for _, fe := range verr.Errors {
			if fe.Message == "" {
				t.Errorf("%q: empty message", fe.Path)
			}
			tokens, ok := parsePointer(fe.Path)
			if !ok {
				t.Fatalf("%q is not a JSON Pointer", fe.Path)
			}
			if decodeErr != nil {
				if fe.Path != "" {
					t.Errorf("undecodable input reported at %q, want the root", fe.Path)
				}
				continue
			}
			// The parent of each reported value exists in the request (the
			// value itself may be a missing required property). A request
			// that names a member twice is refused at the first repeat in
			// document order, whose ancestors are first occurrences; doc
			// keeps the first value of each member for that reason.
			if len(tokens) > 0 && !resolves(doc, tokens[:len(tokens)-1]) {
				t.Errorf("%q: parent not found in the request", fe.Path)
			}
		}
		if again := Validate(data); !reflect.DeepEqual(again, err) {
			t.Errorf("second run differs: %v vs %v", again, err)
		}
	})
}

// decodeForTest decodes like a strict JSON reader, independently of decode.
// Where an object names a member more than once, the first value is kept
// (encoding/json keeps the last).
func decodeForTest(data []byte) (any, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeFirstWins(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

// decodeFirstWins reads one value from dec's tokens.
func decodeFirstWins(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		obj := map[string]any{}
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return nil, err
			}
			val, err := decodeFirstWins(dec)
			if err != nil {
				return nil, err
			}
			if _, seen := obj[key.(string)]; !seen {
				obj[key.(string)] = val
			}
		}
		_, err := dec.Token() // '}'
		return obj, err
	case json.Delim('['):
		arr := []any{}
		for dec.More() {
			val, err := decodeFirstWins(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, val)
		}
		_, err := dec.Token() // ']'
		return arr, err
	default:
		return tok, nil
	}
}

// parsePointer splits an RFC 6901 JSON Pointer into unescaped tokens.
func parsePointer(p string) ([]string, bool) {
	if p == "" {
		return nil, true
	}
	if !strings.HasPrefix(p, "/") {
		return nil, false
	}
	tokens := strings.Split(p[1:], "/")
	for i, tok := range tokens {
		for j := 0; j < len(tok); j++ {
			if tok[j] == '~' && (j+1 == len(tok) || (tok[j+1] != '0' && tok[j+1] != '1')) {
				return nil, false
			}
		}
		tokens[i] = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
	}
	return tokens, true
}

func resolves(v any, tokens []string) bool {
	for _, tok := range tokens {
		switch n := v.(type) {
		case map[string]any:
			child, ok := n[tok]
			if !ok {
				return false
			}
			v = child
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return false
			}
			v = n[i]
		default:
			return false
		}
	}
	return true
}
