package schema

import (
	"encoding/json"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the decoder requests take on the fast path: one pass over
// the input that builds the same tree encoding/json would (map[string]any,
// []any, string, bool, nil, json.Number) with far fewer allocations. It only
// accepts; when the input is anything but a single, well-formed JSON value
// in valid UTF-8 (surrounded by optional whitespace), it gives up and decode
// runs the encoding/json path, which words the error. So the messages users
// see come from one place, and this decoder only has to agree with
// encoding/json on what is valid and what it decodes to (FuzzFastDecode
// checks both).

// maxFastDepth is the deepest nesting of objects and arrays the fast
// decoder accepts: encoding/json's limit, so both accept the same inputs.
const maxFastDepth = 10000

// member is one decoded object member waiting for its map.
type member struct {
	key string
	val any
}

// fastDecoder holds the scratch space of one decoding; decoders are pooled
// so that scratch space is reused across requests.
type fastDecoder struct {
	// src is the input as one string: keys, numbers and strings without
	// escapes are substrings of it, so they cost no allocation of their own.
	src   string
	off   int
	depth int
	// members and items are stacks of the object members and array items
	// decoded so far; each object or array takes its own from the top and
	// copies them into a map or slice of exactly the right size.
	members []member
	items   []any
}

var fastDecoders = sync.Pool{New: func() any { return new(fastDecoder) }}

// fastDecode decodes data when it is one well-formed JSON value in valid
// UTF-8 with nothing but whitespace around it; ok is false otherwise.
func fastDecode(data []byte) (v any, ok bool) {
	d := fastDecoders.Get().(*fastDecoder)
	d.src, d.off, d.depth = string(data), 0, 0
	v, ok = d.value()
	if ok {
		d.skipSpace()
		ok = d.off == len(d.src)
	}
	// Drop references into this request before pooling the scratch space.
	clear(d.members[:cap(d.members)])
	clear(d.items[:cap(d.items)])
	d.members, d.items = d.members[:0], d.items[:0]
	d.src = ""
	fastDecoders.Put(d)
	if !ok {
		return nil, false
	}
	return v, true
}

func (d *fastDecoder) skipSpace() {
	for d.off < len(d.src) {
		switch d.src[d.off] {
		case ' ', '\t', '\n', '\r':
			d.off++
		default:
			return
		}
	}
}

// value decodes the value that starts at the next non-space byte.
func (d *fastDecoder) value() (any, bool) {
	d.skipSpace()
	if d.off >= len(d.src) {
		return nil, false
	}
	switch c := d.src[d.off]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		s, ok := d.str()
		if !ok {
			return nil, false
		}
		return s, true
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return d.number()
	}
	return nil, false
}

func (d *fastDecoder) literal(lit string) bool {
	if len(d.src)-d.off < len(lit) || d.src[d.off:d.off+len(lit)] != lit {
		return false
	}
	d.off += len(lit)
	return true
}

// object decodes an object; d.src[d.off] is '{'.
func (d *fastDecoder) object() (any, bool) {
	if d.depth++; d.depth > maxFastDepth {
		return nil, false
	}
	d.off++
	base := len(d.members)
	d.skipSpace()
	if d.off < len(d.src) && d.src[d.off] == '}' {
		d.off++
		d.depth--
		return map[string]any{}, true
	}
	for {
		d.skipSpace()
		if d.off >= len(d.src) || d.src[d.off] != '"' {
			return nil, false
		}
		key, ok := d.str()
		if !ok {
			return nil, false
		}
		d.skipSpace()
		if d.off >= len(d.src) || d.src[d.off] != ':' {
			return nil, false
		}
		d.off++
		val, ok := d.value()
		if !ok {
			return nil, false
		}
		d.members = append(d.members, member{key, val})
		d.skipSpace()
		if d.off >= len(d.src) {
			return nil, false
		}
		if c := d.src[d.off]; c == ',' {
			d.off++
			continue
		} else if c != '}' {
			return nil, false
		}
		d.off++
		break
	}
	members := d.members[base:]
	m := make(map[string]any, len(members))
	for _, kv := range members {
		m[kv.key] = kv.val
	}
	if len(m) < len(members) {
		// A member named twice: refused (decodeStd says which), since readers disagree on
		// which value counts and plugNmeet itself refuses duplicate fields.
		return nil, false
	}
	clear(members)
	d.members = d.members[:base]
	d.depth--
	return m, true
}

