package events

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// MaxAttributes bounds the number of context attributes and extensions read
// from one message.
const MaxAttributes = 64

// validName reports whether s is a valid CloudEvents attribute name:
// lowercase ASCII letters and digits, at least one.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// reservedNames may not be used as extension names: the v1.0 context
// attributes and the JSON format's data members.
var reservedNames = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true, "subject": true,
	"time": true, "datacontenttype": true, "dataschema": true, "data": true,
}

// checkString reports what makes s unacceptable as a CloudEvents String:
// invalid UTF-8, control characters (U+0000-U+001F, U+007F-U+009F) or
// Unicode noncharacters. It returns "" when s is acceptable.
func checkString(s string) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return "is not valid UTF-8"
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return fmt.Sprintf("contains control character U+%04X", r)
		case (r >= 0xfdd0 && r <= 0xfdef) || r&0xfffe == 0xfffe:
			return fmt.Sprintf("contains Unicode noncharacter U+%04X", r)
		}
		i += size
	}
	return ""
}

// blank reports whether the value of a required String attribute (id,
// source, type) counts as missing.
func blank(v string) bool { return strings.TrimSpace(v) == "" }

// isJSONMediaType reports whether data with this datacontenttype is JSON
// ("" counts as JSON, as in the JSON event format).
func isJSONMediaType(ct string) bool {
	mt := ct
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "" || mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// validateEvent checks e against the CloudEvents 1.0 rules roomworker
// enforces, naming attributes through name (header or JSON member).
func validateEvent(e *event.Event, name func(string) string, p *problems) {
	if e == nil || e.Context == nil {
		p.add("", "event has no context attributes")
		return
	}
	if sv := e.SpecVersion(); sv != event.CloudEventsVersionV1 {
		p.add("specversion", fmt.Sprintf("%s: specversion %s is not supported (want \"1.0\")", name("specversion"), quote(sv)))
		return
	}
	str := func(attr, v string) {
		if msg := checkString(v); msg != "" {
			p.add(attr, name(attr)+": value "+msg)
		}
	}
	required := func(attr, v string) {
		if blank(v) {
			p.add(attr, fmt.Sprintf("missing required attribute %s (%s)", attr, name(attr)))
			return
		}
		str(attr, v)
	}
	required("id", e.ID())
	required("source", e.Source())
	required("type", e.Type())
	if s := e.Context.GetSubject(); s != "" {
		str("subject", s)
	}
	if ct := e.DataContentType(); ct != "" {
		str("datacontenttype", ct)
	}
	if ds := e.DataSchema(); ds != "" {
		str("dataschema", ds)
	}
	if t := e.Time(); !t.IsZero() {
		if y := t.UTC().Year(); y < 0 || y > 9999 {
			p.add("time", name("time")+": time is outside years 0000-9999 once converted to UTC")
		}
	}
	exts := e.Extensions()
	if len(exts) > MaxAttributes {
		p.add("", fmt.Sprintf("%d extensions, more than the %d allowed", len(exts), MaxAttributes))
	}
	for k, v := range exts {
		if !validName(k) || reservedNames[k] {
			p.add("", fmt.Sprintf("invalid extension name %s: must be lowercase ASCII letters and digits and not a reserved attribute", quote(k)))
			continue
		}
		s, err := types.Format(v)
		if err != nil {
			p.add(k, fmt.Sprintf("%s: %v", name(k), err))
			continue
		}
		str(k, s)
	}
	// The SDK's own checks (datacontenttype is a media type, dataschema an
	// absolute URI, subject not blank, ...) for what is not covered above.
	if err := e.Validate(); err != nil {
		if ve, ok := err.(event.ValidationError); ok {
			keys := make([]string, 0, len(ve))
			for k := range ve {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if k == "id" || k == "source" || k == "type" {
					continue // reported above
				}
				p.add(k, fmt.Sprintf("%s: %v", name(k), ve[k]))
			}
		} else {
			p.add("", err.Error())
		}
	}
}
