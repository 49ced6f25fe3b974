package plugnmeettest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/roomworker/roomworker/plugnmeet"
)

// Defaults of the room life-cycle options.
const (
	// DefaultDepartureTimeout is LiveKit's departure_timeout: how long an
	// emptied room lives on before LiveKit closes it (room_finished).
	DefaultDepartureTimeout = 20 * time.Second
	// DefaultEmptyTimeoutCheck is how often the real server's janitor looks
	// for rooms nobody joined whose empty_timeout has passed. The stand-in
	// runs no janitor unless Options.EmptyTimeoutCheck is set.
	DefaultEmptyTimeoutCheck = 5 * time.Minute
	// DefaultWebhookRetryWait is the wait before a webhook's second attempt;
	// the third waits twice as long (1 s, then 2 s, as the real server).
	DefaultWebhookRetryWait = time.Second
	// DefaultEmptyTimeout replaces an empty_timeout under MinEmptyTimeout or missing.
	DefaultEmptyTimeout = 1800
	// MinEmptyTimeout is the smallest empty_timeout (seconds) the server keeps.
	MinEmptyTimeout = 120
	// webhookAttempts is the real server's limit: one try and two retries.
	webhookAttempts = 3
)

// Errors of Join and Leave.
var (
	// ErrRoomNotActive: the room has no active session.
	ErrRoomNotActive = errors.New("plugnmeettest: room not active")
	// ErrAlreadyJoined: the user is in the room already.
	ErrAlreadyJoined = errors.New("plugnmeettest: user already in the room")
	// ErrNotJoined: the user is not in the room.
	ErrNotJoined = errors.New("plugnmeettest: user not in the room")
)

// WebhookStats count webhook deliveries, one per event and URL.
type WebhookStats struct {
	// Sent are deliveries answered 2xx, by event.
	Sent map[string]int64 `json:"sent"`
	// Failed are deliveries given up: any other answer (4xx is not
	// retried), or three attempts that failed with a 5xx, 429 or
	// connection error; by event.
	Failed map[string]int64 `json:"failed"`
	// Attempts are HTTP requests made, retries included.
	Attempts int64 `json:"attempts"`
}

func (w WebhookStats) clone() WebhookStats {
	c := WebhookStats{Sent: make(map[string]int64, len(w.Sent)), Failed: make(map[string]int64, len(w.Failed)), Attempts: w.Attempts}
	for k, v := range w.Sent {
		c.Sent[k] = v
	}
	for k, v := range w.Failed {
		c.Failed[k] = v
	}
	return c
}

// livekitRoom is the LiveKit side of a session: it exists from the first
// join until LiveKit closes it.
type livekitRoom struct {
	created      int64 // unix seconds: LiveKit's creation_time
	participants []*participant
	departure    *time.Timer // runs while the room is empty
}

type participant struct {
	identity, sid, trackSID, trackCID string
	joined                            time.Time
	trackVersion                      int64 // unix micro
}

