package schema

import (
	"encoding/json"
	"math/big"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/roomworker/roomworker/schema/internal/jsonschemautil"
)

// This file holds what the generated validators (*_validate_gen.go, written
// by internal/validatorgen from the schema files) call at run time. Each
// helper does what santhosh-tekuri/jsonschema/v6 does for the same keyword,
// and words its error as errors.go does for that library's error, so the
// generated code and the library agree on every request
// (FuzzGeneratedMatchesOracle checks it).
//
// The helpers only allocate to report a problem: a valid request costs no
// allocation beyond what net/url.Parse takes for a "format": "uri" string and
// what math/big takes for a number that is not a plain integer of at most 18
// digits.

// genLoc is the location of the value being validated: a member key or an
// array index below its parent; nil is the document itself. Locations live on
// the stack of the generated functions and become a JSON Pointer only when a
// problem is reported.
type genLoc struct {
	up    *genLoc
	key   string
	index int
	elem  bool // index, not key, names the value
}

// pointer renders the location as a JSON Pointer, "" for the document. It
// keeps no reference to l, so locations can stay on the stack.
func (l *genLoc) pointer() string {
	n := 0
	for p := l; p != nil; p = p.up {
		n += 1 + len(p.token())
	}
	b := make([]byte, n)
	for p := l; p != nil; p = p.up {
		t := p.token()
		n -= len(t)
		copy(b[n:], t)
		n--
		b[n] = '/'
	}
	return string(b)
}

// token is the escaped reference token of the location's last step.
func (l *genLoc) token() string {
	if l.elem {
		return strconv.Itoa(l.index)
	}
	return jsonschemautil.EscapeToken(l.key)
}

// genCollector gathers the problems found in one document. A quiet collector
// (used for the subschema of "not") only counts them.
type genCollector struct {
	errs  []FieldError
	n     int
	quiet bool
}

// add reports msg for the value at at.
func (c *genCollector) add(at *genLoc, msg string) {
	c.n++
	if !c.quiet {
		c.errs = append(c.errs, FieldError{Path: at.pointer(), Message: msg})
	}
}

// addMember reports msg for the member name of the object at at, which may
// be missing.
func (c *genCollector) addMember(at *genLoc, name, msg string) {
	c.n++
	if !c.quiet {
		c.errs = append(c.errs, FieldError{Path: at.pointer() + "/" + jsonschemautil.EscapeToken(name), Message: msg})
	}
}

// typeError reports a value v at at that is none of the types want describes
// (e.g. "an object", "a string or null"); integer says whether an integer
// is among them.
func (c *genCollector) typeError(at *genLoc, v any, want string, integer bool) {
	c.n++
	if c.quiet {
		return
	}
	got := genTypeName(v)
	if got == "a number" && integer {
		got = "a fractional number"
	}
	msg := "must be " + want + ", not " + got
	if at == nil {
		msg = "the request " + msg // e.g. "the request must be an object, not an array"
	}
	c.errs = append(c.errs, FieldError{Path: at.pointer(), Message: msg})
}

// minLength reports a string of n characters, shorter than want.
func (c *genCollector) minLength(at *genLoc, want, n int) {
	switch {
	case c.quiet:
		c.n++
	case want == 1:
		c.add(at, "must not be empty")
	default:
		c.add(at, "must be at least "+strconv.Itoa(want)+" characters long (it has "+strconv.Itoa(n)+")")
	}
}

// maxLength reports a string of n characters, longer than want.
func (c *genCollector) maxLength(at *genLoc, want, n int) {
	if c.quiet {
		c.n++
		return
	}
	c.add(at, "must be at most "+strconv.Itoa(want)+" characters long (it has "+strconv.Itoa(n)+")")
}

// unknown reports the member name of the object at at, which its schema does
// not allow, suggesting the closest of the declared property names.
func (c *genCollector) unknown(at *genLoc, name string, declared []string) {
	c.n++
	if c.quiet {
		return
	}
	msg := "unknown property"
	if s := suggest(name, declared); s != "" {
		msg += " (did you mean " + strconv.Quote(s) + "?)"
	}
	c.errs = append(c.errs, FieldError{Path: at.pointer() + "/" + jsonschemautil.EscapeToken(name), Message: msg})
}

