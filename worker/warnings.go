package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/roomworker/roomworker/events"
)

// appliedWarnings compares the metadata a request asked for (decoded, numbers as json.Number)
// with the metadata plugNmeet applied
// (room_info.metadata) and returns one warning per requested setting that came back different.
//
// Every leaf of the requested metadata is compared with the value at the same path in the applied
// metadata. A leaf missing from the applied metadata counts as its zero value (protojson leaves
// unset optional fields out), and a 64-bit integer sent back as a string equals the same number.
// Paths are JSON Pointers from the request root (/metadata/room_features/allow_webcams).
func appliedWarnings(req any, appliedMetadata json.RawMessage) ([]events.Warning, error) {
	if len(appliedMetadata) == 0 || req == nil {
		return nil, nil
	}
	var applied any
	if err := decodeNumbers(appliedMetadata, &applied); err != nil {
		return nil, fmt.Errorf("applied metadata: %w", err)
	}
	var out []events.Warning
	compareTree("/metadata", req, applied, true, &out)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func decodeNumbers(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

func compareTree(path string, req, applied any, present bool, out *[]events.Warning) {
	if obj, ok := req.(map[string]any); ok {
		appliedObj, _ := applied.(map[string]any)
		for k, v := range obj {
			av, ok := appliedObj[k]
			compareTree(path+"/"+escapePointer(k), v, av, ok, out)
		}
		return
	}
	if !present {
		applied = nil
	}
	if !sameValue(req, applied) {
		*out = append(*out, events.Warning{Path: path, Requested: req, Applied: applied})
	}
}

// sameValue reports whether a requested leaf and its applied counterpart mean the same.
func sameValue(req, applied any) bool {
	if applied == nil {
		return isZero(req)
	}
	switch r := req.(type) {
	case json.Number:
		return numberString(applied) == r.String()
	case string, bool:
		return r == applied
	case []any:
		a, ok := applied.([]any)
		if !ok || len(a) != len(r) {
			return len(r) == 0 && !ok
		}
		for i := range r {
			if !sameValue(r[i], a[i]) {
				return false
			}
		}
		return true
	case nil:
		return isZero(applied)
	}
	return false
}

func numberString(v any) string {
	switch a := v.(type) {
	case json.Number:
		return a.String()
	case string:
		if _, err := strconv.ParseFloat(a, 64); err == nil {
			return a
		}
	}
	return "\x00not a number"
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case json.Number:
		f, err := x.Float64()
		return err == nil && f == 0
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