// Join makes userID join roomID's session, as a client that connects to
// LiveKit and publishes its microphone: the first join of the session sends
// room_started, then every join sends participant_joined and
// track_published. A join while the emptied room waits for its departure
// timeout keeps the room.
func (s *Server) Join(roomID, userID string) error {
	if userID == "" {
		return errors.New("plugnmeettest: join: empty user id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[roomID]
	if r == nil || r.ending {
		return ErrRoomNotActive
	}
	now := s.opts.Now()
	if r.lk == nil {
		r.lk = &livekitRoom{created: now.Unix()}
		s.emitLocked(r, "room_started", r.livekitEventJSON("room_started", 0, nil, nil, now))
	}
	for _, p := range r.lk.participants {
		if p.identity == userID {
			return ErrAlreadyJoined
		}
	}
	r.everJoined = true
	if r.lk.departure != nil {
		r.lk.departure.Stop()
		r.lk.departure = nil
	}
	p := &participant{identity: userID, sid: "PA_" + randomID(12), trackSID: "TR_AM" + randomID(12),
		trackCID: "TR_" + randomID(12), joined: now, trackVersion: now.UnixMicro()}
	before := len(r.lk.participants)
	r.lk.participants = append(r.lk.participants, p)
	s.emitLocked(r, "participant_joined", r.livekitEventJSON("participant_joined", before, p, nil, now))
	s.emitLocked(r, "track_published", r.livekitEventJSON("track_published", before, p, p, now))
	return nil
}

// Leave makes userID leave roomID, as a client that disconnects:
// track_unpublished, then participant_left (CLIENT_INITIATED). When the
// last participant left, LiveKit closes the room after DepartureTimeout
// (room_finished), and plugNmeet ends the session SessionEndDelay later
// (session_ended): the room is then no longer active.
func (s *Server) Leave(roomID, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[roomID]
	if r == nil || r.lk == nil {
		return ErrNotJoined
	}
	i := -1
	for j, p := range r.lk.participants {
		if p.identity == userID {
			i = j
		}
	}
	if i < 0 {
		return ErrNotJoined
	}
	p := r.lk.participants[i]
	r.lk.participants = append(r.lk.participants[:i], r.lk.participants[i+1:]...)
	s.leaveLocked(r, p, "CLIENT_INITIATED")
	if len(r.lk.participants) == 0 && !r.ending {
		lk := r.lk
		lk.departure = time.AfterFunc(s.opts.DepartureTimeout, func() { s.departed(r, lk) })
	}
	return nil
}

// Participants returns the identities in roomID's session, in joining order.
func (s *Server) Participants(roomID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[roomID]
	if r == nil || r.lk == nil {
		return nil
	}
	out := make([]string, 0, len(r.lk.participants))
	for _, p := range r.lk.participants {
		out = append(out, p.identity)
	}
	return out
}

func (s *Server) leaveLocked(r *room, p *participant, reason string) {
	now := s.opts.Now()
	left := len(r.lk.participants)
	s.emitLocked(r, "track_unpublished", r.livekitEventJSON("track_unpublished", left, p, p, now))
	s.emitLocked(r, "participant_left", r.livekitEventJSON("participant_left", left, p, nil, now, reason))
}

// departed runs when an emptied LiveKit room's departure timeout passed:
// LiveKit closes it (room_finished) and plugNmeet ends the session a moment
// later (session_ended).
func (s *Server) departed(r *room, lk *livekitRoom) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms[r.id] != r || r.lk != lk || len(lk.participants) > 0 || r.ending {
		return // ended meanwhile, or someone came back
	}
	s.emitLocked(r, "room_finished", r.livekitEventJSON("room_finished", 0, nil, nil, s.opts.Now()))
	r.lk = nil
	r.ending = true
	time.AfterFunc(s.opts.SessionEndDelay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.rooms[r.id] == r {
			s.emitLocked(r, "session_ended", r.sessionEndedJSON(s.opts.Now()))
			s.dropRoomLocked(r.id)
		}
	})
}

// sendAllAwayLocked makes every participant of r's LiveKit room leave (CLIENT_INITIATED, as
// clients do when the session ends) and stops its departure timer.
func (s *Server) sendAllAwayLocked(r *room) {
	for _, p := range r.lk.participants {
		r.lk.participants = r.lk.participants[1:]
		s.leaveLocked(r, p, "CLIENT_INITIATED")
	}
	if r.lk.departure != nil {
		r.lk.departure.Stop()
	}
}

// endSessionLocked ends r as plugNmeet's end-room flow does (endRoom, or a
// moderator): participants leave (CLIENT_INITIATED, as clients do on
// SESSION_ENDED), session_ended, then room_finished when LiveKit had the room.
func (s *Server) endSessionLocked(r *room) {
	if r.lk != nil {
		s.sendAllAwayLocked(r)
	}
	s.emitLocked(r, "session_ended", r.sessionEndedJSON(s.opts.Now()))
	if r.lk != nil {
		s.emitLocked(r, "room_finished", r.livekitEventJSON("room_finished", 0, nil, nil, s.opts.Now()))
		r.lk = nil
	}
	r.ending = true
}

// janitor ends rooms nobody joined once their empty_timeout has passed,
// counted from creation, checking every EmptyTimeoutCheck (session_ended only).
func (s *Server) janitor(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		now := s.opts.Now()
		for _, id := range append([]string(nil), s.order...) {
			r := s.rooms[id]
			limit := time.Duration(r.emptyTimeout) * s.opts.EmptyTimeoutUnit
			if r.everJoined || r.ending || !now.After(r.createdAt.Add(limit)) {
				continue
			}
			s.emitLocked(r, "session_ended", r.sessionEndedJSON(now))
			s.dropRoomLocked(id)
		}
		s.mu.Unlock()
	}
}

// appliedEmptyTimeout is the server's rule: under 120 s or missing becomes 1800 s.
func appliedEmptyTimeout(v uint64, ok bool) int64 {
	if !ok || v < MinEmptyTimeout {
		return DefaultEmptyTimeout
	}
	return int64(v)
}

// The bodies, shaped like the recorded ones (protojson, compact, proto
// field order, 64-bit integers as strings, room.metadata a JSON string).

func (r *room) webhookMetadata() string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(r.metadata)) != nil {
		return r.metadata
	}
	return b.String()
}

