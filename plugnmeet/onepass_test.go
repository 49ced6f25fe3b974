package plugnmeet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/roomworker/roomworker/plugnmeet/internal/recorded"
)

// Differential tests of the one-pass decoding against the encoding/json decoding it replaced,
// which is still its fallback (onepass_oracle_test.go): the same RoomInfo, the same normalised
// JSON, the same errors.

// recordedBodies returns every recorded answer body, by recording name.
func recordedBodies(tb testing.TB) map[string][]byte {
	tb.Helper()
	recs, err := recorded.Load(filepath.Join("testdata", "recorded"))
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]byte{}
	for _, rec := range recs {
		out[rec.Name] = []byte(rec.ResponseBody)
	}
	return out
}

// sameRoomInfo reports how got (decoded now) differs from want (decoded by the oracle): its
// fields, Metadata's bytes and MarshalJSON's bytes or error.
func sameRoomInfo(got *RoomInfo, want *oracleRoomInfo) string {
	if (got.Metadata == nil) != (want.Metadata == nil) || !bytes.Equal(got.Metadata, want.Metadata) {
		return fmt.Sprintf("metadata %q, oracle %q", got.Metadata, want.Metadata)
	}
	g, w := *got, want.RoomInfo
	g.Metadata, g.enc, w.Metadata, w.enc = nil, nil, nil, nil
	if !reflect.DeepEqual(g, w) {
		return fmt.Sprintf("fields %+v, oracle %+v", g, w)
	}
	gb, gerr := got.MarshalJSON()
	wb, werr := want.MarshalJSON()
	if !bytes.Equal(gb, wb) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
		return fmt.Sprintf("MarshalJSON %s (%v), oracle %s (%v)", gb, gerr, wb, werr)
	}
	return ""
}

// sameError reports how got differs from want: both nil, or the same text, class and sentinels.
func sameError(got, want error) string {
	if (got == nil) != (want == nil) {
		return fmt.Sprintf("error %v, oracle %v", got, want)
	}
	if got == nil {
		return ""
	}
	if got.Error() != want.Error() || ClassOf(got) != ClassOf(want) {
		return fmt.Sprintf("error %q (%v), oracle %q (%v)", got, ClassOf(got), want, ClassOf(want))
	}
	for _, s := range []error{ErrNotPlugNmeet, ErrCredentials, ErrRoomNotFound, ErrTransient, ErrPermanent, ErrSystemic} {
		if errors.Is(got, s) != errors.Is(want, s) {
			return fmt.Sprintf("errors.Is(%v) = %v, oracle %v", s, errors.Is(got, s), errors.Is(want, s))
		}
	}
	var ge, we *Error
	if errors.As(got, &ge) != errors.As(want, &we) || ge != nil && (ge.HTTPStatus != we.HTTPStatus ||
		ge.StatusCode != we.StatusCode || ge.Msg != we.Msg || ge.Route != we.Route) {
		return fmt.Sprintf("error %+v, oracle %+v", ge, we)
	}
	return ""
}

// decode200 is Client.decode of data as a 200 JSON answer of create.
func decode200(data []byte, out any, env *envelope, onePass func(data []byte) (isEnvelope, ok bool)) error {
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}}
	return (&Client{now: time.Now}).decode(RouteCreate, resp, data, out, env, onePass)
}

// decodeCreate is what CreateRoom makes of a 200 create answer now.
func decodeCreate(data []byte) (*RoomInfo, error) {
	var ans createAnswer
	if err := decode200(data, &ans, &ans.envelope, createOnePass(&ans)); err != nil {
		return nil, err
	}
	return createdRoom(&ans)
}

// checkCreateAnswer reports how the client's decoding of the create answer data differs from the
// oracle's.
func checkCreateAnswer(tb testing.TB, data []byte) string {
	tb.Helper()
	got, gerr := decodeCreate(data)
	want, werr := oracleDecodeCreate(data)
	if d := sameError(gerr, werr); d != "" {
		return d
	}
	if gerr != nil {
		return ""
	}
	return sameRoomInfo(got, want)
}