// result returns the problems sorted by path and message, without
// duplicates, as [Validator.fieldErrors] does; nil when there are none.
func (c *genCollector) result() []FieldError {
	if len(c.errs) == 0 {
		return nil
	}
	return sortFieldErrors(c.errs)
}

// genTypeName names the JSON type of a decoded value with its article, as
// the library's type error names it ("a number" for every json.Number).
func genTypeName(v any) string {
	if name, ok := jsonschemautil.TypeName(v); ok {
		return name
	}
	return "an invalid JSON value"
}

// genIsInteger reports whether the number n (the text of a JSON number) is
// a whole number, as the library decides it: 1.0 and 1e2 are; a number whose
// exponent math/big refuses (beyond about a million) is not.
func genIsInteger(n json.Number) bool {
	if genPlainDigits(string(n)) {
		return true
	}
	r, ok := new(big.Rat).SetString(string(n))
	return ok && r.IsInt()
}

// genPlainDigits reports whether s is an optional minus sign and digits.
func genPlainDigits(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// genPlainInt returns the value of s when it is an optional minus sign and at
// most 18 digits, which always fits an int64.
func genPlainInt(s string) (int64, bool) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var x int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		x = x*10 + int64(c-'0')
	}
	if neg {
		x = -x
	}
	return x, true
}

// genBound is a minimum or maximum of the schema.
type genBound struct {
	rat *big.Rat
	// small is the bound when it is a whole number of at most 18 digits;
	// otherwise sign is the bound's sign when it is a whole number that
	// large (beyond every plain int of 18 digits), and 0 when it is a
	// fraction.
	small    int64
	hasSmall bool
	sign     int
}

// genNewBound parses a bound of the schema (the text of a JSON number).
func genNewBound(s string) *genBound {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("schema: generated bound " + s + " is not a number")
	}
	b := &genBound{rat: r}
	if r.IsInt() {
		if r.Num().IsInt64() && r.Num().CmpAbs(big.NewInt(999_999_999_999_999_999)) <= 0 {
			b.small, b.hasSmall = r.Num().Int64(), true
		} else {
			b.sign = r.Sign()
		}
	}
	return b
}

// genCompare compares the number n (the text of a JSON number that
// genIsInteger accepts) with the bound b: -1, 0 or +1, exactly as math/big
// compares them.
func genCompare(n json.Number, b *genBound) int {
	if x, ok := genPlainInt(string(n)); ok {
		switch {
		case b.hasSmall:
			switch {
			case x < b.small:
				return -1
			case x > b.small:
				return 1
			}
			return 0
		case b.sign != 0:
			// |x| < 10^18 <= |bound|
			return -b.sign
		}
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		panic("schema: generated validator compares a number math/big cannot read: " + string(n))
	}
	return r.Cmp(b.rat)
}

// genIsURI reports whether s passes the library's "uri" format: net/url
// parses it, it is absolute, and a host name with a colon is a bracketed
// IPv6 address without a zone.
func genIsURI(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	if host := u.Hostname(); strings.Contains(host, ":") {
		if !strings.Contains(u.Host, "[") || !strings.Contains(u.Host, "]") {
			return false
		}
		addr, err := netip.ParseAddr(host)
		if err != nil || addr.Zone() != "" {
			return false
		}
	}
	return u.IsAbs()
}

// JSON types, as bits of the mask genHasType takes.
const (
	genNull = 1 << iota
	genBoolean
	genNumber
	genInteger
	genString
	genArray
	genObject
)

// genHasType reports whether v has one of the JSON types in mask, an
// integer being a number that genIsInteger accepts.
func genHasType(v any, mask int) bool {
	switch x := v.(type) {
	case nil:
		return mask&genNull != 0
	case bool:
		return mask&genBoolean != 0
	case json.Number:
		return mask&genNumber != 0 || (mask&genInteger != 0 && genIsInteger(x))
	case string:
		return mask&genString != 0
	case []any:
		return mask&genArray != 0
	case map[string]any:
		return mask&genObject != 0
	}
	return false
}
