package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/schema"
)

// Differential tests of appliedWarnings, which reads the applied metadata once without decoding
// it (walkWarnings), against the comparison it replaced: decode the applied metadata whole into a
// tree, then compare every requested leaf. That comparison is still appliedWarnings' fallback
// (treeWarnings), so the oracle calls it rather than keeping a copy.

// oracleWarnings is appliedWarnings by the tree alone.
func oracleWarnings(req any, appliedMetadata json.RawMessage) ([]events.Warning, error) {
	if len(appliedMetadata) == 0 || req == nil {
		return nil, nil
	}
	return treeWarnings(req, appliedMetadata)
}

// checkWarnings reports how appliedWarnings differs from the oracle for req and applied.
func checkWarnings(req any, applied []byte) string {
	got, gerr := appliedWarnings(req, applied)
	want, werr := oracleWarnings(req, applied)
	if fmt.Sprint(gerr) != fmt.Sprint(werr) {
		return fmt.Sprintf("error %v, oracle %v", gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("warnings\n %#v\noracle\n %#v", got, want)
	}
	// As they are published: the same JSON.
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		return fmt.Sprintf("warnings %s, oracle %s", gb, wb)
	}
	return ""
}

func decodeTree(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := decodeNumbers([]byte(s), &v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

// recordedCreates returns the request metadata and the applied metadata (room_info.metadata as
// the client decodes it) of every recorded successful create.
func recordedCreates(t testing.TB) (names []string, reqs []any, applied []json.RawMessage) {
	t.Helper()
	files, err := filepath.Glob("../plugnmeet/testdata/recorded/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			Route        string `json:"route"`
			RequestBody  string `json:"request_body"`
			ResponseBody string `json:"response_body"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		var ans struct {
			Status   bool                `json:"status"`
			RoomInfo *plugnmeet.RoomInfo `json:"room_info"`
		}
		if rec.Route != plugnmeet.RouteCreate || json.Unmarshal([]byte(rec.ResponseBody), &ans) != nil ||
			!ans.Status || ans.RoomInfo == nil {
			continue
		}
		req, _ := decodeTree(t, rec.RequestBody).(map[string]any)
		names = append(names, filepath.Base(f))
		reqs = append(reqs, req["metadata"])
		applied = append(applied, ans.RoomInfo.Metadata)
	}
	if len(names) < 7 {
		t.Fatalf("%d recorded creates, want 7", len(names))
	}
	return names, reqs, applied
}

// seedMetadata is the metadata of the seed example (examples/create-room.json), decoded.
func seedMetadata(tb testing.TB) any {
	tb.Helper()
	seed, err := os.ReadFile("../examples/create-room.json")
	if err != nil {
		tb.Fatal(err)
	}
	tree, err := schema.Parse(seed)
	if err != nil {
		tb.Fatal(err)
	}
	return tree["metadata"]
}

// Every recorded request, and the seed example, against every recorded applied metadata.
func TestAppliedWarningsMatchesOracleOnRecordings(t *testing.T) {
	names, reqs, applied := recordedCreates(t)
	reqs = append(reqs, seedMetadata(t))
	warned := 0
	for i, req := range reqs {
		for j, md := range applied {
			if d := checkWarnings(req, md); d != "" {
				t.Errorf("request %d against %s: %s", i, names[j], d)
			}
			got, ok := walkWarnings(req, md)
			if !ok {
				t.Errorf("request %d against %s: the walk gave up on real metadata", i, names[j])
			}
			warned += len(got)
		}
	}
	if warned == 0 {
		t.Error("no warning at all: the recordings should show plugNmeet ignoring some settings")
	}
}

// Requests and applied metadata around what the walk reads, and what it leaves to the tree.
func TestAppliedWarningsMatchesOracleOnEdgeCases(t *testing.T) {
	req := `{"room_title":"T","n":5,"big":"9007199254740993","f":1.50,"neg":-0,"z":0,"s":"é\"","b":false,"t":true,
		"null":null,"arr":["pdf",1,true,null,{"x":1}],"empty":[],"eo":{},"o":{"a/b":{"~c":1},"d":"","deep":{"x":{"y":[0]}}},
		"esc":{"k\"ey":"v"},"u":{"é":1,"\ufffd":2},"huge":1e400,"huge2":1e400}`
	cases := []string{
		`{}`,
		`null`,
		`[]`,
		`"x"`,
		`5`,
		`{"room_title":"T","n":5,"big":"9007199254740993","f":1.50,"neg":-0,"z":0,"s":"é\"","b":false,"t":true,"null":null,
		 "arr":["pdf",1,true,null,{"x":1}],"empty":[],"eo":{},"o":{"a/b":{"~c":1},"d":"","deep":{"x":{"y":[0]}}},"esc":{"k\"ey":"v"},"u":{"é":1,"\ufffd":2}}`,
		`{"room_title":"T2","n":"5","big":9007199254740993,"f":"1.50","neg":"-0","z":"0","s":"é\u0022","b":"false","t":1,"null":false,
		 "arr":["pdf","1",true,null,{"x":1}],"empty":null,"eo":5,"o":{"a/b":{"~c":"1"},"d":null,"deep":{"x":null}},"esc":{"k\u0022ey":"w"}}`,
		`{"n":"5.0","f":1.5,"z":"","s":"e","t":"true","null":0,"arr":"pdf","empty":"","o":[],"u":{"\u00e9":1,"\xff":2}}`,
		`{"huge":"1e400","huge2":1e400}`,
		`{"n":"5x","z":0.0,"null":"","arr":["pdf",1,true],"empty":{},"o":"x","u":{"é":"1","\ufffd":"2"}}`,
		`{"n":" 5","z":"0e9","null":[],"arr":[],"empty":[1],"o":{"deep":[]}}`,
		`{"n":5e0,"z":-0.0,"null":{},"empty":[null],"s":"\ud800"}`,
		`{"n":5,"n":6}`,
		`{"n":6,"n":5}`,
		`{"o":{"d":"x","d":""}}`,
		`{"o":{"d":"","d":"x"}}`,
		`{"x":{"x":1,"x":2},"n":5}`,
		" \n{ \"n\" : 5 ,\t\"b\" : true }\r\n",
		`{"n":5} trailing`,
		`{"n":5}}`,
		`{"n":5`,
		`{"n":}`,
		`{"n":01}`,
		`{"n":5,}`,
		`{n:5}`,
		``,
		`   `,
		`nul`,
		`{"s":"` + "\x01" + `"}`,
		`{"s":"\x"}`,
		`{"arr":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`,
		`{"o":{"deep":` + strings.Repeat(`{"x":`, 300) + `1` + strings.Repeat("}", 300) + `}}`,
		`{"o":{"deep":` + strings.Repeat(`{"x":`, 10001) + `1` + strings.Repeat("}", 10001) + `}}`,
		`123abc`,
		`{"n":5}` + "\x00",
		"{\"u\":{\"\xff\":\"2\",\"\xc3\xa9\":1},\"s\":\"\xffé\"}",
	}
	// What the walk reads itself rather than leaving to the tree.
	for _, applied := range []string{cases[5], cases[6], cases[8], cases[9], cases[10], cases[11], cases[16], cases[17], cases[18], cases[len(cases)-1], `null`, `5`, `{}`} {
		if _, ok := walkWarnings(decodeTree(t, req), []byte(applied)); !ok {
			t.Errorf("the walk gave up on %.80q", applied)
		}
	}
	reqTree := decodeTree(t, req)
	for _, applied := range cases {
		if d := checkWarnings(reqTree, []byte(applied)); d != "" {
			t.Errorf("applied %.80q: %s", applied, d)
		}
		// The same with the whole request as a leaf, and with a request of one leaf.
		for _, r := range []any{json.Number("5"), "x", true, nil, []any{}, []any{json.Number("1")}, map[string]any{}} {
			if d := checkWarnings(r, []byte(applied)); d != "" {
				t.Errorf("request %#v, applied %.80q: %s", r, applied, d)
			}
		}
	}
	// The same keys at several levels, the empty key, a key too long for the walk's stack of
	// keys, and duplicates of it.
	long := strings.Repeat("k", 300)
	nested := decodeTree(t, `{"a":{"a":1,"b":2,"":true},"b":{"a":1,"b":{"a":"x"}},"":5,"`+long+`":1}`)
	for _, applied := range []string{
		`{"a":{"a":1,"b":3,"":true},"b":{"a":2,"b":{"a":"x","a":"y"}},"":"5","` + long + `":1}`,
		`{"b":{"b":{"a":"x"},"a":1},"a":{"":false,"b":2,"a":"1"},"":5,"` + long + `":2}`,
		`{"a":{"a":1,"b":2,"":true,"b":2},"b":{},"":5}`,
		`{"a":{"a":1},"b":{"a":1,"b":{}},"a":{"b":2},"` + long + `":1,"` + long + `":2}`,
		`{"a":{"a":1,"x":{"a":2,"a":3},"b":2},"b":[{"a":1}],"":{"":5}}`,
		`{"a":{"a":1,"b":3,"b":2,"":true},"b":{"a":1,"a":1},"":5}`,
	} {
		if d := checkWarnings(nested, []byte(applied)); d != "" {
			t.Errorf("applied %.80q: %s", applied, d)
		}
	}
	// Requests of other types than the decoder gives compare as before: never equal.
	if d := checkWarnings(map[string]any{"n": 5, "f": 1.5, "z": 0}, []byte(`{"n":5,"f":1.5}`)); d != "" {
		t.Error(d)
	}
}

// Mutations of the recorded applied metadata (one byte changed, cut short) compare as before.
func TestAppliedWarningsMatchesOracleOnMutations(t *testing.T) {
	_, reqs, applied := recordedCreates(t)
	stride := 5
	if testing.Short() {
		stride = 41
	}
	repl := []byte{'"', '\\', ',', ':', '}', ']', '{', '[', ' ', 'x', '0', '1', '-', 'e', 't', 'n', 0x80, 0x1f}
	n := 0
	for i, md := range applied {
		req := reqs[i]
		for k := 0; k < len(md); k += stride {
			if d := checkWarnings(req, md[:k]); d != "" {
				t.Fatalf("applied %d cut at %d: %s", i, k, d)
			}
			m := bytes.Clone(md)
			m[k] = repl[n%len(repl)]
			n++
			if d := checkWarnings(req, m); d != "" {
				t.Fatalf("applied %d with byte %d set to %q: %s", i, k, m[k], d)
			}
		}
	}
}

// FuzzAppliedWarnings: any request metadata against any applied metadata gives the warnings, or
// the error, the tree comparison gave.
func FuzzAppliedWarnings(f *testing.F) {
	_, reqs, applied := recordedCreates(f)
	for i := range reqs {
		r, _ := json.Marshal(reqs[i])
		f.Add(r, []byte(applied[i]))
	}
	f.Add([]byte(`{"a":{"b":[1,"x",null]},"c":"1","d":false}`), []byte(`{"a":{"b":[1,"x",null],"b":2},"c":1,"d":null}`))
	f.Add([]byte(`{"a/~":1,"é":"\u00e9"}`), []byte(`{"a/~":"1", "\u00e9":"é"} x`))
	f.Fuzz(func(t *testing.T, reqJSON, applied []byte) {
		var req any
		if decodeNumbers(reqJSON, &req) != nil {
			return
		}
		if d := checkWarnings(req, applied); d != "" {
			t.Fatalf("request %s, applied %q: %s", reqJSON, applied, d)
		}
	})
}

// BenchmarkAppliedWarnings compares the seed example's settings with a recorded create's applied
// metadata: "walk" as appliedWarnings does now, "tree" as it did (decoding the applied metadata
// whole).
func BenchmarkAppliedWarnings(b *testing.B) {
	_, _, applied := recordedCreates(b)
	req := seedMetadata(b)
	for _, bm := range []struct {
		name string
		fn   func(any, json.RawMessage) ([]events.Warning, error)
	}{{"walk", appliedWarnings}, {"tree", oracleWarnings}} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(applied[0])))
			for b.Loop() {
				if _, err := bm.fn(req, applied[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