// checkRoomInfo reports how RoomInfo.UnmarshalJSON's decoding of data differs from the oracle's.
func checkRoomInfoDecode(tb testing.TB, data []byte) string {
	tb.Helper()
	var got RoomInfo
	var want oracleRoomInfo
	gerr, werr := got.UnmarshalJSON(data), want.UnmarshalJSON(data)
	if fmt.Sprint(gerr) != fmt.Sprint(werr) {
		return fmt.Sprintf("error %v, oracle %v", gerr, werr)
	}
	if gerr != nil {
		return ""
	}
	if d := sameRoomInfo(&got, &want); d != "" {
		return d
	}
	// The bytes written while decoding are what encoding them afresh gives.
	fresh := got
	fresh.enc = nil
	a, _ := got.MarshalJSON()
	b, _ := fresh.MarshalJSON()
	if !bytes.Equal(a, b) {
		return fmt.Sprintf("cached normalised JSON %s, afresh %s", a, b)
	}
	return ""
}

// The recorded answers take the fast path, and it gives what the previous decoder gave.
func TestOnePassRecordedAnswers(t *testing.T) {
	fast := 0
	for name, body := range recordedBodies(t) {
		if !startsLikeObject(body) {
			continue
		}
		if d := checkCreateAnswer(t, body); d != "" {
			t.Errorf("%s: %s", name, d)
		}
		var ans createAnswer
		if _, ok := decodeCreateOnePass(body, &ans.envelope, &ans.RoomInfo); !ok {
			t.Errorf("%s: the one-pass decoder gave up on a real answer", name)
			continue
		}
		fast++
		if ans.RoomInfo != nil {
			var raw struct {
				RoomInfo json.RawMessage `json:"room_info"`
			}
			if err := json.Unmarshal(body, &raw); err != nil {
				t.Fatal(err)
			}
			if d := checkRoomInfoDecode(t, raw.RoomInfo); d != "" {
				t.Errorf("%s: room_info: %s", name, d)
			}
		}
	}
	if fast < 30 {
		t.Errorf("only %d recorded answers decoded in one pass", fast)
	}
}

