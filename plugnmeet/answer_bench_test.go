package plugnmeet

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/roomworker/roomworker/plugnmeet/internal/recorded"
)

// recordedAnswer returns the recorded exchange name as an HTTP answer: its response, body apart.
func recordedAnswer(tb testing.TB, name string) (*http.Response, []byte) {
	tb.Helper()
	recs, err := recorded.Load(filepath.Join("testdata", "recorded"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, rec := range recs {
		if rec.Name == name {
			resp := &http.Response{StatusCode: rec.Status, Header: http.Header{}}
			resp.Header.Set("Content-Type", rec.ResponseContentType)
			return resp, []byte(rec.ResponseBody)
		}
	}
	tb.Fatalf("no recording %s", name)
	return nil, nil
}

// BenchmarkDecodeCreateAnswer is the client's work on a create answer once its bytes are read,
// as it runs per request: the answer (recorded from a real server, ~3.8 KB) decoded into the
// RoomInfo CreateRoom returns ("decode"), then also the normalised room_info JSON the worker
// embeds in its record and room.created ("normalised").
func BenchmarkDecodeCreateAnswer(b *testing.B) {
	resp, data := recordedAnswer(b, "01-create")
	c := &Client{now: time.Now}
	for _, normalise := range []bool{false, true} {
		name := "decode"
		if normalise {
			name = "normalised"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var ans createAnswer
				if err := c.decode(RouteCreate, resp, data, &ans, &ans.envelope, createOnePass(&ans)); err != nil {
					b.Fatal(err)
				}
				info, err := createdRoom(&ans)
				if err != nil {
					b.Fatal(err)
				}
				if normalise {
					if _, err := info.MarshalJSON(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
