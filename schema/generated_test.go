package schema

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/roomworker/roomworker/schema/internal/validatorgen"
)

// The create-room hot path validates with create_room_validate_gen.go, which
// internal/validatorgen writes from the schema file. The tests below hold it
// to santhosh-tekuri/jsonschema/v6 compiling the same file (the oracle): same
// verdict, same problems, same paths and words, in the same order.

// generated is a generated validator with its oracle: the library
// compiling the schema file it was generated from.
type generated struct {
	name     string
	validate func(doc any) []FieldError
	oracle   func() (*Validator, error)
	schema   []byte
	// trees returns the documents to mutate; bases, the first few of them,
	// take the edge values.
	trees func(t testing.TB) []any
	bases int
}

var (
	createRoomGen = &generated{
		name:     "create-room",
		validate: validateCreateRoom,
		oracle:   sync.OnceValues(newLibraryValidator),
		schema:   schemaJSON,
		trees:    corpusTrees,
		bases:    1,
	}
	// kitchenSinkGen checks the constructs of the generator the create-room
	// schema does not use.
	kitchenSinkGen = &generated{
		name:     "kitchen-sink",
		validate: validateKitchenSink,
		oracle: sync.OnceValues(func() (*Validator, error) {
			src, err := os.ReadFile(kitchenSinkSchema)
			if err != nil {
				return nil, err
			}
			var doc struct {
				ID string `json:"$id"`
			}
			if err := json.Unmarshal(src, &doc); err != nil {
				return nil, err
			}
			return newValidator(src, doc.ID)
		}),
		schema: mustRead(kitchenSinkSchema),
		trees: func(t testing.TB) []any {
			var trees []any
			for _, file := range []string{"kitchen-sink-valid.json", "kitchen-sink-big.json"} {
				doc, ferr := decode(mustRead("internal/validatorgen/testdata/" + file))
				if ferr != nil {
					t.Fatal(file, ferr)
				}
				trees = append(trees, doc)
			}
			return trees
		},
		bases: 2,
	}
	generatedValidators = []*generated{createRoomGen, kitchenSinkGen}
)

// newLibraryValidator compiles the embedded create-room schema with
// santhosh-tekuri/jsonschema/v6, as New did before the generated code.
func newLibraryValidator() (*Validator, error) { return newValidator(schemaJSON, schemaURL) }

const kitchenSinkSchema = "internal/validatorgen/testdata/kitchen-sink.schema.json"

func mustRead(file string) []byte {
	b, err := os.ReadFile(file)
	if err != nil {
		panic(err)
	}
	return b
}

func TestGeneratedValidatorIsUpToDate(t *testing.T) {
	if len(validatorgen.Targets) != len(generatedValidators) {
		t.Errorf("%d generated validators, %d of them tested against the library", len(validatorgen.Targets), len(generatedValidators))
	}
	for _, target := range validatorgen.Targets {
		src, err := os.ReadFile(target.Schema)
		if err != nil {
			t.Fatal(err)
		}
		want, err := validatorgen.Generate(src, target.Options)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(target.Output)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date with %s: run go generate ./schema", target.Output, target.Schema)
		}
	}
	if target := validatorgen.Targets[0]; target.Schema != "create-room.schema.json" || !bytes.Equal(mustRead(target.Schema), schemaJSON) {
		t.Errorf("the create-room validator is generated from %s, not from the embedded schema", target.Schema)
	}
}

// TestProductionPathIsGenerated guards against the create-room path falling
// back to the library.
func TestProductionPathIsGenerated(t *testing.T) {
	if defaultValidator.generated == nil || defaultValidator.schema != nil {
		t.Fatal("Validate and Parse do not use the generated validator")
	}
	v, err := New()
	if err != nil || v.generated == nil || v.schema != nil {
		t.Fatalf("New() = %+v, %v; want the generated validator", v, err)
	}
}

// agree fails t when the generated validator and its oracle disagree on doc
// (a decoded document).
func (g *generated) agree(t *testing.T, doc any) {
	t.Helper()
	o, err := g.oracle()
	if err != nil {
		t.Fatal(err)
	}
	want, err := problems(o.validateDoc(doc))
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	got := g.validate(doc)
	if !slices.Equal(got, want) {
		b, _ := json.Marshal(doc)
		t.Fatalf("generated %s validator and jsonschema/v6 disagree on %s\ngenerated:\n%soracle:\n%s", g.name, b, lines(got), lines(want))
	}
}