// Answers the fast path leaves to encoding/json, or takes, around what it takes: each decodes
// as before, with the same errors.
func TestOnePassEdgeCases(t *testing.T) {
	const info = `"room_title":"T","room_id":"r","sid":"s","joined_participants":"0","is_running":1,` +
		`"is_recording":0,"is_active_rtmp":0,"webhook_url":"","is_breakout_room":0,"parent_room_id":"",` +
		`"creation_time":"1795638069","metadata":"{\"room_title\":\"T\", \"n\":\"5\"}"`
	answer := func(roomInfo string) string {
		return `{"status":true,"msg":"success","status_code":"SUCCESS","room_info":{` + roomInfo + `}}`
	}
	cases := []struct {
		name string
		data string
		fast bool // the one-pass decoder takes it
	}{
		{"plain", answer(info), true},
		{"spaced", " \n{ \"status\" : true , \"msg\":\"success\",\"status_code\":\"SUCCESS\",\"room_info\" : { " + info + " } }\t", true},
		{"empty room_info", `{"status":true,"msg":"m","status_code":"SUCCESS","room_info":{}}`, true},
		{"no room_info", `{"status":true,"msg":"m","status_code":"SUCCESS"}`, true},
		{"null room_info", `{"status":true,"msg":"m","status_code":"SUCCESS","room_info":null}`, false},
		{"string room_info", `{"status":true,"msg":"m","status_code":"SUCCESS","room_info":"0"}`, false},
		{"array room_info", `{"status":true,"msg":"m","status_code":"SUCCESS","room_info":[]}`, false},
		{"failure", `{"status":false,"msg":"validation error: x","status_code":"INVALID_PARAMETERS"}`, true},
		{"failure with room_info", `{"status":false,"msg":"x","status_code":"INVALID_PARAMETERS","room_info":{` + info + `}}`, true},
		{"no envelope", `{"room_info":{` + info + `}}`, true},
		{"status only", `{"status":true}`, true},
		{"empty object", `{}`, true},
		{"Status key", `{"Status":true,"msg":"success","status_code":"SUCCESS","room_info":{` + info + `}}`, false},
		{"ROOM_INFO key", `{"status":true,"msg":"success","status_code":"SUCCESS","ROOM_INFO":{` + info + `}}`, false},
		{"escaped key", `{"st\u0061tus":true,"msg":"success","status_code":"SUCCESS","room_info":{` + info + `}}`, false},
		{"long s key", `{"ſtatus":true,"msg":"success","status_code":"SUCCESS"}`, false},
		{"duplicate status", `{"status":false,"status":true,"msg":"success","status_code":"SUCCESS","room_info":{` + info + `}}`, false},
		{"duplicate sid", answer(info + `,"sid":"other"`), false},
		{"unknown fields", `{"status":true,"x":[1,{"y":null}],"msg":"success","status_code":"SUCCESS","room_info":{"extra":{"a":[true,false,-1.5e3]},` + info + `}}`, true},
		{"Sid key", answer(info + `,"Sid":"other"`), false},
		{"status string", `{"status":"true","msg":"success","status_code":"SUCCESS"}`, false},
		{"status null", `{"status":null,"msg":"success","status_code":"SUCCESS"}`, false},
		{"msg number", `{"status":true,"msg":5,"status_code":"SUCCESS","room_info":{}}`, false},
		{"msg escaped", `{"status":false,"msg":"a\"b\\c\u00e9\n\/","status_code":"INTERNAL_SERVER_ERROR"}`, true},
		{"msg nbsp", "{\"status\":false,\"msg\":\"proto:\u00a0syntax error\",\"status_code\":\"INVALID_PARAMETERS\"}", true},
		{"msg invalid utf-8", "{\"status\":false,\"msg\":\"a\xffb\",\"status_code\":\"INVALID_PARAMETERS\"}", false},
		{"msg lone surrogate", `{"status":false,"msg":"a\ud800b","status_code":"INVALID_PARAMETERS"}`, false},
		{"msg surrogate pair", `{"status":false,"msg":"a\ud83d\ude00b","status_code":"INVALID_PARAMETERS"}`, false},
		{"numbers as numbers", answer(strings.NewReplacer(`"0"`, `0`, `"1795638069"`, `1795638069`).Replace(info)), true},
		{"exponent", answer(strings.Replace(info, `"1795638069"`, `1.795638069e9`, 1)), true},
		{"exponent string", answer(strings.Replace(info, `"1795638069"`, `"1e3"`, 1)), true},
		{"fraction", answer(strings.Replace(info, `"1795638069"`, `1.5`, 1)), false},
		{"too big", answer(strings.Replace(info, `"1795638069"`, `"9223372036854775808"`, 1)), false},
		{"empty int", answer(strings.Replace(info, `"1795638069"`, `""`, 1)), true},
		{"int garbage", answer(strings.Replace(info, `"1795638069"`, `"x"`, 1)), false},
		{"int escaped", answer(strings.Replace(info, `"1795638069"`, `"1\u0030"`, 1)), false},
		{"int null", answer(strings.Replace(info, `"1795638069"`, `null`, 1)), false},
		{"int bool", answer(strings.Replace(info, `"1795638069"`, `true`, 1)), false},
		{"int object", answer(strings.Replace(info, `"1795638069"`, `{}`, 1)), false},
		{"flag true", answer(strings.Replace(info, `"is_running":1`, `"is_running":true`, 1)), true},
		{"flag string", answer(strings.Replace(info, `"is_running":1`, `"is_running":"1"`, 1)), true},
		{"flag string true", answer(strings.Replace(info, `"is_running":1`, `"is_running":"true"`, 1)), true},
		{"flag 0.0", answer(strings.Replace(info, `"is_running":1`, `"is_running":0.0`, 1)), true},
		{"flag garbage", answer(strings.Replace(info, `"is_running":1`, `"is_running":"yes"`, 1)), false},
		{"flag null", answer(strings.Replace(info, `"is_running":1`, `"is_running":null`, 1)), false},
		{"flag array", answer(strings.Replace(info, `"is_running":1`, `"is_running":[]`, 1)), false},
		{"string null", answer(strings.Replace(info, `"sid":"s"`, `"sid":null`, 1)), false},
		{"string number", answer(strings.Replace(info, `"sid":"s"`, `"sid":5`, 1)), false},
		{"string html", answer(strings.Replace(info, `"sid":"s"`, `"sid":"<a&b>\u2028\t\"é"`, 1)), true},
		{"title emoji", answer(strings.Replace(info, `"room_title":"T"`, `"room_title":"😀é"`, 1)), true},
		{"metadata object", answer(strings.Replace(info, `"metadata":"{\"room_title\":\"T\", \"n\":\"5\"}"`, `"metadata": { "a" : [ 1 , 2 ] }`, 1)), true},
		{"metadata empty", answer(strings.Replace(info, `"metadata":"{\"room_title\":\"T\", \"n\":\"5\"}"`, `"metadata":""`, 1)), true},
		{"metadata null", answer(strings.Replace(info, `"metadata":"{\"room_title\":\"T\", \"n\":\"5\"}"`, `"metadata":null`, 1)), false},
		{"metadata absent", answer(strings.Replace(info, `,"metadata":"{\"room_title\":\"T\", \"n\":\"5\"}"`, ``, 1)), true},
		{"metadata array", answer(strings.Replace(info, `"metadata":"{\"room_title\":\"T\", \"n\":\"5\"}"`, `"metadata":"[1]"`, 1)), false},
		{"metadata not json", answer(strings.Replace(info, `"metadata":"{\"room_title\":\"T\", \"n\":\"5\"}"`, `"metadata":"not json"`, 1)), false},
		{"metadata cut", answer(strings.Replace(info, `"metadata":"{\"room_title\":\"T\", \"n\":\"5\"}"`, `"metadata":"{\"a\":"`, 1)), false},
		{"metadata trailing", answer(strings.Replace(info, `"metadata":"{\"room_title\":\"T\", \"n\":\"5\"}"`, `"metadata":"{} {}"`, 1)), false},
		{"metadata spaces", answer(strings.Replace(info, `"metadata":"{\"room_title\":\"T\", \"n\":\"5\"}"`, `"metadata":" \n{ \"a\" :\t\"b c\" } \r"`, 1)), true},
		{"metadata escapes", answer(strings.Replace(info, `"metadata":"{\"room_title\":\"T\", \"n\":\"5\"}"`, `"metadata":"{\"t\":\"\\\"\\u003c\\n\", \"u\":\"\u00e9\"}"`, 1)), true},
		{"metadata control", answer(strings.Replace(info, `"metadata":"{\"room_title\":\"T\", \"n\":\"5\"}"`, `"metadata":"{\"t\":\"\u0001\"}"`, 1)), false},
		{"metadata number", answer(strings.Replace(info, `"metadata":"{\"room_title\":\"T\", \"n\":\"5\"}"`, `"metadata":5`, 1)), false},
		{"metadata bad number", answer(strings.Replace(info, `"metadata":"{\"room_title\":\"T\", \"n\":\"5\"}"`, `"metadata":"{\"n\":01}"`, 1)), false},
		{"metadata surrogate", answer(strings.Replace(info, `"metadata":"{\"room_title\":\"T\", \"n\":\"5\"}"`, `"metadata":"{\"n\":\"\ud83d\ude00\"}"`, 1)), false},
		{"metadata deep", answer(strings.Replace(info, `"metadata":"{\"room_title\":\"T\", \"n\":\"5\"}"`, `"metadata":"{\"n\":`+strings.Repeat("[", 300)+strings.Repeat("]", 300)+`}"`, 1)), false},
		{"trailing garbage", answer(info) + `x`, false},
		{"two objects", answer(info) + `{}`, false},
		{"cut", answer(info)[:200], false},
		{"array", `[{"status":true}]`, false},
		{"not json", `{status:true}`, false},
	}
	for _, tc := range cases {
		data := []byte(tc.data)
		if d := checkCreateAnswer(t, data); d != "" {
			t.Errorf("%s: %s", tc.name, d)
		}
		var ans createAnswer
		if _, ok := decodeCreateOnePass(data, &ans.envelope, &ans.RoomInfo); ok != tc.fast {
			t.Errorf("%s: one-pass decoding took it: %v, want %v", tc.name, ok, tc.fast)
		}
		// The same room_info given to RoomInfo.UnmarshalJSON directly.
		var raw struct {
			RoomInfo json.RawMessage `json:"room_info"`
		}
		if json.Unmarshal(data, &raw) == nil && raw.RoomInfo != nil {
			if d := checkRoomInfoDecode(t, raw.RoomInfo); d != "" {
				t.Errorf("%s: room_info: %s", tc.name, d)
			}
		}
	}
}

