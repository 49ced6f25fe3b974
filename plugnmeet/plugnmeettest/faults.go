package plugnmeettest

import (
	"encoding/json"
	"fmt"
	"time"
)

// Faults are the failures the stand-in injects. The zero value injects none.
// The rates are probabilities in [0, 1] drawn for every create call, in this
// order: reset, timeout, 5xx, lock timeout, lost answer (at most one per call).
// What stands in front of plugNmeet answers first: ForbidBodyContaining, then
// NotPlugNmeet, then Unauthorized; a call they answer creates nothing and
// draws no rate. Latency applies to every call.
type Faults struct {
	Latency       time.Duration // added to every call
	LatencyJitter time.Duration // plus a uniform random extra in [0, LatencyJitter)

	// Error5xxRate: answer 503 Service Unavailable (as a proxy would) without creating.
	Error5xxRate float64
	// ResetRate: reset the connection without answering and without creating.
	ResetRate float64
	// TimeoutRate: hold the call until the client gives up (at most
	// Options.TimeoutHold, then 504) without creating.
	TimeoutRate float64
	// LockTimeoutRate: answer the server's lock-timeout INTERNAL_SERVER_ERROR.
	LockTimeoutRate float64
	// LostAnswerRate: create the room, then drop the connection before any reply.
	LostAnswerRate float64

	// Unauthorized: every /auth call answers 401, as for a bad signature.
	Unauthorized bool
	// ForbidBodyContaining, when not empty: a create call whose body
	// contains it answers 403 with a small HTML page, as a web application
	// firewall in front of plugNmeet would, without creating. Other calls
	// (isRoomActive, the credential probe) are not affected.
	ForbidBodyContaining string
	// NotPlugNmeet: every call under /auth/ answers 200 with an HTML page,
	// as a web app's fallback route does when the URL points at the web app
	// rather than the API, without creating.
	NotPlugNmeet bool
}

// Validate reports a rate outside [0, 1] or a negative duration.
func (f Faults) Validate() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"error_rate", f.Error5xxRate}, {"reset_rate", f.ResetRate}, {"timeout_rate", f.TimeoutRate},
		{"lock_timeout_rate", f.LockTimeoutRate}, {"lost_answer_rate", f.LostAnswerRate}} {
		if !(r.v >= 0 && r.v <= 1) {
			return fmt.Errorf("faults: %s %v is not in [0, 1]", r.name, r.v)
		}
	}
	if f.Latency < 0 || f.LatencyJitter < 0 {
		return fmt.Errorf("faults: latency %v and latency_jitter %v must not be negative", f.Latency, f.LatencyJitter)
	}
	return nil
}

// faultsJSON is the wire form of Faults: durations as Go duration strings.
type faultsJSON struct {
	Latency         string  `json:"latency,omitempty"`
	LatencyJitter   string  `json:"latency_jitter,omitempty"`
	Error5xxRate    float64 `json:"error_rate"`
	ResetRate       float64 `json:"reset_rate"`
	TimeoutRate     float64 `json:"timeout_rate"`
	LockTimeoutRate float64 `json:"lock_timeout_rate"`
	LostAnswerRate  float64 `json:"lost_answer_rate"`
	Unauthorized    bool    `json:"unauthorized"`
	ForbidBody      string  `json:"forbid_body_containing,omitempty"`
	NotPlugNmeet    bool    `json:"not_plugnmeet"`
}

// MarshalJSON writes snake_case keys and durations like "250ms".
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		Latency: f.Latency.String(), LatencyJitter: f.LatencyJitter.String(),
		Error5xxRate: f.Error5xxRate, ResetRate: f.ResetRate, TimeoutRate: f.TimeoutRate,
		LockTimeoutRate: f.LockTimeoutRate, LostAnswerRate: f.LostAnswerRate, Unauthorized: f.Unauthorized,
		ForbidBody: f.ForbidBodyContaining, NotPlugNmeet: f.NotPlugNmeet,
	})
}

// UnmarshalJSON reads the form MarshalJSON writes; absent keys are zero.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var w faultsJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	parse := func(name, s string) (time.Duration, error) {
		if s == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("faults: %s: %w", name, err)
		}
		return d, nil
	}
	lat, err := parse("latency", w.Latency)
	if err != nil {
		return err
	}
	jit, err := parse("latency_jitter", w.LatencyJitter)
	if err != nil {
		return err
	}
	*f = Faults{Latency: lat, LatencyJitter: jit, Error5xxRate: w.Error5xxRate, ResetRate: w.ResetRate,
		TimeoutRate: w.TimeoutRate, LockTimeoutRate: w.LockTimeoutRate, LostAnswerRate: w.LostAnswerRate,
		Unauthorized: w.Unauthorized, ForbidBodyContaining: w.ForbidBody, NotPlugNmeet: w.NotPlugNmeet}
	return nil
}

// FaultStats counts injected faults by kind.
type FaultStats struct {
	Errors5xx    int64 `json:"errors_5xx"`
	Resets       int64 `json:"resets"`
	Timeouts     int64 `json:"timeouts"`
	LockTimeouts int64 `json:"lock_timeouts"`
	LostAnswers  int64 `json:"lost_answers"`
	Unauthorized int64 `json:"unauthorized"`
	Forbidden    int64 `json:"forbidden"`     // 403 pages for ForbidBodyContaining
	NotPlugNmeet int64 `json:"not_plugnmeet"` // HTML pages for NotPlugNmeet
}

// Stats are the stand-in's counters since it started.
type Stats struct {
	CreateCalls  int64            `json:"create_calls"`  // create calls received, whatever became of them
	Calls        map[string]int64 `json:"calls"`         // calls received by path
	RoomsCreated int64            `json:"rooms_created"` // new sessions started
	ActiveRooms  int              `json:"active_rooms"`  // sessions active now
	AuthFailures int64            `json:"auth_failures"` // 401 answers, injected ones included
	// CreateAuthFailures are the create calls among AuthFailures.
	CreateAuthFailures int64 `json:"create_auth_failures"`
	// Abandoned are create calls that reached room creation but whose caller had gone (timed out,
	// cancelled, killed) by the time the answer was ready: the caller cannot know the outcome.
	Abandoned    int64 `json:"abandoned"`
	LockTimeouts int64 `json:"lock_timeouts"` // callers that waited LockWait for a room lock in vain
	// MaxConcurrentCreates is the most create calls for one room_id that
	// were ever in progress at the same moment, over all rooms (see
	// Server.MaxConcurrentCreates).
	MaxConcurrentCreates int          `json:"max_concurrent_creates"`
	Injected             FaultStats   `json:"injected"` // faults injected, by kind
	Webhooks             WebhookStats `json:"webhooks"` // webhook deliveries
}
