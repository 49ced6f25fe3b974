package schema

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/roomworker/roomworker/schema/internal/jsonschemautil"
)

// ErrInvalid matches every [*Error] with errors.Is: the request breaks the
// schema (or is not JSON at all), so sending it again cannot succeed.
var ErrInvalid = errors.New("invalid create-room request")

// FieldError is one problem with a request.
type FieldError struct {
	// Path is the JSON Pointer (RFC 6901) of the offending value; for a
	// missing property, the pointer the property would have; "" is the
	// whole document.
	Path string `json:"path"`
	// Message says in plain words what is wrong, e.g. "is required".
	Message string `json:"message"`
}

// String renders the error as "path: message", the root path as "(root)".
func (f FieldError) String() string {
	p := f.Path
	if p == "" {
		p = "(root)"
	}
	return p + ": " + f.Message
}

// Error reports every problem found in one request, sorted by Path.
type Error struct {
	Errors []FieldError
}

// Error summarises the problems: the first one and how many others follow.
func (e *Error) Error() string {
	switch len(e.Errors) {
	case 0:
		return ErrInvalid.Error()
	case 1:
		return fmt.Sprintf("%v: %s", ErrInvalid, e.Errors[0])
	default:
		return fmt.Sprintf("%v: %s (and %d more)", ErrInvalid, e.Errors[0], len(e.Errors)-1)
	}
}

// Is reports whether target is [ErrInvalid].
func (e *Error) Is(target error) bool {
	return target == ErrInvalid
}

// fieldErrors flattens a validation error tree into its leaf errors, each
// with a plain-words message, sorted by path and without duplicates.
func (v *Validator) fieldErrors(verr *jsonschema.ValidationError) []FieldError {
	var out []FieldError
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		out = append(out, v.leafErrors(e)...)
	}
	walk(verr)
	return sortFieldErrors(out)
}

// sortFieldErrors sorts problems by path, then message, and drops repeats.
func sortFieldErrors(out []FieldError) []FieldError {
	slices.SortStableFunc(out, func(a, b FieldError) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return slices.Compact(out)
}

// leafErrors turns one leaf validation error into field errors; a single
// "required" or "additionalProperties" error names several properties and
// becomes one field error per property.
func (v *Validator) leafErrors(e *jsonschema.ValidationError) []FieldError {
	path := pointer(e.InstanceLocation)
	schemaPtr := schemaPointer(e.SchemaURL)
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		out := make([]FieldError, 0, len(k.Missing))
		for _, name := range k.Missing {
			out = append(out, FieldError{Path: path + "/" + jsonschemautil.EscapeToken(name), Message: "is required"})
		}
		return out
	case *kind.AdditionalProperties:
		out := make([]FieldError, 0, len(k.Properties))
		for _, name := range k.Properties {
			msg := "unknown property"
			if s := suggest(name, v.properties[schemaPtr]); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			out = append(out, FieldError{Path: path + "/" + jsonschemautil.EscapeToken(name), Message: msg})
		}
		return out
	}
	msg := v.message(e.ErrorKind, schemaPtr)
	if _, ok := e.ErrorKind.(*kind.Type); ok && path == "" {
		msg = "the request " + msg // e.g. "the request must be an object, not an array"
	}
	return []FieldError{{Path: path, Message: msg}}
}

// message returns the plain-words message for one error kind raised by the
// subschema at schemaPtr.
func (v *Validator) message(k jsonschema.ErrorKind, schemaPtr string) string {
	custom := v.messages[schemaPtr]
	switch k := k.(type) {
	case *kind.Type:
		return typeMessage(k)
	case *kind.MinLength:
		if k.Want == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must be at least %d characters long (it has %d)", k.Want, k.Got)
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d characters long (it has %d)", k.Want, k.Got)
	case *kind.Minimum:
		return "must be at least " + jsonschemautil.RatString(k.Want)
	case *kind.Maximum:
		return "must be at most " + jsonschemautil.RatString(k.Want)
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprintf("%q", fmt.Sprint(w))
		}
		if len(want) == 1 {
			return "must be " + want[0]
		}
		return "must be one of " + strings.Join(want, ", ")
	case *kind.Pattern:
		if m, ok := custom["pattern"]; ok {
			return m
		}
		return "has an invalid format"
	case *kind.Format:
		if m, ok := custom["format"]; ok {
			return m
		}
		return "is not a valid " + k.Want
	case *kind.Not:
		if m, ok := custom["not"]; ok {
			return m
		}
		return "is not allowed"
	case *kind.FalseSchema:
		return "is not allowed"
	}
	// Kinds the create-room schema does not use: the library's wording.
	return k.LocalizedString(message.NewPrinter(language.English))
}

// typeMessage words a wrong-type error, e.g. "must be an integer, not a string".
func typeMessage(k *kind.Type) string {
	want := make([]string, len(k.Want))
	for i, w := range k.Want {
		want[i] = jsonschemautil.WithArticle(w)
	}
	got := jsonschemautil.WithArticle(k.Got)
	if k.Got == "number" && slices.Contains(k.Want, "integer") {
		got = "a fractional number"
	}
	return fmt.Sprintf("must be %s, not %s", strings.Join(want, " or "), got)
}

// pointer renders instance location tokens as a JSON Pointer.
func pointer(tokens []string) string {
	if len(tokens) == 0 {
		return ""
	}
	var sb strings.Builder
	for _, t := range tokens {
		sb.WriteByte('/')
		sb.WriteString(jsonschemautil.EscapeToken(t))
	}
	return sb.String()
}

// schemaPointer returns the JSON Pointer inside the schema document of a
// compiled subschema location ("<$id>#<pointer>").
func schemaPointer(loc string) string {
	_, frag, ok := strings.Cut(loc, "#")
	if !ok {
		return ""
	}
	if p, err := url.PathUnescape(frag); err == nil {
		return p
	}
	return frag
}

// suggest returns the declared property closest to name when it is close
// enough to be a likely typo, or "".
func suggest(name string, declared []string) string {
	best, bestDist := "", 3 // suggest only within an edit distance of 2
	for _, d := range declared {
		if dist := editDistance(strings.ToLower(name), d); dist < bestDist || (dist == bestDist && d < best) {
			best, bestDist = d, dist
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein (optimal string alignment)
// distance between a and b, counted in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30 // property names are short; don't spend time on long keys
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