// Mutations of every recorded answer (cut short, one byte changed) decode as before.
func TestOnePassMutatedAnswers(t *testing.T) {
	stride := 7
	if testing.Short() {
		stride = 61
	}
	repl := []byte{'"', '\\', ',', ':', '}', ']', '{', '[', ' ', 'x', '0', '-', 'e', 'u', 'n', 0x80, 0x1f, 'A'}
	n := 0
	for name, body := range recordedBodies(t) {
		for i := 0; i < len(body); i += stride {
			if d := checkCreateAnswer(t, body[:i]); d != "" {
				t.Fatalf("%s cut at %d: %s", name, i, d)
			}
			m := bytes.Clone(body)
			m[i] = repl[n%len(repl)]
			n++
			if d := checkCreateAnswer(t, m); d != "" {
				t.Fatalf("%s with byte %d set to %q: %s", name, i, m[i], d)
			}
		}
	}
}

// A RoomInfo whose fields changed after decoding encodes the change: the bytes written while
// decoding are returned only while they still hold the fields.
func TestRoomInfoMarshalAfterChange(t *testing.T) {
	body := recordedBodies(t)["01-create"]
	decoded, err := decodeCreate(body)
	if err != nil {
		t.Fatal(err)
	}
	if decoded.enc == nil {
		t.Fatal("a decoded RoomInfo has no normalised JSON written")
	}
	if b, _ := decoded.MarshalJSON(); &b[0] != &decoded.enc.b[0] {
		t.Error("MarshalJSON of an unchanged decoded RoomInfo encodes again")
	}
	typ := reflect.TypeFor[RoomInfo]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		info := *decoded
		v := reflect.ValueOf(&info).Elem().Field(i)
		switch f.Type.Kind() {
		case reflect.String:
			v.SetString(v.String() + "<changed>")
		case reflect.Int64:
			v.SetInt(v.Int() + 1)
		case reflect.Bool:
			v.SetBool(!v.Bool())
		case reflect.Slice:
			v.SetBytes([]byte(`{"changed":true}`))
		default:
			t.Fatalf("RoomInfo.%s: a %s field this test does not change", f.Name, f.Type)
		}
		got, gerr := info.MarshalJSON()
		want, werr := oracleRoomInfo{info}.MarshalJSON()
		if !bytes.Equal(got, want) || gerr != nil || werr != nil {
			t.Errorf("%s changed: MarshalJSON %s (%v), want %s (%v)", f.Name, got, gerr, want, werr)
		}
	}
	// Metadata changed in place, keeping its length, and to something invalid.
	info := *decoded
	info.Metadata = bytes.Clone(info.Metadata)
	info.Metadata[bytes.Index(info.Metadata, []byte("room01"))] = 'R'
	if got, err := info.MarshalJSON(); err != nil || !bytes.Contains(got, info.Metadata) {
		t.Errorf("metadata changed in place: %s (%v)", got, err)
	}
	info.Metadata[0] = '['
	if got, err := info.MarshalJSON(); err == nil {
		t.Errorf("invalid metadata encoded: %s", got)
	}
	info.Metadata = nil
	if got, err := info.MarshalJSON(); err != nil || !bytes.HasSuffix(got, []byte(`,"metadata":null}`)) {
		t.Errorf("no metadata: %s (%v)", got, err)
	}
}