// agreeOnBytes fails t when Validate and the oracle disagree on a request.
func agreeOnBytes(t *testing.T, data []byte) {
	t.Helper()
	o, err := createRoomGen.oracle()
	if err != nil {
		t.Fatal(err)
	}
	want, err := problems(o.Validate(data))
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	got, err := problems(Validate(data))
	if err != nil {
		t.Fatalf("generated: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Validate and jsonschema/v6 disagree on %q\ngenerated:\n%soracle:\n%s", data, lines(got), lines(want))
	}
	if doc, ferr := decode(data); ferr == nil {
		createRoomGen.agree(t, doc)
		kitchenSinkGen.agree(t, doc)
	}
}

// problems returns the field errors of a validation result, nil for nil.
func problems(err error) ([]FieldError, error) {
	if err == nil {
		return nil, nil
	}
	var verr *Error
	if !errors.As(err, &verr) {
		return nil, fmt.Errorf("error is %T (%v), want *schema.Error", err, err)
	}
	if len(verr.Errors) == 0 {
		return nil, errors.New("*Error without field errors")
	}
	return verr.Errors, nil
}

func lines(errs []FieldError) string {
	if errs == nil {
		return "  (valid)\n"
	}
	var sb strings.Builder
	for _, fe := range errs {
		fmt.Fprintf(&sb, "  %s\n", fe)
	}
	return sb.String()
}

// corpus returns every request of testdata and ../examples.
func corpus(t testing.TB) map[string][]byte {
	var files []string
	for _, glob := range []string{"testdata/valid/*.json", "testdata/invalid/*.json", "../examples/*.json"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 60 {
		t.Fatalf("found %d requests, want at least 60", len(files))
	}
	out := make(map[string][]byte, len(files))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		out[file] = data
	}
	return out
}

// TestGeneratedMatchesOracle runs every testdata request through both.
func TestGeneratedMatchesOracle(t *testing.T) {
	c := corpus(t)
	invalid := 0
	for _, file := range sortedNames(c) {
		t.Run(file, func(t *testing.T) {
			agreeOnBytes(t, c[file])
			if Validate(c[file]) != nil {
				invalid++
			}
		})
	}
	if invalid < 50 || invalid == len(c) {
		t.Errorf("%d of %d requests invalid: the corpus lost its valid or its invalid cases", invalid, len(c))
	}
	for _, g := range generatedValidators {
		trees := g.trees(t)
		if errs := g.validate(trees[0]); errs != nil {
			t.Errorf("%s: the first document to mutate is invalid:\n%s", g.name, lines(errs))
		}
		for _, doc := range trees {
			g.agree(t, doc)
		}
	}
}

// TestGeneratedMatchesOracleOnEdges checks hand-picked values at every place
// of the documents to mutate, and hand-picked keys in each of their objects.
func TestGeneratedMatchesOracleOnEdges(t *testing.T) {
	for _, g := range generatedValidators {
		t.Run(g.name, func(t *testing.T) {
			for _, base := range g.trees(t)[:g.bases] {
				for _, path := range leafPaths(base) {
					for _, v := range edgeValues {
						doc := deepCopy(base)
						set(doc, path, deepCopy(v))
						g.agree(t, doc)
					}
				}
				for _, obj := range objectPaths(base) {
					for _, key := range append(edgeKeys(), knownNames(g.schema)...) {
						doc := deepCopy(base)
						set(doc, append(slices.Clone(obj), key), "x")
						g.agree(t, doc)
					}
					for _, key := range sortedNames(get(base, obj).(map[string]any)) {
						doc := deepCopy(base)
						delete(get(doc, obj).(map[string]any), key)
						g.agree(t, doc)
					}
				}
			}
			for _, v := range edgeValues {
				g.agree(t, v)
			}
		})
	}
}

// TestGeneratedMatchesOracleMutations applies random mutations (a fixed
// sequence) to the documents to mutate and checks both agree on each result.
func TestGeneratedMatchesOracleMutations(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for _, g := range generatedValidators {
		t.Run(g.name, func(t *testing.T) {
			trees, names := g.trees(t), knownNames(g.schema)
			rng := rand.New(rand.NewPCG(1, 2))
			for range n {
				doc := deepCopy(trees[rng.IntN(len(trees))])
				for range 1 + rng.IntN(4) {
					doc = mutate(doc, names, func(k int) int { return rng.IntN(k) })
				}
				g.agree(t, doc)
			}
		})
	}
}

