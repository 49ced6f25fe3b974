package schema

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamples checks the convention of ../examples, which `make demo`
// publishes: files named invalid-* fail validation, all others pass, and
// every file has its own room_id so the demo's results can be told apart.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../examples/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found %d examples, want at least 5", len(files))
	}
	seen := map[string]string{}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var req struct {
				RoomID string `json:"room_id"`
			}
			if err := json.Unmarshal(data, &req); err != nil || req.RoomID == "" {
				t.Errorf("no room_id (%v)", err)
			} else if other, dup := seen[req.RoomID]; dup {
				t.Errorf("room_id %q also used by %s", req.RoomID, other)
			}
			seen[req.RoomID] = name

			err = Validate(data)
			switch {
			case strings.HasPrefix(name, "invalid-") && err == nil:
				t.Error("named invalid-* but passes validation")
			case !strings.HasPrefix(name, "invalid-") && err != nil:
				t.Errorf("fails validation: %v", err)
			}
		})
	}
}

func TestExampleErrors(t *testing.T) {
	tests := []struct {
		file string
		want []FieldError
	}{
		{"invalid-three-errors.json", []FieldError{
			{"/max_participants", "must be at least 1"},
			{"/metadata/room_title", "is required"},
			{"/metadata/webhook_url", "must be an absolute http:// or https:// URL"},
		}},
		{"invalid-room-id.json", []FieldError{
			{"/room_id", `must not start with "user_" (reserved by plugNmeet)`},
		}},
	}
	for _, tt := range tests {
		data, err := os.ReadFile(filepath.Join("..", "examples", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		var verr *Error
		if !errors.As(Validate(data), &verr) {
			t.Fatalf("%s: want *Error", tt.file)
		}
		if len(verr.Errors) != len(tt.want) {
			t.Fatalf("%s: got %v, want %v", tt.file, verr.Errors, tt.want)
		}
		for i := range tt.want {
			if verr.Errors[i] != tt.want[i] {
				t.Errorf("%s: error %d = %v, want %v", tt.file, i, verr.Errors[i], tt.want[i])
			}
		}
	}
}

func TestNoWebcamsExampleAsksForFalse(t *testing.T) {
	data, err := os.ReadFile("../examples/no-webcams.json")
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		Metadata struct {
			RoomFeatures map[string]any `json:"room_features"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	if req.Metadata.RoomFeatures["allow_webcams"] != false {
		t.Errorf("allow_webcams = %v, want false (the demo shows plugNmeet ignoring it)", req.Metadata.RoomFeatures["allow_webcams"])
	}
}