// FuzzOnePassAnswer: the client's decoding of any create answer, and RoomInfo.UnmarshalJSON's
// of any room_info, give what the decoders before the one-pass decoding gave.
func FuzzOnePassAnswer(f *testing.F) {
	for _, body := range recordedBodies(f) {
		f.Add(body)
	}
	f.Add([]byte(`{"status":true,"msg":"success","status_code":"SUCCESS","room_info":{"metadata":"{\"a\":\"\\u00e9\"}","is_running":"0x1"}}`))
	f.Add([]byte(`{"status":true,"msg":"m","status_code":"S","room_info":{"joined_participants":1e2,"metadata":{"a":1},"Webhook_url":"x"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if d := checkCreateAnswer(t, data); d != "" {
			t.Fatalf("create answer %q: %s", data, d)
		}
		if d := checkRoomInfoDecode(t, data); d != "" {
			t.Fatalf("room_info %q: %s", data, d)
		}
	})
}

// The fields of the normalised JSON are written as json.Marshal writes them.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", "a\u2028b", "a\u2029", "é😀", "\xff", "a\xc3", "\x7f", "\u00a0", "x\ufffdy"}
	for c := range 256 {
		strs = append(strs, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"b")
	}
	for _, s := range strs {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("appendString(%q) = %s, json.Marshal %s", s, got[1:], want)
		}
	}
}
