package plugnmeettest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// The server decodes requests with protojson. This file is a small JSON
// parser that keeps the position of every value, so decoding errors can be
// reported the way protojson reports them: "syntax error (line L:C): ...",
// "unexpected EOF", "(line L:C): invalid value for ...".

type jkind byte

const (
	jObject jkind = iota + 1
	jArray
	jString
	jNumber
	jBool
	jNull
)

// jnode is one parsed JSON value with its byte offset in the input.
type jnode struct {
	kind jkind
	off  int
	raw  string // literal text for numbers, bools and null
	str  string // decoded string
	b    bool
	// objects
	keys    []string
	keyOffs []int
	vals    []*jnode
	// arrays
	elems []*jnode
}

// protoError is a decoding error in protojson's words (without the "proto:" prefix).
type protoError struct{ msg string }

func (e *protoError) Error() string { return e.msg }

var errUnexpectedEOF = &protoError{msg: "unexpected EOF"}

type jparser struct {
	in  []byte
	pos int
}

// position returns protojson's line and column (in runes, 1-based) of off.
func position(in []byte, off int) (int, int) {
	b := in[:off]
	line := bytes.Count(b, []byte("\n")) + 1
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return line, utf8.RuneCount(b) + 1
}

func (p *jparser) errAt(off int, format string, args ...any) error {
	line, col := position(p.in, off)
	return &protoError{msg: fmt.Sprintf("(line %d:%d): ", line, col) + fmt.Sprintf(format, args...)}
}

func (p *jparser) syntaxErr(off int) error {
	line, col := position(p.in, off)
	return &protoError{msg: fmt.Sprintf("syntax error (line %d:%d): unexpected token %s", line, col, tokenText(p.in[off:]))}
}

// tokenText returns the token starting at b, as protojson quotes it.
func tokenText(b []byte) string {
	end := 0
	for end < len(b) {
		c := b[end]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':' || c == ']' || c == '}' {
			if end == 0 {
				end = 1
			}
			break
		}
		end++
	}
	return string(b[:end])
}

// parseJSON parses one JSON value filling the whole input.
func parseJSON(in []byte) (*jnode, error) {
	p := &jparser{in: in}
	p.skipSpace()
	if p.pos >= len(in) {
		return nil, p.syntaxErr(p.pos)
	}
	n, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(in) {
		return nil, p.syntaxErr(p.pos)
	}
	return n, nil
}

func (p *jparser) skipSpace() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jparser) value() (*jnode, error) {
	p.skipSpace()
	if p.pos >= len(p.in) {
		return nil, errUnexpectedEOF
	}
	start := p.pos
	switch c := p.in[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &jnode{kind: jString, off: start, str: s, raw: string(p.in[start:p.pos])}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(p.in[p.pos:], []byte(lit)) {
				p.pos += len(lit)
				n := &jnode{kind: jBool, off: start, raw: lit, b: lit == "true"}
				if lit == "null" {
					n.kind = jNull
				}
				return n, nil
			}
			if bytes.HasPrefix([]byte(lit), p.in[p.pos:]) {
				return nil, errUnexpectedEOF
			}
		}
		return nil, p.syntaxErr(start)
	}
}

func (p *jparser) object() (*jnode, error) {
	n := &jnode{kind: jObject, off: p.pos}
	p.pos++ // {
	p.skipSpace()
	if p.pos >= len(p.in) {
		return nil, errUnexpectedEOF
	}
	if p.in[p.pos] == '}' {
		p.pos++
		return n, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.in) {
			return nil, errUnexpectedEOF
		}
		if p.in[p.pos] != '"' {
			return nil, p.syntaxErr(p.pos)
		}
		koff := p.pos
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.in) {
			return nil, errUnexpectedEOF
		}
		if p.in[p.pos] != ':' {
			return nil, p.syntaxErr(p.pos)
		}
		p.pos++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.keys = append(n.keys, k)
		n.keyOffs = append(n.keyOffs, koff)
		n.vals = append(n.vals, v)
		p.skipSpace()
		if p.pos >= len(p.in) {
			return nil, errUnexpectedEOF
		}
		switch p.in[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return n, nil
		default:
			return nil, p.syntaxErr(p.pos)
		}
	}
}

func (p *jparser) array() (*jnode, error) {
	n := &jnode{kind: jArray, off: p.pos}
	p.pos++ // [
	p.skipSpace()
	if p.pos >= len(p.in) {
		return nil, errUnexpectedEOF
	}
	if p.in[p.pos] == ']' {
		p.pos++
		return n, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.elems = append(n.elems, v)
		p.skipSpace()
		if p.pos >= len(p.in) {
			return nil, errUnexpectedEOF
		}
		switch p.in[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return n, nil
		default:
			return nil, p.syntaxErr(p.pos)
		}
	}
}

func (p *jparser) str() (string, error) {
	start := p.pos
	i := p.pos + 1
	for {
		if i >= len(p.in) {
			return "", errUnexpectedEOF
		}
		c := p.in[i]
		if c == '\\' {
			i += 2
			continue
		}
		if c < 0x20 {
			return "", p.errAt(i, "invalid character %q in string", rune(c))
		}
		if c == '"' {
			break
		}
		i++
	}
	var s string
	if err := json.Unmarshal(p.in[start:i+1], &s); err != nil {
		return "", p.syntaxErr(start)
	}
	p.pos = i + 1
	return s, nil
}

func (p *jparser) number() (*jnode, error) {
	start := p.pos
	i := p.pos
	if p.in[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(p.in) && p.in[i] >= '0' && p.in[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if digits() == 0 {
		if i >= len(p.in) {
			return nil, errUnexpectedEOF
		}
		return nil, p.syntaxErr(start)
	}
	if i < len(p.in) && p.in[i] == '.' {
		i++
		if digits() == 0 {
			return nil, p.syntaxErr(start)
		}
	}
	if i < len(p.in) && (p.in[i] == 'e' || p.in[i] == 'E') {
		i++
		if i < len(p.in) && (p.in[i] == '+' || p.in[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, p.syntaxErr(start)
		}
	}
	p.pos = i
	return &jnode{kind: jNumber, off: start, raw: string(p.in[start:i])}, nil
}
