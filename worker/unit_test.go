package worker

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestBackoffGrowsWithinBounds(t *testing.T) {
	b := backoff{base: 100 * time.Millisecond, max: 2 * time.Second}
	for trial := range 200 {
		prev := time.Duration(0)
		for attempt := 1; attempt <= 8; attempt++ {
			d := b.delay(attempt, 0)
			ceil := min(b.base<<(attempt-1), b.max)
			if d < ceil/2 || d > ceil {
				t.Fatalf("trial %d attempt %d: delay %v outside [%v, %v]", trial, attempt, d, ceil/2, ceil)
			}
			if d < prev && ceil < b.max {
				t.Fatalf("trial %d: delay shrank from %v to %v before reaching the cap", trial, prev, d)
			}
			prev = d
		}
	}
	if d := b.delay(1, 1500*time.Millisecond); d != 1500*time.Millisecond {
		t.Errorf("Retry-After 1.5s gave %v, want 1.5s (a floor below RETRY_MAX_DELAY)", d)
	}
}

// A proxy's Retry-After: 86400 must not park a request for a day: it is capped at RETRY_MAX_DELAY.
func TestRetryAfterIsCappedAtRetryMaxDelay(t *testing.T) {
	b := backoff{base: 100 * time.Millisecond, max: 2 * time.Second}
	for _, ra := range []time.Duration{7 * time.Second, 86400 * time.Second, time.Duration(1<<63 - 1)} {
		if d := b.delay(1, ra); d != b.max {
			t.Errorf("Retry-After %v gave %v, want RETRY_MAX_DELAY %v", ra, d, b.max)
		}
	}
}

func TestAppliedWarnings(t *testing.T) {
	req := json.RawMessage(`{"room_title":"T","room_features":{"allow_webcams":false,"mute_on_start":false,
		"chat_features":{"is_allow":true,"max_file_size":50,"allowed_file_types":["pdf"]}},
		"default_lock_settings":{"lock_microphone":false,"lock_webcam":true},"extra_data":{"a/b":"c"}}`)
	applied := json.RawMessage(`{"room_title":"T","room_features":{"allow_webcams":true,"mute_on_start":false,
		"chat_features":{"is_allow":true,"max_file_size":"50","allowed_file_types":["pdf","png"]}},
		"default_lock_settings":{},"extra_data":{"a/b":"c"}}`)
	var reqTree any
	if err := decodeNumbers(req, &reqTree); err != nil {
		t.Fatal(err)
	}
	got, err := appliedWarnings(reqTree, applied)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		path           string
		requested, app any
	}{
		{"/metadata/default_lock_settings/lock_webcam", true, nil},
		{"/metadata/room_features/allow_webcams", false, true},
		{"/metadata/room_features/chat_features/allowed_file_types", nil, nil},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d warnings %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if got[i].Path != w.path {
			t.Errorf("warning %d at %s, want %s", i, got[i].Path, w.path)
		}
		if w.requested != nil && got[i].Requested != w.requested {
			t.Errorf("%s: requested %v, want %v", w.path, got[i].Requested, w.requested)
		}
	}
	// A missing false optional (lock_microphone) and "50" for 50 are the same setting: no warning.
}

func TestHashTreeIgnoresKeyOrderAndSpacing(t *testing.T) {
	hash := func(s string) string {
		var v any
		if err := decodeNumbers([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return hashTree(v)
	}
	a := hash(`{"room_id":"r","metadata":{"room_title":"x","n":1.50,"l":[1,"1"]}}`)
	b := hash("{ \"metadata\" : {\"l\":[1, \"1\"], \"n\":1.50, \"room_title\":\"x\"},\n \"room_id\":\"r\"}")
	if a != b {
		t.Error("the same request with other spacing and key order hashes differently")
	}
	for _, other := range []string{
		`{"room_id":"r","metadata":{"room_title":"y","n":1.50,"l":[1,"1"]}}`, // another title
		`{"room_id":"r","metadata":{"room_title":"x","n":1.5,"l":[1,"1"]}}`,  // 1.5 is not spelled 1.50
		`{"room_id":"r","metadata":{"room_title":"x","n":1.50,"l":["1",1]}}`, // order in arrays matters
		`{"room_id":"r","metadata":{"room_title":"x","n":1.50,"l":[1,1]}}`,   // a number is not a string
		`{"room_id":"r","metadata":{"room_title":"x","n":1.50,"l":[1,"1"],"e":{}}}`,
	} {
		if hash(other) == a {
			t.Errorf("%s hashes like the original", other)
		}
	}
}

func TestEncodedRecordAndResultKeepRoomInfo(t *testing.T) {
	info := json.RawMessage(`{"sid":"s1","metadata":{"room_title":"x"}}`)
	b, err := Record{State: StateCreated, SID: "s1", RoomInfo: info}.encode()
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil || string(r.RoomInfo) != string(info) || r.SID != "s1" {
		t.Fatalf("record round trip: %s -> %+v (%v)", b, r, err)
	}
}

func TestConsumerDiffSortsEverySetting(t *testing.T) {
	w := &Worker{cfg: Config{Consumer: "c", RequestSubject: "rooms.create", EndSubject: "rooms.end", RequestTimeout: 10 * time.Second,
		MaxDeliver: 100, MaxAckPending: 1024, Concurrency: 64, ConsumerSettingsVersion: 1}}
	want := w.consumerConfig()
	if d := append(append(immutableDiff(want, want), brokenDiff(want, want, 64)...), tunableDiff(want, want)...); len(d) != 0 {
		t.Fatalf("identical configs differ: %v", d)
	}
	have := want
	have.AckWait = time.Minute
	have.MaxDeliver = 5
	have.MaxAckPending = 10
	have.FilterSubject = "rooms.>"
	have.BackOff = []time.Duration{time.Second}
	have.HeadersOnly = true
	have.MaxRequestBatch = 1
	have.MaxRequestExpires = time.Second
	have.PriorityGroups = []string{"g"}
	have.AckPolicy = jetstream.AckAllPolicy
	have.DeliverPolicy = jetstream.DeliverNewPolicy
	if d := tunableDiff(have, want); len(d) != 3 {
		t.Errorf("tunables: got %v, want AckWait, MaxDeliver, MaxAckPending", d)
	}
	if d := brokenDiff(have, want, 64); len(d) != 6 {
		t.Errorf("settings that break fetching: got %v, want 6", d)
	}
	if d := immutableDiff(have, want); len(d) != 2 {
		t.Errorf("settings that cannot change in place: got %v, want AckPolicy and DeliverPolicy", d)
	}
	if v := settingsVersion(want); v != 1 {
		t.Errorf("settings version %d, want 1", v)
	}
}