// FuzzGeneratedMatchesOracle demands the same verdict and the same problems
// (paths and messages) from the generated validators and jsonschema/v6: on
// the input as a request, and on the documents to mutate mutated as the
// input says (which reaches more of a schema than mutated bytes do).
func FuzzGeneratedMatchesOracle(f *testing.F) {
	for _, file := range sortedNames(corpus(f)) {
		data, _ := os.ReadFile(file)
		f.Add(data)
	}
	for _, s := range []string{
		`"\ud83d\ude00"`, `"\ud83d\u0041"`, `"\ude00"`, `[0,-0.5e+3,1E9]`, `{"a":1,"a":[]}`,
		"\"caf\xc3\xa9\"", "\"\xed\xa0\x80\"", `[[[[]]]]`, ` null `, `01`, `{"a":1,}`,
	} {
		f.Add([]byte(s))
	}
	trees := make([][]any, len(generatedValidators))
	names := make([][]string, len(generatedValidators))
	for i, g := range generatedValidators {
		trees[i], names[i] = g.trees(f), knownNames(g.schema)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		agreeOnBytes(t, data)
		// The input as a mutation program: each 2 bytes choose among k.
		for i, g := range generatedValidators {
			src := data
			pick := func(k int) int {
				if len(src) < 2 {
					return 0
				}
				x := int(binary.LittleEndian.Uint16(src))
				src = src[2:]
				return x % k
			}
			doc := deepCopy(trees[i][pick(len(trees[i]))])
			for range maxMutations {
				if len(src) < 2 {
					break
				}
				doc = mutate(doc, names[i], pick)
			}
			g.agree(t, doc)
		}
	})
}

// maxMutations bounds the mutations one fuzz input makes, so that documents
// stay small and each execution quick.
const maxMutations = 8

// corpusTrees decodes the requests of the corpus that are JSON, the one with
// every field first.
func corpusTrees(t testing.TB) []any {
	c := corpus(t)
	first := "testdata/valid/all-fields.json"
	names := sortedNames(c)
	if !slices.Contains(names, first) {
		t.Fatalf("no %s", first)
	}
	names = append([]string{first}, slices.DeleteFunc(names, func(n string) bool { return n == first })...)
	var trees []any
	for _, file := range names {
		if doc, ferr := decode(c[file]); ferr == nil {
			trees = append(trees, doc)
		}
	}
	return trees
}

// edgeValues are values that sit on or next to a rule of the schema.
var edgeValues = []any{
	nil, true, false, map[string]any{}, []any{}, []any{"pdf", json.Number("1")}, []any{nil},
	map[string]any{"is_allow": true}, map[string]any{"is_allow": "yes"}, map[string]any{"x": "y"},
	json.Number("0"), json.Number("-0"), json.Number("1"), json.Number("-1"), json.Number("1.0"),
	json.Number("1.5"), json.Number("0.5e1"), json.Number("1e2"), json.Number("1E+2"), json.Number("1e-2"),
	json.Number("4294967295"), json.Number("4294967296"), json.Number("4294967295.0"),
	json.Number("18446744073709551615"), json.Number("18446744073709551616"), json.Number("999999999999999999"),
	json.Number("1000000000000000000"), json.Number("-1000000000000000000"), json.Number("1e1000000"),
	json.Number("1e1000001"), json.Number("1e20"), json.Number("100000000000000000001"), json.Number("-1e21"),
	json.Number("-1000000000000000000001"), json.Number("0.5"), json.Number("0.4999999"), json.Number("1000.0"), json.Number("1000.5"), json.Number("-1e9999999999"), json.Number("1e-1000001"), json.Number("123456789012345678901234567890"),
	"", "a", "room01", "user_", "user_x", "xuser_", "a-FIELD_b", "-FIELD_", "a b", "é", "😀", "a\nb",
	strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("é", 255), strings.Repeat("😀", 256),
	strings.Repeat("user_-FIELD_ ", 6),
	"RTMP_INPUT", "WHIP_INPUT", "rtmp_input", "xa", "ya", "xb", "-a", "z", "ab", "abc", "abcdef", "only", "м",
	"http://a", "https://example.com/x?y#z", "HTTP://A", "hTtPs://a.b", "http://", "http:///x", "http://a b",
	"http://a\tb", "http://[::1]/", "http://[::1]:80/", "http://[fe80::1%25en0]/", "http://::1/", "http://[x]/",
	"http://a:b/", "http://a:80/", "http://%zz/", "http://a/%zz", "ftp://a", "javascript:alert(1)", "/relative",
	"//a/b", "http:a", "https://a?b", "https://a#", "http://user:pass@host/", "http://a/\x7f",
	"http://[::1%25x]/", "http://[1:2:3:4:5:6:7:8:9]/", "http://1.2.3.4/", "http://a\u00a0/",
}

