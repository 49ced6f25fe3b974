package plugnmeettest

import (
	"bytes"
	"encoding/json"
	"github.com/roomworker/roomworker/plugnmeet/internal/recorded"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	recordedKey    = "plugnmeet"
	recordedSecret = "8ebf61f49bc8ed15b868f3b712a995ddce12"
)

type recording = recorded.Exchange

func loadRecordings(t *testing.T) []recording {
	t.Helper()
	recs, err := recorded.Load(filepath.Join("..", "testdata", "recorded"))
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// replay sends a recording's exact request to srv and returns status and body.
func replay(t *testing.T, srv *Server, rec recording) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+rec.Route, strings.NewReader(rec.RequestBody))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range rec.RequestHeaders {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", rec.Name, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, rec.ResponseContentType) {
		t.Errorf("%s: Content-Type %q, recorded %q", rec.Name, ct, rec.ResponseContentType)
	}
	return resp.StatusCode, buf.Bytes()
}

// volatile are the values that differ between runs: ids and times.
var volatile = map[string]bool{"sid": true, "creation_time": true, "started_at": true, "metadata_id": true}

// compareAnswer checks got against the recorded answer: same HTTP status,
// status, status_code and msg, the same keys at every level, and the same
// values except ids and times. It returns the sids of both, in order.
func compareAnswer(t *testing.T, rec recording, status int, got []byte) (recSIDs, gotSIDs []string) {
	t.Helper()
	if status != rec.Status {
		t.Errorf("%s: HTTP %d, recorded %d (body %s)", rec.Name, status, rec.Status, got)
		return
	}
	var want, have any
	if err := json.Unmarshal([]byte(rec.ResponseBody), &want); err != nil {
		t.Fatalf("%s: recorded body: %v", rec.Name, err)
	}
	if err := json.Unmarshal(got, &have); err != nil {
		t.Fatalf("%s: answer is not JSON: %v: %s", rec.Name, err, got)
	}
	w, h := want.(map[string]any), have.(map[string]any)
	for _, k := range []string{"status", "status_code", "msg"} {
		if !reflect.DeepEqual(w[k], h[k]) {
			t.Errorf("%s: %s = %#v, recorded %#v", rec.Name, k, h[k], w[k])
		}
	}
	var diffs []string
	diffTree("", expandMetadata(want), expandMetadata(have), &diffs, &recSIDs, &gotSIDs)
	for _, d := range diffs {
		t.Errorf("%s: %s", rec.Name, d)
	}
	return recSIDs, gotSIDs
}

// expandMetadata replaces every "metadata" JSON string by its parsed object.
func expandMetadata(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if s, ok := e.(string); ok && k == "metadata" {
				var md any
				if json.Unmarshal([]byte(s), &md) == nil {
					out[k] = md
					continue
				}
			}
			out[k] = expandMetadata(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = expandMetadata(e)
		}
		return out
	}
	return v
}

func diffTree(path string, want, have any, diffs *[]string, recSIDs, gotSIDs *[]string) {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			*diffs = append(*diffs, path+": want an object, got "+typeName(have))
			return
		}
		for k := range w {
			if _, ok := h[k]; !ok {
				*diffs = append(*diffs, path+"/"+k+": missing")
			}
		}
		for k := range h {
			if _, ok := w[k]; !ok {
				*diffs = append(*diffs, path+"/"+k+": unexpected key")
			}
		}
		for k, wv := range w {
			hv, ok := h[k]
			if !ok {
				continue
			}
			if volatile[k] {
				if typeName(wv) != typeName(hv) {
					*diffs = append(*diffs, path+"/"+k+": type "+typeName(hv)+", recorded "+typeName(wv))
				}
				if k == "sid" {
					*recSIDs = append(*recSIDs, wv.(string))
					*gotSIDs = append(*gotSIDs, hv.(string))
				}
				continue
			}
			diffTree(path+"/"+k, wv, hv, diffs, recSIDs, gotSIDs)
		}
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			*diffs = append(*diffs, path+": want "+toJSON(want)+", got "+toJSON(have))
			return
		}
		for i := range w {
			diffTree(path+"/"+toJSON(i), w[i], h[i], diffs, recSIDs, gotSIDs)
		}
	default:
		if !reflect.DeepEqual(want, have) {
			*diffs = append(*diffs, path+": got "+toJSON(have)+", recorded "+toJSON(want))
		}
	}
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return "?"
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func recordedOptions() Options {
	return Options{APIKey: recordedKey, APISecret: recordedSecret}
}

// TestReplaySequence replays the recorded session 01-23 in order against
// one stand-in and expects the real server's answers, with the same pattern
// of session ids (create again: same sid; create after end: a new one).
func TestReplaySequence(t *testing.T) {
	srv := NewServer(recordedOptions())
	defer srv.Close()
	sidMap := map[string]string{} // recorded sid -> stand-in sid
	seen := map[string]string{}   // stand-in sid -> recorded sid
	n := 0
	for _, rec := range loadRecordings(t) {
		if rec.Name >= "30" {
			continue
		}
		n++
		status, body := replay(t, srv, rec)
		recSIDs, gotSIDs := compareAnswer(t, rec, status, body)
		for i := range recSIDs {
			r, g := recSIDs[i], gotSIDs[i]
			if m, ok := sidMap[r]; ok && m != g {
				t.Errorf("%s: recorded sid %s was %s before, now %s", rec.Name, r, m, g)
			}
			if m, ok := seen[g]; ok && m != r {
				t.Errorf("%s: stand-in sid %s stands for recorded %s and %s", rec.Name, g, m, r)
			}
			sidMap[r], seen[g] = g, r
		}
	}
	if n < 20 {
		t.Fatalf("replayed only %d recordings of the sequence", n)
	}
	if got := len(sidMap); got != 3 { // room01 twice (before and after end), room07
		t.Errorf("distinct sessions %d, want 3", got)
	}
}

// TestReplayFresh replays every recording from 30 on against a fresh stand-in.
func TestReplayFresh(t *testing.T) {
	for _, rec := range loadRecordings(t) {
		if rec.Name < "30" {
			continue
		}
		t.Run(rec.Name, func(t *testing.T) {
			srv := NewServer(recordedOptions())
			defer srv.Close()
			status, body := replay(t, srv, rec)
			compareAnswer(t, rec, status, body)
		})
	}
}
