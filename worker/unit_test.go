package worker

import (
	"encoding/json"
	"testing"
	"time"
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
	if d := b.delay(1, 7*time.Second); d != 7*time.Second {
		t.Errorf("Retry-After 7s gave %v, want 7s", d)
	}
}

func TestAppliedWarnings(t *testing.T) {
	req := json.RawMessage(`{"room_title":"T","room_features":{"allow_webcams":false,"mute_on_start":false,
		"chat_features":{"is_allow":true,"max_file_size":50,"allowed_file_types":["pdf"]}},
		"default_lock_settings":{"lock_microphone":false,"lock_webcam":true},"extra_data":{"a/b":"c"}}`)
	applied := json.RawMessage(`{"room_title":"T","room_features":{"allow_webcams":true,"mute_on_start":false,
		"chat_features":{"is_allow":true,"max_file_size":"50","allowed_file_types":["pdf","png"]}},
		"default_lock_settings":{},"extra_data":{"a/b":"c"}}`)
	got, err := appliedWarnings(req, applied)
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

func TestPayloadHashIgnoresKeyOrderAndSpacing(t *testing.T) {
	a, _ := payloadHash([]byte(`{"room_id":"r","metadata":{"room_title":"x","n":1.50}}`))
	b, _ := payloadHash([]byte("{ \"metadata\" : {\"n\":1.50, \"room_title\":\"x\"},\n \"room_id\":\"r\"}"))
	c, _ := payloadHash([]byte(`{"room_id":"r","metadata":{"room_title":"y","n":1.50}}`))
	if a != b {
		t.Error("the same request with other spacing and key order hashes differently")
	}
	if a == c {
		t.Error("different requests hash the same")
	}
}

func TestConsumerDiffNamesEverySetting(t *testing.T) {
	w := &Worker{cfg: Config{Consumer: "c", RequestSubject: "rooms.create", RequestTimeout: 10 * time.Second,
		MaxDeliver: 100, MaxAckPending: 1024}}
	want := w.consumerConfig()
	if d := consumerDiff(want, want); len(d) != 0 {
		t.Fatalf("identical configs differ: %v", d)
	}
	have := want
	have.AckWait = time.Minute
	have.MaxDeliver = 5
	have.FilterSubject = "rooms.>"
	have.BackOff = []time.Duration{time.Second}
	d := consumerDiff(have, want)
	if len(d) != 4 {
		t.Fatalf("got %v, want 4 differences", d)
	}
}