func edgeKeys() []string {
	return []string{"", "x", "room_titel", "Room_Title", "ROOM_ID", "is_alow", "a/b", "a~b", "~", "/", "é",
		"webhookurl", "metadata_id", "extra_data", strings.Repeat("k", 70), "is_allow", "lock_chatt"}
}

// mutate changes one place of doc as pick (a source of choices in [0, k))
// says, and returns the document.
func mutate(doc any, names []string, pick func(k int) int) any {
	var paths [][]string
	walk(doc, nil, func(p []string, _ any) { paths = append(paths, slices.Clone(p)) })
	path := paths[pick(len(paths))]
	target := get(doc, path)
	switch pick(6) {
	case 0: // replace the value
		v := edgeValues[pick(len(edgeValues))]
		if len(path) == 0 {
			return deepCopy(v)
		}
		set(doc, path, deepCopy(v))
	case 1: // remove a member
		if m, ok := target.(map[string]any); ok && len(m) > 0 {
			keys := sortedNames(m)
			delete(m, keys[pick(len(keys))])
		}
	case 2: // add a member
		if m, ok := target.(map[string]any); ok {
			keys := append(edgeKeys(), names...)
			m[keys[pick(len(keys))]] = deepCopy(edgeValues[pick(len(edgeValues))])
		}
	case 3: // append an item
		if a, ok := target.([]any); ok {
			a = append(a, deepCopy(edgeValues[pick(len(edgeValues))]))
			if len(path) == 0 {
				return a
			}
			set(doc, path, a)
		}
	case 4: // replace the value by another value of the document
		if len(path) > 0 && len(paths) < 1000 {
			other := paths[pick(len(paths))]
			set(doc, path, deepCopy(get(doc, other)))
		}
	case 5: // rename a member
		if m, ok := target.(map[string]any); ok && len(m) > 0 {
			keys := sortedNames(m)
			k := keys[pick(len(keys))]
			v := m[k]
			delete(m, k)
			m[names[pick(len(names))]] = v
		}
	}
	return doc
}

// knownNames returns the property names a schema declares.
func knownNames(schema []byte) []string {
	seen := map[string]bool{}
	var walkSchema func(any)
	walkSchema = func(n any) {
		switch n := n.(type) {
		case map[string]any:
			if props, ok := n["properties"].(map[string]any); ok {
				for name := range props {
					seen[name] = true
				}
			}
			for _, child := range n {
				walkSchema(child)
			}
		case []any:
			for _, child := range n {
				walkSchema(child)
			}
		}
	}
	var doc any
	if err := json.Unmarshal(schema, &doc); err != nil {
		panic(err)
	}
	walkSchema(doc)
	return sortedNames(seen)
}

func walk(v any, path []string, visit func([]string, any)) {
	visit(path, v)
	switch n := v.(type) {
	case map[string]any:
		for _, k := range sortedNames(n) {
			walk(n[k], append(path, k), visit)
		}
	case []any:
		for i, item := range n {
			walk(item, append(path, fmt.Sprint(i)), visit)
		}
	}
}

func leafPaths(doc any) [][]string {
	var out [][]string
	walk(doc, nil, func(p []string, v any) {
		if len(p) > 0 {
			out = append(out, slices.Clone(p))
		}
	})
	return out
}

func objectPaths(doc any) [][]string {
	var out [][]string
	walk(doc, nil, func(p []string, v any) {
		if _, ok := v.(map[string]any); ok {
			out = append(out, slices.Clone(p))
		}
	})
	return out
}

func get(v any, path []string) any {
	for _, tok := range path {
		switch n := v.(type) {
		case map[string]any:
			v = n[tok]
		case []any:
			var i int
			fmt.Sscan(tok, &i)
			v = n[i]
		}
	}
	return v
}

func set(doc any, path []string, v any) {
	parent := get(doc, path[:len(path)-1])
	tok := path[len(path)-1]
	switch n := parent.(type) {
	case map[string]any:
		n[tok] = v
	case []any:
		var i int
		fmt.Sscan(tok, &i)
		n[i] = v
	}
}

func deepCopy(v any) any {
	switch n := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(n))
		for k, child := range n {
			out[k] = deepCopy(child)
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, child := range n {
			out[i] = deepCopy(child)
		}
		return out
	}
	return v
}

func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