func (r *room) roomCreatedJSON(now time.Time) []byte {
	return r.roomEventJSON("room_created", true, now)
}

func (r *room) sessionEndedJSON(now time.Time) []byte {
	return r.roomEventJSON("session_ended", false, now)
}

// roomEventJSON is the body of a room-level webhook: the event, the room (with its
// empty_timeout for room_created, as plugNmeet sends it), a fresh id and the time.
func (r *room) roomEventJSON(event string, emptyTimeout bool, now time.Time) []byte {
	var b bytes.Buffer
	b.WriteString(`{"event":"` + event + `","room":{"sid":`)
	writeJSON(&b, r.sid)
	b.WriteString(`,"room_id":`)
	writeJSON(&b, r.id)
	if emptyTimeout {
		b.WriteString(`,"empty_timeout":`)
		b.WriteString(formatInt(r.emptyTimeout))
	}
	b.WriteString(`,"creation_time":"`)
	b.WriteString(formatInt(r.created))
	b.WriteString(`","metadata":`)
	writeJSON(&b, r.webhookMetadata())
	b.WriteString(`},"id":`)
	writeJSON(&b, uuid.NewString())
	b.WriteString(`,"created_at":"`)
	b.WriteString(formatInt(now.Unix()))
	b.WriteString(`"}`)
	return b.Bytes()
}

const enabledCodecs = `[{"mime":"audio/opus"},{"mime":"audio/red"},{"mime":"video/vp8"},{"mime":"video/vp9"},{"mime":"video/av1"},{"mime":"video/h264"}]`

// livekitEventJSON builds one of LiveKit's forwarded events. p is the
// participant of participant_* and track_* events, track (the same
// participant) the published microphone of track_* events; reason is
// participant_left's disconnect_reason.
func (r *room) livekitEventJSON(event string, count int, p, track *participant, now time.Time, reason ...string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"event":"`)
	b.WriteString(event)
	b.WriteString(`","room":{"sid":`)
	writeJSON(&b, r.sid)
	b.WriteString(`,"room_id":`)
	writeJSON(&b, r.id)
	b.WriteString(`,"empty_timeout":`)
	b.WriteString(formatInt(r.emptyTimeout))
	b.WriteString(`,"max_participants":`)
	b.WriteString(formatInt(r.maxParticipants))
	if track != nil {
		b.WriteString(`,"creation_time":"0","metadata":`)
		writeJSON(&b, r.webhookMetadata())
	} else {
		created := now.Unix()
		if r.lk != nil {
			created = r.lk.created
		}
		b.WriteString(`,"creation_time":"`)
		b.WriteString(formatInt(created))
		b.WriteString(`","enabled_codecs":`)
		b.WriteString(enabledCodecs)
		b.WriteString(`,"metadata":`)
		writeJSON(&b, r.webhookMetadata())
	}
	b.WriteString(`,"num_participants":`)
	b.WriteString(strconv.Itoa(count))
	b.WriteByte('}')
	switch {
	case track != nil:
		b.WriteString(`,"participant":{"sid":`)
		writeJSON(&b, p.sid)
		b.WriteString(`,"identity":`)
		writeJSON(&b, p.identity)
		b.WriteString(`},"track":{"sid":`)
		writeJSON(&b, track.trackSID)
		b.WriteString(`,"name":"microphone","source":"MICROPHONE","mime_type":"audio/opus","mid":"1","codecs":[{"mime_type":"audio/opus","mid":"1","cid":`)
		writeJSON(&b, track.trackCID)
		b.WriteString(`,"video_layer_mode":"ONE_SPATIAL_LAYER_PER_STREAM"}],"stream":"camera","version":{"unix_micro":"`)
		b.WriteString(formatInt(track.trackVersion))
		b.WriteString(`"},"backup_codec_policy":"SIMULCAST"}`)
	case p != nil:
		state, version := "ACTIVE", 2
		if len(reason) > 0 {
			state, version = "DISCONNECTED", 4
		}
		b.WriteString(`,"participant":{"sid":`)
		writeJSON(&b, p.sid)
		b.WriteString(`,"identity":`)
		writeJSON(&b, p.identity)
		b.WriteString(`,"state":"`)
		b.WriteString(state)
		b.WriteString(`","joined_at":"`)
		b.WriteString(formatInt(p.joined.Unix()))
		b.WriteString(`","joined_at_ms":"`)
		b.WriteString(formatInt(p.joined.UnixMilli()))
		b.WriteString(`","name":`)
		writeJSON(&b, p.identity)
		b.WriteString(`,"version":`)
		b.WriteString(strconv.Itoa(version))
		b.WriteString(`,"permission":{"can_subscribe":true,"can_publish":true,"can_publish_data":true}`)
		if len(reason) > 0 {
			b.WriteString(`,"is_publisher":true,"disconnect_reason":"`)
			b.WriteString(reason[0])
			b.WriteByte('"')
		}
		b.WriteByte('}')
	}
	b.WriteString(`,"id":"EV_`)
	b.WriteString(randomID(12))
	b.WriteString(`","created_at":"`)
	b.WriteString(formatInt(now.Unix()))
	b.WriteString(`"}`)
	return b.Bytes()
}

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomID returns n letters and digits, like LiveKit's ids. It does not
// draw from the fault source, so faults repeat with their seed.
func randomID(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idChars[rand.IntN(len(idChars))]
	}
	return string(b)
}

