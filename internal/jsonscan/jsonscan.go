// Package jsonscan reads JSON in one pass without building anything: the client's one-pass
// decoding of plugNmeet's answers and the worker's comparison of requested and applied settings
// use it.
//
// A Reader checks the grammar as encoding/json's scanner does, byte for byte, but has no errors
// of its own: a method returns ok false on anything malformed (and on what its doc says it
// leaves alone), and the caller then hands the input to encoding/json, which gives the result
// or the error it always gave. What a Reader accepts, it reads as encoding/json would.
package jsonscan

import (
	"bytes"
	"unicode/utf8"
)

// MaxDepth bounds the nesting a Reader follows; deeper documents are left to encoding/json
// (whose own limit is 10000).
const MaxDepth = 256

// Reader reads the JSON in a buffer from a position.
type Reader struct {
	b []byte
	i int
}

// NewReader returns a Reader at the start of b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Pos returns the position: the index of the next byte to read.
func (r *Reader) Pos() int { return r.i }

// Bytes returns the buffer.
func (r *Reader) Bytes() []byte { return r.b }

// ws skips JSON white space.
func (r *Reader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// Peek skips white space and returns the next byte, 0 at the end.
func (r *Reader) Peek() byte {
	r.ws()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// AtEnd skips white space and reports whether nothing else is left.
func (r *Reader) AtEnd() bool {
	r.ws()
	return r.i == len(r.b)
}

// Open reads the byte c ('{' or '[') after white space. It reports false, reading nothing,
// when the next byte is another.
func (r *Reader) Open(c byte) bool {
	if r.Peek() != c {
		return false
	}
	r.i++
	return true
}

// Close reads the byte c ('}' or ']') after white space when it is next: an empty object or
// array.
func (r *Reader) Close(c byte) bool { return r.Open(c) }

// Next reads what follows a member or an element: a comma (more follows) or the closing byte
// close (done). ok is false for anything else.
func (r *Reader) Next(close byte) (more, ok bool) {
	switch r.Peek() {
	case ',':
		r.i++
		return true, true
	case close:
		r.i++
		return false, true
	}
	return false, false
}

// quiet marks the bytes a string token holds as they are: not '"', '\\', a control character
// or part of a multi-byte character.
var quiet = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Str reads a string token after white space and returns its content (the bytes between
// the quotes, as they are). esc says whether it has an escape, high whether it has a byte >=
// 0x80; without either the content is the string's value.
func (r *Reader) Str() (content []byte, esc, high, ok bool) {
	if r.Peek() != '"' {
		return nil, false, false, false
	}
	b := r.b
	i := r.i + 1
	for {
		for i < len(b) && quiet[b[i]] {
			i++
		}
		if i >= len(b) {
			return nil, false, false, false
		}
		switch c := b[i]; {
		case c == '"':
			content = b[r.i+1 : i]
			r.i = i + 1
			return content, esc, high, true
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return nil, false, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return nil, false, false, false
				}
				i += 6
			default:
				return nil, false, false, false
			}
		case c < 0x20:
			return nil, false, false, false
		default:
			high = true
			i++
		}
	}
}

// Text reads a string token and returns its value: the content itself when that is the value
// (no escape, valid UTF-8), else a fresh copy unquoted as by Unquote.
func (r *Reader) Text() ([]byte, bool) {
	start := r.i
	content, esc, high, ok := r.Str()
	if !ok {
		return nil, false
	}
	if !esc && (!high || utf8.Valid(content)) {
		return content, true
	}
	r.i = start
	return r.Unquote(make([]byte, 0, len(content)))
}

// Unquote reads a string token after white space, checking it as Str does, and appends its
// value to dst as encoding/json unquotes it, in the same pass. ok is false for a malformed
// token, and for a surrogate escape or invalid UTF-8: encoding/json's replacing those with
// U+FFFD is left to it.
func (r *Reader) Unquote(dst []byte) ([]byte, bool) {
	if r.Peek() != '"' {
		return nil, false
	}
	b := r.b
	i := r.i + 1
	for {
		j := i
		for j < len(b) && quiet[b[j]] {
			j++
		}
		dst = append(dst, b[i:j]...)
		if j >= len(b) {
			return nil, false
		}
		switch c := b[j]; {
		case c == '"':
			r.i = j + 1
			return dst, true
		case c == '\\':
			if j+1 >= len(b) {
				return nil, false
			}
			switch e := b[j+1]; e {
			case 'u':
				if j+6 > len(b) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) || !isHex(b[j+5]) {
					return nil, false
				}
				ru := hexValue(b[j+2 : j+6])
				if utf8.RuneLen(ru) < 0 { // a surrogate half
					return nil, false
				}
				dst = utf8.AppendRune(dst, ru)
				i = j + 6
				continue
			case '"', '\\', '/':
				dst = append(dst, e)
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			default:
				return nil, false
			}
			i = j + 2
		case c < 0x20:
			return nil, false
		default:
			ru, n := utf8.DecodeRune(b[j:])
			if ru == utf8.RuneError && n == 1 {
				return nil, false
			}
			dst = append(dst, b[j:j+n]...)
			i = j + n
		}
	}
}

