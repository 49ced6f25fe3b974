package events

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
)

func TestNewEndRoomRequest(t *testing.T) { testRoomRequest(t, TypeEndRoom, NewEndRoomRequest) }

func TestNewCancelRoomRequest(t *testing.T) { testRoomRequest(t, TypeCancelRoom, NewCancelRoomRequest) }

// testRoomRequest checks a constructor of a request that names one room (room.end, room.cancel).
func testRoomRequest(t *testing.T, typ string, newRequest func(string, ...RequestOption) (*event.Event, error)) {
	t.Helper()
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		roomID      string
		opts        []RequestOption
		wantErr     error  // nil = success
		wantMsg     string // substring of the error
		wantSubject string
		wantSource  string
	}{
		{"plain", "weekly-sync", nil, nil, "", "weekly-sync", DefaultSource},
		{"all allowed characters", "Aa09_-", nil, nil, "", "Aa09_-", DefaultSource},
		{"64 characters", strings.Repeat("r", 64), nil, nil, "", strings.Repeat("r", 64), DefaultSource},
		{"options", "r1", []RequestOption{WithSource("urn:test"), WithID("fixed"), WithTime(at), WithSubject("other")},
			nil, "", "other", "urn:test"},
		{"empty", "", nil, ErrInvalidRoomID, `invalid room_id "": is empty`, "", ""},
		{"65 characters", strings.Repeat("r", 65), nil, ErrInvalidRoomID, "longer than 64", "", ""},
		{"space", "a b", nil, ErrInvalidRoomID, "must only contain ASCII letters, digits, '-' or '_'", "", ""},
		{"non-ASCII", "räume", nil, ErrInvalidRoomID, "must only contain", "", ""},
		{"newline", "a\nb", nil, ErrInvalidRoomID, `"a\nb"`, "", ""},
		{"reserved prefix", "user_1", nil, ErrInvalidRoomID, `must not start with "user_"`, "", ""},
		{"reserved infix", "a-FIELD_b", nil, ErrInvalidRoomID, `must not contain "-FIELD_"`, "", ""},
		{"bad option", "r1", []RequestOption{WithID("")}, ErrInvalidEvent, "id is required", "", ""},
		{"bad extension", "r1", []RequestOption{WithExtension("Bad-Name", "x")}, ErrInvalidEvent, "Bad-Name", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := newRequest(tt.roomID, tt.opts...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("err = %v, want %v mentioning %q", err, tt.wantErr, tt.wantMsg)
				}
				if ev != nil {
					t.Errorf("got an event with the error: %v", ev)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type() != typ || ev.Subject() != tt.wantSubject || ev.Source() != tt.wantSource ||
				ev.DataContentType() != "application/json" || ev.ID() == "" || ev.Time().IsZero() {
				t.Errorf("event = %v", ev)
			}
			if want := `{"room_id":"` + tt.roomID + `"}`; string(ev.Data()) != want {
				t.Errorf("data = %s, want %s", ev.Data(), want)
			}
			if err := ev.Validate(); err != nil {
				t.Errorf("not a valid CloudEvent: %v", err)
			}
		})
	}

	a, _ := newRequest("r1")
	b, _ := newRequest("r1")
	if a.ID() == b.ID() {
		t.Error("two requests got the same id")
	}
	if _, err := uuid.Parse(a.ID()); err != nil {
		t.Errorf("default id %q is not a UUID", a.ID())
	}
	// What the worker reads back: the request decodes in both modes to the same event.
	for _, enc := range []struct {
		mode   Mode
		encode func(*event.Event) (nats.Header, []byte, error)
	}{{ModeBinary, EncodeBinary}, {ModeStructured, EncodeStructured}} {
		h, body, err := enc.encode(a)
		if err != nil {
			t.Fatal(err)
		}
		got, mode, err := Decode(h, body)
		if err != nil || mode != enc.mode || got.Type() != typ || got.ID() != a.ID() || string(got.Data()) != string(a.Data()) {
			t.Errorf("%s: decoded %v in %s mode (%v)", enc.mode, got, mode, err)
		}
	}
}
