package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/roomworker/roomworker/schema/internal/jsonschemautil"
)

// decode parses a request as JSON, keeping numbers as json.Number so that
// large and fractional values reach the schema exactly. It refuses invalid
// UTF-8 (which encoding/json would silently replace) and trailing data,
// returning a root FieldError that says where the input went wrong.
//
// Well-formed input takes the fast decoder; anything it refuses goes through
// decodeStd, which decides and words the error.
func decode(data []byte) (any, *FieldError) {
	if doc, ok := fastDecode(data); ok {
		return doc, nil
	}
	return decodeStd(data)
}

// decodeStd is decode done with encoding/json, which reads the input twice
// but says precisely what is wrong with it.
func decodeStd(data []byte) (any, *FieldError) {
	if !utf8.Valid(data) {
		off := invalidUTF8Offset(data)
		return nil, rootError(fmt.Sprintf("is not valid UTF-8 (%s)", position(data, off)))
	}
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return nil, rootError("is not valid JSON: it starts with a UTF-8 byte order mark (BOM); save it as UTF-8 without BOM")
	}
	if len(bytes.TrimLeft(data, " \t\r\n")) == 0 {
		if len(data) == 0 {
			return nil, rootError("is not valid JSON: the input is empty")
		}
		return nil, rootError("is not valid JSON: the input holds only whitespace")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, rootError(jsonErrorMessage(data, err))
	}
	end := int(dec.InputOffset())
	if _, err := dec.Token(); err != io.EOF {
		off := end + len(data[end:]) - len(bytes.TrimLeft(data[end:], " \t\r\n"))
		return nil, rootError(fmt.Sprintf("is not valid JSON: unexpected data after the top-level value (%s)", position(data, off)))
	}
	if ptr, ok := duplicateMember(data); ok {
		return nil, &FieldError{Path: ptr, Message: "is given more than once in its object; give each member once"}
	}
	return doc, nil
}

// duplicateMember finds the first object member named twice in data (valid JSON) and returns
// its JSON Pointer. encoding/json keeps the last value silently; plugNmeet refuses the request.
func duplicateMember(data []byte) (string, bool) {
	type frame struct {
		object bool
		seen   map[string]bool
		key    string // object: the member being read
		index  int    // array: the item being read
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*frame
	pointer := func(last string) string {
		var b strings.Builder
		for _, f := range stack[:len(stack)-1] {
			b.WriteByte('/')
			if f.object {
				b.WriteString(jsonschemautil.EscapeToken(f.key))
			} else {
				b.WriteString(strconv.Itoa(f.index))
			}
		}
		return b.String() + "/" + jsonschemautil.EscapeToken(last)
	}
	// valueDone moves the enclosing container past the value just read.
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		if f := stack[len(stack)-1]; f.object {
			f.key = ""
		} else {
			f.index++
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key == "" {
			if k, ok := tok.(string); ok { // a member name
				if top.seen[k] {
					return pointer(k), true
				}
				top.seen[k] = true
				top.key = k
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, seen: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

func rootError(msg string) *FieldError {
	return &FieldError{Path: "", Message: msg}
}

// jsonErrorMessage words a decoding error with the position it applies to.
func jsonErrorMessage(data []byte, err error) string {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("is not valid JSON: unexpected end of input (%s)", position(data, len(data)))
	case errors.As(err, &syn):
		// Offset counts the bytes read, the offending one included.
		return fmt.Sprintf("is not valid JSON: %v (%s)", syn, position(data, int(syn.Offset)-1))
	default:
		return fmt.Sprintf("is not valid JSON: %v", err)
	}
}

// position describes a byte offset as line, column (in characters) and offset.
func position(data []byte, off int) string {
	off = max(0, min(off, len(data)))
	line, col := 1, 1
	for _, r := range string(data[:off]) {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d, byte offset %d", line, col, off)
}

// invalidUTF8Offset returns the offset of the first byte that does not
// start a valid UTF-8 sequence.
func invalidUTF8Offset(data []byte) int {
	for off := 0; off < len(data); {
		r, size := utf8.DecodeRune(data[off:])
		if r == utf8.RuneError && size == 1 {
			return off
		}
		off += size
	}
	return len(data)
}
