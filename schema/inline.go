package schema

import "github.com/roomworker/roomworker/schema/internal/jsonschemautil"

// inlineRefs returns a copy of the schema document in which each local
// reference {"$ref": "#/$defs/NAME"} that stands alone (next to a title or
// description at most) is replaced by a copy of the definition, with the
// reference's own title and description kept.
//
// That changes nothing a request can observe: such a subschema applies
// exactly the definition's keywords, and additionalProperties only looks at
// properties declared in the same object, which is still the definition's.
// It saves the validator a whole extra pass, with its allocations, for
// every reference it follows. The definitions' errorMessage annotations
// travel with their copies, so the messages stay the same.
//
// A reference next to any validating keyword, to anything but a definition,
// or inside a chain of definitions that refers back to itself stays as is.
func inlineRefs(doc any) any {
	root, ok := doc.(map[string]any)
	if !ok {
		return doc
	}
	defs, _ := root["$defs"].(map[string]any)
	return inlineNode(doc, defs, map[string]bool{})
}

// inlineNode copies node, inlining references; expanding names the
// definitions being inlined around node, to stop at a cycle.
func inlineNode(node any, defs map[string]any, expanding map[string]bool) any {
	switch n := node.(type) {
	case map[string]any:
		if name, ok := inlinableRef(n, defs); ok && !expanding[name] {
			expanding[name] = true
			def := inlineNode(defs[name], defs, expanding).(map[string]any)
			delete(expanding, name)
			for _, kw := range []string{"title", "description"} {
				if v, ok := n[kw]; ok {
					def[kw] = v
				}
			}
			return def
		}
		out := make(map[string]any, len(n))
		for key, child := range n {
			if jsonschemautil.HoldsValues(key) {
				out[key] = child // values, not subschemas
			} else {
				out[key] = inlineNode(child, defs, expanding)
			}
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, child := range n {
			out[i] = inlineNode(child, defs, expanding)
		}
		return out
	}
	return node
}

// inlinableRef reports whether schema is a reference to a definition with
// nothing else beside it but a title or description, and names it.
func inlinableRef(schema map[string]any, defs map[string]any) (string, bool) {
	name, ok := jsonschemautil.DefName(schema["$ref"])
	if !ok {
		return "", false
	}
	if def, ok := defs[name].(map[string]any); !ok || jsonschemautil.HasIdentifier(def) {
		return "", false // a copy of an identifier would clash with the original
	}
	if _, beside := jsonschemautil.BesideRef(schema); beside {
		return "", false
	}
	return name, true
}
