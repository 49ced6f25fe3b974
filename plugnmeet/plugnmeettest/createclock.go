package plugnmeettest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/roomworker/roomworker/plugnmeet"
)

// CreateClock stands in front of a handler (a stand-in) and notes when the first create call for
// each room arrived, before anything the stand-in does (latency, faults): to measure how late a
// caller asks for a room, e.g. a booking against its creation time.
type CreateClock struct {
	next http.Handler
	mu   sync.Mutex
	at   map[string]time.Time
}

// NewCreateClock returns a CreateClock in front of next.
func NewCreateClock(next http.Handler) *CreateClock {
	return &CreateClock{next: next, at: map[string]time.Time{}}
}

// ServeHTTP notes the arrival of a room's first create call and passes every call on.
func (c *CreateClock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == plugnmeet.RouteCreate {
		now := time.Now()
		body, err := io.ReadAll(r.Body)
		if err == nil {
			var probe struct {
				RoomID string `json:"room_id"`
			}
			_ = json.Unmarshal(body, &probe)
			c.mu.Lock()
			if _, seen := c.at[probe.RoomID]; !seen {
				c.at[probe.RoomID] = now
			}
			c.mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	c.next.ServeHTTP(w, r)
}

// First returns when the first create call for roomID arrived.
func (c *CreateClock) First(roomID string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.at[roomID]
	return t, ok
}