// emitLocked queues event for r's webhook URLs: the global one first, then
// the room's. It never blocks; nothing is built when no URL is set.
func (s *Server) emitLocked(r *room, event string, body []byte) {
	var urls []string
	if s.opts.WebhookURL != "" {
		urls = append(urls, s.opts.WebhookURL)
	}
	if r.webhook != "" {
		urls = append(urls, r.webhook)
	}
	if len(urls) == 0 || s.hooks == nil {
		return
	}
	s.hooks.enqueue(r.id, hookJob{event: event, body: body, urls: urls})
}

// hookJob is one event to deliver to its URLs, in order.
type hookJob struct {
	event string
	body  []byte
	urls  []string
}

// notifier delivers webhooks like the real server: one queue per room, in
// order, each URL in turn; retries on 5xx (but 501), 429 and connection
// errors, at most 3 attempts, waiting RetryWait then twice that; anything
// else ends the delivery.
type notifier struct {
	s      *Server
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	queues map[string][]hookJob // by room_id; present while its worker runs
}

func newNotifier(s *Server) *notifier {
	ctx, cancel := context.WithCancel(context.Background())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &notifier{s: s, ctx: ctx, cancel: cancel, queues: map[string][]hookJob{},
		client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
}

func (n *notifier) enqueue(roomID string, j hookJob) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ctx.Err() != nil {
		return
	}
	q, running := n.queues[roomID]
	n.queues[roomID] = append(q, j)
	if !running {
		n.wg.Add(1)
		go n.work(roomID)
	}
}

func (n *notifier) work(roomID string) {
	defer n.wg.Done()
	for {
		n.mu.Lock()
		q := n.queues[roomID]
		if len(q) == 0 || n.ctx.Err() != nil {
			delete(n.queues, roomID)
			n.mu.Unlock()
			return
		}
		j := q[0]
		n.queues[roomID] = q[1:]
		n.mu.Unlock()
		for _, u := range j.urls {
			n.deliver(j, u)
		}
	}
}

// deliver posts j to url with a token signed now, retrying as the real server.
func (n *notifier) deliver(j hookJob, url string) {
	token, err := plugnmeet.SignWebhook(n.s.opts.APIKey, n.s.opts.APISecret, j.body, n.s.opts.Now())
	if err != nil { // no secret: nothing can be signed
		n.count(j.event, false, 0)
		return
	}
	wait := n.s.opts.WebhookRetryWait
	for attempt := 1; ; attempt++ {
		retry := n.attempt(j.body, token, url)
		switch {
		case retry == nil:
			n.count(j.event, true, 1)
			return
		case !*retry || attempt == webhookAttempts:
			n.count(j.event, false, 1)
			return
		}
		n.count("", false, 1)
		t := time.NewTimer(wait)
		select {
		case <-n.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait *= 2
	}
}

// attempt makes one request; it returns nil on 2xx, else whether to retry.
func (n *notifier) attempt(body []byte, token, url string) *bool {
	yes, no := true, false
	req, err := http.NewRequestWithContext(n.ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return &no
	}
	req.Header.Set("Authorization", token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Hash-Token", token)
	resp, err := n.client.Do(req)
	if err != nil {
		if n.ctx.Err() != nil {
			return &no
		}
		return &yes
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusTooManyRequests, c >= 500 && c != http.StatusNotImplemented:
		return &yes
	default:
		return &no
	}
}

// count adds attempts and, when event is not "", the delivery's end: sent or failed.
func (n *notifier) count(event string, sent bool, attempts int64) {
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	n.s.stats.Webhooks.Attempts += attempts
	switch {
	case event == "":
	case sent:
		n.s.stats.Webhooks.Sent[event]++
	default:
		n.s.stats.Webhooks.Failed[event]++
	}
}

// close stops deliveries: queued events are dropped, one in flight is cut.
func (n *notifier) close() {
	n.mu.Lock()
	n.cancel()
	n.mu.Unlock()
	n.wg.Wait()
	n.client.CloseIdleConnections()
}