// StringLen returns, for a string token next after white space, the length of its content when
// it is well-formed: an upper bound of its value's length, to size Unquote's buffer. It finds
// the closing quote with bytes.IndexByte, fast on long strings.
func (r *Reader) StringLen() int {
	if r.Peek() != '"' {
		return 0
	}
	b, i := r.b, r.i
	for j := i + 1; j < len(b); {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			break
		}
		j += k
		n := 0 // backslashes before the quote
		for n < j-i-1 && b[j-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return j - i - 1
		}
		j++
	}
	return len(b) - i
}

// Key reads an object key and the colon after it; see Str.
func (r *Reader) Key() (content []byte, esc, high, ok bool) {
	content, esc, high, ok = r.Str()
	if !ok || r.Peek() != ':' {
		return nil, false, false, false
	}
	r.i++
	return content, esc, high, true
}

// Token reads a number or a literal (true, false, null) after white space and returns it.
func (r *Reader) Token() ([]byte, bool) {
	r.ws()
	start := r.i
	if start < len(r.b) {
		lit := ""
		switch r.b[start] {
		case 't':
			lit = "true"
		case 'f':
			lit = "false"
		case 'n':
			lit = "null"
		}
		if lit != "" {
			if len(r.b)-start < len(lit) || string(r.b[start:start+len(lit)]) != lit {
				return nil, false
			}
			r.i += len(lit)
			return r.b[start:r.i], true
		}
	}
	end, ok := numberEnd(r.b, start)
	if !ok {
		return nil, false
	}
	r.i = end
	return r.b[start:end], true
}

// Skip reads any value after white space, depth being the nesting it is at.
func (r *Reader) Skip(depth int) bool {
	switch r.Peek() {
	case '{':
		if depth >= MaxDepth {
			return false
		}
		r.i++
		if r.Close('}') {
			return true
		}
		for {
			if _, _, _, ok := r.Key(); !ok || !r.Skip(depth+1) {
				return false
			}
			if more, ok := r.Next('}'); !ok || !more {
				return ok
			}
		}
	case '[':
		if depth >= MaxDepth {
			return false
		}
		r.i++
		if r.Close(']') {
			return true
		}
		for {
			if !r.Skip(depth + 1) {
				return false
			}
			if more, ok := r.Next(']'); !ok || !more {
				return ok
			}
		}
	case '"':
		_, _, _, ok := r.Str()
		return ok
	}
	_, ok := r.Token()
	return ok
}

// numberEnd returns where the number at b[i:] ends, and false when there is none:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexValue(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// CompactObject appends to out the JSON object src holds, without insignificant white space
// (as json.Compact writes it), and reports false unless src is exactly one well-formed object,
// white space around it allowed. out may be src[:0]: the object is then compacted in place.
func CompactObject(out, src []byte) ([]byte, bool) {
	c := compactor{Reader: Reader{b: src}, out: out}
	if c.Peek() != '{' || !c.value(0) || !c.AtEnd() {
		return nil, false
	}
	return c.out, true
}

// compactor copies what it reads to out, white space left out. out never grows past what has
// been read, so it may share src's array.
type compactor struct {
	Reader
	out []byte
}

// punct copies the byte want when it is next.
func (c *compactor) punct(want byte) bool {
	if c.Peek() != want {
		return false
	}
	c.out = append(c.out, want)
	c.i++
	return true
}

func (c *compactor) value(depth int) bool {
	switch c.Peek() {
	case '{':
		if depth >= MaxDepth {
			return false
		}
		c.punct('{')
		if c.punct('}') {
			return true
		}
		for {
			if !c.str() || !c.punct(':') || !c.value(depth+1) {
				return false
			}
			if c.punct('}') {
				return true
			}
			if !c.punct(',') {
				return false
			}
		}
	case '[':
		if depth >= MaxDepth {
			return false
		}
		c.punct('[')
		if c.punct(']') {
			return true
		}
		for {
			if !c.value(depth + 1) {
				return false
			}
			if c.punct(']') {
				return true
			}
			if !c.punct(',') {
				return false
			}
		}
	case '"':
		return c.str()
	}
	start := c.i
	if _, ok := c.Token(); !ok {
		return false
	}
	c.out = append(c.out, c.b[start:c.i]...)
	return true
}

func (c *compactor) str() bool {
	if c.Peek() != '"' {
		return false
	}
	start := c.i
	if _, _, _, ok := c.Str(); !ok {
		return false
	}
	c.out = append(c.out, c.b[start:c.i]...)
	return true
}