// array decodes an array; d.src[d.off] is '['.
func (d *fastDecoder) array() (any, bool) {
	if d.depth++; d.depth > maxFastDepth {
		return nil, false
	}
	d.off++
	base := len(d.items)
	d.skipSpace()
	if d.off < len(d.src) && d.src[d.off] == ']' {
		d.off++
		d.depth--
		return []any{}, true
	}
	for {
		val, ok := d.value()
		if !ok {
			return nil, false
		}
		d.items = append(d.items, val)
		d.skipSpace()
		if d.off >= len(d.src) {
			return nil, false
		}
		if c := d.src[d.off]; c == ',' {
			d.off++
			continue
		} else if c != ']' {
			return nil, false
		}
		d.off++
		break
	}
	items := d.items[base:]
	arr := make([]any, len(items))
	copy(arr, items)
	clear(items)
	d.items = d.items[:base]
	d.depth--
	return arr, true
}

// number decodes a number as the json.Number of its literal text.
func (d *fastDecoder) number() (any, bool) {
	s, i := d.src, d.off
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i++; i < len(s) && isDigit(s[i]); i++ {
		}
	default:
		return nil, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return nil, false
		}
		for i++; i < len(s) && isDigit(s[i]); i++ {
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return nil, false
		}
		for i++; i < len(s) && isDigit(s[i]); i++ {
		}
	}
	n := json.Number(s[d.off:i])
	d.off = i
	return n, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// str decodes a string; d.src[d.off] is '"'. A string without escapes is
// a substring of the input; one with escapes is unquoted into a new string.
func (d *fastDecoder) str() (string, bool) {
	s := d.src
	start := d.off + 1
	for i := start; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			d.off = i + 1
			return s[start:i], true
		case c == '\\':
			return d.unquote(start, i)
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			i += size
		}
	}
	return "", false
}

// unquote decodes a string with escapes: s[start:i] is its plain prefix and
// s[i] the first backslash. Escapes decode as encoding/json does, including
// its replacement of unpaired UTF-16 surrogates by U+FFFD.
func (d *fastDecoder) unquote(start, i int) (string, bool) {
	s := d.src
	var b strings.Builder // one allocation: String does not copy
	b.Grow(i - start + (len(s)-i)/2 + 8)
	b.WriteString(s[start:i])
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			d.off = i + 1
			return b.String(), true
		case c == '\\':
			if i+1 >= len(s) {
				return "", false
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b.WriteByte(e)
				i += 2
			case 'b':
				b.WriteByte('\b')
				i += 2
			case 'f':
				b.WriteByte('\f')
				i += 2
			case 'n':
				b.WriteByte('\n')
				i += 2
			case 'r':
				b.WriteByte('\r')
				i += 2
			case 't':
				b.WriteByte('\t')
				i += 2
			case 'u':
				r, ok := hex4(s, i+2)
				if !ok {
					return "", false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					// A valid pair is consumed whole; anything else leaves
					// the next escape alone and yields U+FFFD.
					if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if r2, ok := hex4(s, i+2); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								b.WriteRune(dec)
								i += 6
								break
							}
						}
					}
					r = utf8.RuneError
				}
				b.WriteRune(r)
			default:
				return "", false
			}
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			b.WriteString(s[i : i+size])
			i += size
		}
	}
	return "", false
}

// hex4 decodes the four hex digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
