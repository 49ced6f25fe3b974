package plugnmeettest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/roomworker/roomworker/plugnmeet"
)

// Defaults for Options.
const (
	DefaultLockWait     = 15 * time.Second
	DefaultTimeoutHold  = 60 * time.Second
	DefaultMaxBodyBytes = 50 << 20
)

// Options configure a stand-in.
type Options struct {
	APIKey    string
	APISecret string
	Seed      int64 // seeds the fault random source, so a run can be repeated

	// LockWait is how long a call waits for a room's lock before it gets the
	// lock-timeout answer; 0 means DefaultLockWait (15 s, as the server).
	LockWait time.Duration
	// CreateWork is how long a create holds the room's lock while it
	// creates a new session; 0 means no delay.
	CreateWork time.Duration
	// EndCleanup is how long endRoom keeps holding the room's lock after it
	// answered (the real server cleans up for 1-2 s); 0 means no delay.
	EndCleanup time.Duration
	// TimeoutHold bounds how long a call picked by Faults.TimeoutRate is
	// held; 0 means DefaultTimeoutHold.
	TimeoutHold time.Duration
	// MaxBodyBytes is the upload limit (413 above it); 0 means 50 MB.
	MaxBodyBytes int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// WebhookURL is the server-wide webhook (webhook_conf.url); "" sends
	// none. Every event also goes to the room's metadata.webhook_url when
	// set; with neither, rooms are quiet.
	WebhookURL string
	// WebhookRetryWait is the wait before a failed delivery's second
	// attempt (the third waits twice as long); 0 means 1 s, as the server.
	WebhookRetryWait time.Duration
	// DepartureTimeout is how long LiveKit keeps a room after its last
	// participant left, then sends room_finished; 0 means 20 s.
	DepartureTimeout time.Duration
	// SessionEndDelay is how long after that room_finished plugNmeet ends
	// the session (session_ended, the room no longer active); 0 means
	// DepartureTimeout/20 (1 s, as seen, for 20 s).
	SessionEndDelay time.Duration
	// EmptyTimeoutCheck is how often the janitor ends rooms nobody ever
	// joined whose empty_timeout has passed since creation (session_ended
	// only); the real server checks every 5 min (DefaultEmptyTimeoutCheck).
	// 0 runs no janitor: rooms never expire, as before this option.
	EmptyTimeoutCheck time.Duration
	// EmptyTimeoutUnit is how long one second of empty_timeout lasts, so
	// tests can expire a room quickly (1ms: empty_timeout 120 lasts
	// 120 ms); 0 means time.Second. empty_timeout is the create request's,
	// under 120 or missing becoming 1800.
	EmptyTimeoutUnit time.Duration
}

// Server is the stand-in. It is an http.Handler; NewServer also serves it.
type Server struct {
	// URL is the base URL of a server started by NewServer ("" for NewHandler).
	URL string

	opts Options
	ts   *httptest.Server

	mu      sync.Mutex
	rng     *rand.Rand
	faults  Faults
	rooms   map[string]*room // active sessions by room_id
	order   []string         // room_ids in creation order
	locks   map[string]chan struct{}
	creates map[string]*createCount // by room_id
	stats   Stats

	hooks       *notifier
	stopJanitor context.CancelFunc
}

// createCount follows the create calls that named one room_id.
type createCount struct {
	calls    int // received (counted as Stats.CreateCalls is)
	inFlight int // in progress now
	maxIn    int // the most ever in progress at once
}

type room struct {
	id, sid, title, webhook string
	created                 int64
	metadata                string

	createdAt       time.Time    // Options.Now at creation, for empty_timeout
	emptyTimeout    int64        // seconds, as applied
	maxParticipants int64        // as requested; 0 when absent
	everJoined      bool         // someone joined this session
	ending          bool         // the session is ending (no joins)
	lk              *livekitRoom // LiveKit's room while it exists
}

// NewServer starts a stand-in on 127.0.0.1 on a free port; call Close when done.
func NewServer(opts Options) *Server {
	s := NewHandler(opts)
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	return s
}

// NewHandler returns a stand-in that is not started: serve it yourself.
func NewHandler(opts Options) *Server {
	if opts.LockWait <= 0 {
		opts.LockWait = DefaultLockWait
	}
	if opts.TimeoutHold <= 0 {
		opts.TimeoutHold = DefaultTimeoutHold
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.WebhookRetryWait <= 0 {
		opts.WebhookRetryWait = DefaultWebhookRetryWait
	}
	if opts.DepartureTimeout <= 0 {
		opts.DepartureTimeout = DefaultDepartureTimeout
	}
	if opts.SessionEndDelay <= 0 {
		opts.SessionEndDelay = opts.DepartureTimeout / 20
	}
	if opts.EmptyTimeoutUnit <= 0 {
		opts.EmptyTimeoutUnit = time.Second
	}
	seed := uint64(opts.Seed)
	s := &Server{
		opts:    opts,
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		rooms:   map[string]*room{},
		locks:   map[string]chan struct{}{},
		creates: map[string]*createCount{},
		stats: Stats{Calls: map[string]int64{},
			Webhooks: WebhookStats{Sent: map[string]int64{}, Failed: map[string]int64{}}},
	}
	s.hooks = newNotifier(s)
	if opts.EmptyTimeoutCheck > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopJanitor = cancel
		go s.janitor(ctx, opts.EmptyTimeoutCheck)
	}
	return s
}

// Close stops a server started by NewServer, waiting for calls in flight,
// then stops the janitor and webhook deliveries (queued ones are dropped).
// Call it for a server from NewHandler too.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.CloseClientConnections()
		s.ts.Close()
	}
	if s.stopJanitor != nil {
		s.stopJanitor()
	}
	s.hooks.close()
}

// SetFaults replaces the injected faults; safe while calls are served.
// Rates are clamped to [0, 1] and negative durations to 0.
func (s *Server) SetFaults(f Faults) {
	clamp := func(r *float64) { *r = min(max(*r, 0), 1) }
	clamp(&f.Error5xxRate)
	clamp(&f.ResetRate)
	clamp(&f.TimeoutRate)
	clamp(&f.LockTimeoutRate)
	clamp(&f.LostAnswerRate)
	f.Latency, f.LatencyJitter = max(f.Latency, 0), max(f.LatencyJitter, 0)
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Calls = make(map[string]int64, len(s.stats.Calls))
	for k, v := range s.stats.Calls {
		st.Calls[k] = v
	}
	st.Webhooks = s.stats.Webhooks.clone()
	st.ActiveRooms = len(s.rooms)
	return st
}

// CreateCalls returns how many create calls named roomID.
func (s *Server) CreateCalls(roomID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.creates[roomID]; c != nil {
		return c.calls
	}
	return 0
}

// MaxConcurrentCreates returns the most create calls naming roomID that were
// ever in progress at the same moment. A call is in progress from its
// arrival (its body read, before any latency) until its handler is done: the
// answer written, the connection dropped, or the caller gone. Every create
// call counts, whatever answers it (faults and 401s included); one whose
// body names no room_id is not followed.
func (s *Server) MaxConcurrentCreates(roomID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.creates[roomID]; c != nil {
		return c.maxIn
	}
	return 0
}

// EndRoom ends roomID's session from the test side at once, as if the last
// participant left and the room closed by itself: participants leave,
// room_finished (when someone had joined), session_ended. It does nothing
// when the room is not active.
func (s *Server) EndRoom(roomID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[roomID]
	if r == nil {
		return
	}
	if r.lk != nil {
		s.sendAllAwayLocked(r)
		s.emitLocked(r, "room_finished", r.livekitEventJSON("room_finished", 0, nil, nil, s.opts.Now()))
		r.lk = nil
	}
	r.ending = true
	s.emitLocked(r, "session_ended", r.sessionEndedJSON(s.opts.Now()))
	s.dropRoomLocked(roomID)
}

// ActiveRoom returns roomID's active session as a client would decode it.
func (s *Server) ActiveRoom(roomID string) (plugnmeet.RoomInfo, bool) {
	s.mu.Lock()
	r, ok := s.rooms[roomID]
	s.mu.Unlock()
	if !ok {
		return plugnmeet.RoomInfo{}, false
	}
	var info plugnmeet.RoomInfo
	if err := json.Unmarshal(r.roomInfoJSON(), &info); err != nil {
		return plugnmeet.RoomInfo{}, false
	}
	return info, true
}

func (s *Server) dropRoomLocked(roomID string) {
	if _, ok := s.rooms[roomID]; ok {
		delete(s.rooms, roomID)
		s.order = slices.DeleteFunc(s.order, func(id string) bool { return id == roomID })
	}
}

// answer is one reply: status, content type and body.
type answer struct {
	status int
	ctype  string
	body   []byte
}

// jsonAnswer builds the server's envelope, then the extra fields in order.
func jsonAnswer(httpStatus int, ok bool, msg, code string, extra ...string) answer {
	var b bytes.Buffer
	b.WriteString(`{"status":`)
	if ok {
		b.WriteString("true")
	} else {
		b.WriteString("false")
	}
	b.WriteString(`, "msg":`)
	writeJSON(&b, msg)
	b.WriteString(`, "status_code":`)
	writeJSON(&b, code)
	for i := 0; i+1 < len(extra); i += 2 {
		b.WriteString(`, "`)
		b.WriteString(extra[i])
		b.WriteString(`":`)
		b.WriteString(extra[i+1])
	}
	b.WriteByte('}')
	return answer{status: httpStatus, ctype: "application/json", body: b.Bytes()}
}

func textAnswer(status int, text string) answer {
	return answer{status: status, ctype: "text/plain; charset=utf-8", body: []byte(text)}
}

func htmlAnswer(status int, page string) answer {
	return answer{status: status, ctype: "text/html; charset=utf-8", body: []byte(page)}
}

var notFound = textAnswer(http.StatusNotFound, "not found")

// firewallPage is what nginx with a web application firewall answers a request it refuses.
var firewallPage = htmlAnswer(http.StatusForbidden, "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n"+
	"<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")

// appPage is a single-page web app's index, served for any path its routes do not know.
var appPage = htmlAnswer(http.StatusOK, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"+
	"<title>Meetings</title>\n<script defer src=\"/assets/js/main.js\"></script>\n</head>\n"+
	"<body>\n<noscript>You need to enable JavaScript to run this app.</noscript>\n<div id=\"root\"></div>\n</body>\n</html>\n")

func unauthorized(msg, code string) answer {
	return jsonAnswer(http.StatusUnauthorized, false, msg, code)
}

var badSignature = unauthorized("Failed to verify provided authentication details.", "INVALID_TOKEN_OR_SIGNATURE")

// ServeHTTP answers like the plugNmeet server.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	f := s.Faults()
	s.mu.Lock()
	s.stats.Calls[path]++
	jitter := time.Duration(0)
	if f.LatencyJitter > 0 {
		jitter = time.Duration(s.rng.Int64N(int64(f.LatencyJitter)))
	}
	s.mu.Unlock()

	// An API call's body is read on arrival, so that a create call is in
	// progress from then on, latency included.
	api, create := strings.HasPrefix(path, "/auth/"), path == plugnmeet.RouteCreate
	var body []byte
	var readErr error
	var roomID string // a create call's
	if api {
		body, readErr = io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
		if readErr == nil && create {
			roomID = roomIDOf(body)
			defer s.createInProgress(roomID)()
		}
	}
	if !sleep(r.Context(), f.Latency+jitter) {
		return
	}

	if path == "/healthCheck" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		write(w, textAnswer(http.StatusOK, "Healthy"))
		return
	}
	if !api {
		write(w, notFound)
		return
	}
	if readErr != nil {
		var tooBig *http.MaxBytesError
		if errors.As(readErr, &tooBig) {
			write(w, textAnswer(http.StatusRequestEntityTooLarge, "Request Entity Too Large"))
		}
		return
	}

	if create {
		s.countCreate(roomID)
	}
	// What stands in front of plugNmeet answers before plugNmeet does.
	if create && f.ForbidBodyContaining != "" && bytes.Contains(body, []byte(f.ForbidBodyContaining)) {
		s.countInjected(&s.stats.Injected.Forbidden)
		write(w, firewallPage)
		return
	}
	if f.NotPlugNmeet {
		s.countInjected(&s.stats.Injected.NotPlugNmeet)
		write(w, appPage)
		return
	}
	if a, ok := s.authenticate(r, body, f); !ok {
		if create {
			s.mu.Lock()
			s.stats.CreateAuthFailures++
			s.mu.Unlock()
		}
		write(w, a)
		return
	}
	if r.Method != http.MethodPost {
		write(w, notFound)
		return
	}
	switch path {
	case plugnmeet.RouteCreate:
		s.serveCreate(w, r, body, f)
	case plugnmeet.RouteIsRoomActive:
		write(w, s.isRoomActive(body))
	case plugnmeet.RouteGetActiveRoomInfo:
		write(w, s.getActiveRoomInfo(body))
	case "/auth/room/getActiveRoomsInfo":
		write(w, s.getActiveRoomsInfo())
	case plugnmeet.RouteEndRoom:
		write(w, s.endRoom(r.Context(), body))
	default:
		write(w, notFound)
	}
}

func (s *Server) countInjected(n *int64) {
	s.mu.Lock()
	*n++
	s.mu.Unlock()
}

// authenticate checks the headers as the server does, in the same order.
func (s *Server) authenticate(r *http.Request, body []byte, f Faults) (answer, bool) {
	fail := func(a answer) (answer, bool) {
		s.mu.Lock()
		s.stats.AuthFailures++
		if f.Unauthorized {
			s.stats.Injected.Unauthorized++
		}
		s.mu.Unlock()
		return a, false
	}
	if f.Unauthorized {
		return fail(badSignature)
	}
	key := r.Header.Get("API-KEY")
	if key == "" {
		return fail(unauthorized("Missing API-KEY header.", "MISSING_REQUIRED_PARAMETER"))
	}
	if key != s.opts.APIKey {
		return fail(unauthorized("Invalid API key provided.", "INVALID_API_KEY"))
	}
	sig := r.Header.Get("HASH-SIGNATURE")
	if sig == "" {
		return fail(unauthorized("Missing HASH-SIGNATURE header.", "MISSING_REQUIRED_PARAMETER"))
	}
	if !plugnmeet.Verify([]byte(s.opts.APISecret), body, sig) {
		return fail(badSignature)
	}
	return answer{}, true
}

type faultKind int

const (
	noFault faultKind = iota
	faultReset
	faultTimeout
	fault5xx
	faultLockTimeout
	faultLostAnswer
)

// pickFault draws the fault for one create call.
func (s *Server) pickFault(f Faults) faultKind {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.rng.Float64()
	for _, c := range []struct {
		rate float64
		kind faultKind
		n    *int64
	}{
		{f.ResetRate, faultReset, &s.stats.Injected.Resets},
		{f.TimeoutRate, faultTimeout, &s.stats.Injected.Timeouts},
		{f.Error5xxRate, fault5xx, &s.stats.Injected.Errors5xx},
		{f.LockTimeoutRate, faultLockTimeout, &s.stats.Injected.LockTimeouts},
		{f.LostAnswerRate, faultLostAnswer, &s.stats.Injected.LostAnswers},
	} {
		if u < c.rate {
			*c.n++
			return c.kind
		}
		u -= c.rate
	}
	return noFault
}

// roomIDOf returns the room_id a create body names, if it can be read.
func roomIDOf(body []byte) string {
	var probe struct {
		RoomID    string `json:"room_id"`
		CamelCase string `json:"roomId"`
	}
	_ = json.Unmarshal(body, &probe) // only to count calls per room; decoding proper comes later
	return probe.RoomID + probe.CamelCase
}

// countCreate counts a create call, by room when it names one.
func (s *Server) countCreate(roomID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.CreateCalls++
	if roomID != "" {
		s.createCountLocked(roomID).calls++
	}
}

// createInProgress marks a create call naming roomID as in progress and
// returns the function that marks it done.
func (s *Server) createInProgress(roomID string) (done func()) {
	if roomID == "" {
		return func() {}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.createCountLocked(roomID)
	c.inFlight++
	c.maxIn = max(c.maxIn, c.inFlight)
	s.stats.MaxConcurrentCreates = max(s.stats.MaxConcurrentCreates, c.maxIn)
	return func() {
		s.mu.Lock()
		c.inFlight--
		s.mu.Unlock()
	}
}

func (s *Server) createCountLocked(roomID string) *createCount {
	c := s.creates[roomID]
	if c == nil {
		c = &createCount{}
		s.creates[roomID] = c
	}
	return c
}

func (s *Server) serveCreate(w http.ResponseWriter, r *http.Request, body []byte, f Faults) {
	roomID := roomIDOf(body)
	switch s.pickFault(f) {
	case faultReset:
		dropConnection(w, true)
		return
	case faultTimeout:
		if sleep(r.Context(), s.opts.TimeoutHold) {
			write(w, textAnswer(http.StatusGatewayTimeout, "Gateway Timeout"))
		}
		return
	case fault5xx:
		write(w, textAnswer(http.StatusServiceUnavailable, "Service Unavailable"))
		return
	case faultLockTimeout:
		write(w, lockTimeout(roomID))
		return
	case faultLostAnswer:
		s.create(r.Context(), body)
		dropConnection(w, false)
		return
	}
	a := s.create(r.Context(), body)
	if r.Context().Err() != nil {
		s.mu.Lock()
		s.stats.Abandoned++
		s.mu.Unlock()
	}
	write(w, a)
}

func lockTimeout(roomID string) answer {
	return jsonAnswer(http.StatusOK, false,
		"timeout waiting to acquire lock for room "+roomID+", operation is currently locked",
		plugnmeet.StatusInternalServerError)
}

func invalid(msg string) answer {
	return jsonAnswer(http.StatusOK, false, msg, plugnmeet.StatusInvalidParameters)
}

func internal(msg string) answer {
	return jsonAnswer(http.StatusOK, false, msg, plugnmeet.StatusInternalServerError)
}

// decodeError words a decoding failure as the server does: "proto:" and a
// non-breaking space, as this protobuf build prints it.
func decodeError(err error) answer {
	return invalid("proto:\u00a0" + err.Error())
}

// create handles a create-room request body.
func (s *Server) create(ctx context.Context, body []byte) answer {
	req, err := decodeMessage(body, createRoomReq)
	if err != nil {
		return decodeError(err)
	}
	if vs := validateCreate(req); len(vs) > 0 {
		return invalid(violationsMessage(vs))
	}
	roomID := req["room_id"].(string)
	md := req["metadata"].(mval)

	release, ok := s.lockRoom(ctx, roomID)
	if !ok {
		return lockTimeout(roomID)
	}
	defer release()

	s.mu.Lock()
	existing := s.rooms[roomID]
	s.mu.Unlock()
	if existing != nil {
		// An active session is returned as it is; the request is ignored.
		return jsonAnswer(http.StatusOK, true, "success", plugnmeet.StatusSuccess, "room_info", string(existing.roomInfoJSON()))
	}

	// Failures the real server only meets when it writes the room.
	switch {
	case strings.HasPrefix(roomID, "user_"):
		return internal("RoomId cannot start with the reserved pattern 'user_'")
	case strings.Contains(roomID, "-FIELD_"):
		return internal("RoomId cannot contain the reserved pattern '-FIELD_'")
	case len(roomID) > 64:
		return internal("Error 1406 (22001): Data too long for column 'roomId' at row 1")
	case utf8.RuneCountInString(md["room_title"].(string)) > 255:
		return internal("Error 1406 (22001): Data too long for column 'room_title' at row 1")
	}
	if !sleep(ctx, s.opts.CreateWork) {
		return internal("context canceled")
	}

	nowT := s.opts.Now()
	now := nowT.Unix()
	applied, err := appliedMetadata(md, now, uuid.NewString())
	if err != nil {
		return internal(err.Error())
	}
	webhook, _ := md["webhook_url"].(string)
	emptyTimeout, hasTimeout := req["empty_timeout"].(uint64)
	maxParticipants, _ := req["max_participants"].(uint64)
	rm := &room{id: roomID, sid: uuid.NewString(), title: md["room_title"].(string), webhook: webhook,
		created: now, metadata: encodeMetadata(applied), createdAt: nowT,
		emptyTimeout: appliedEmptyTimeout(emptyTimeout, hasTimeout), maxParticipants: int64(maxParticipants)}
	s.mu.Lock()
	s.rooms[roomID] = rm
	s.order = append(s.order, roomID)
	s.stats.RoomsCreated++
	s.emitLocked(rm, "room_created", rm.roomCreatedJSON(nowT))
	s.mu.Unlock()
	return jsonAnswer(http.StatusOK, true, "success", plugnmeet.StatusSuccess, "room_info", string(rm.roomInfoJSON()))
}

// roomInfoJSON is room_info in the server's protojson shape.
func (r *room) roomInfoJSON() []byte {
	var b bytes.Buffer
	b.WriteString(`{"room_title":`)
	writeJSON(&b, r.title)
	b.WriteString(`, "room_id":`)
	writeJSON(&b, r.id)
	b.WriteString(`, "sid":`)
	writeJSON(&b, r.sid)
	b.WriteString(`, "joined_participants":"0", "is_running":1, "is_recording":0, "is_active_rtmp":0, "webhook_url":`)
	writeJSON(&b, r.webhook)
	b.WriteString(`, "is_breakout_room":0, "parent_room_id":"", "creation_time":"`)
	b.WriteString(formatInt(r.created))
	b.WriteString(`", "metadata":`)
	writeJSON(&b, r.metadata)
	b.WriteByte('}')
	return b.Bytes()
}

func (r *room) withParticipants() string {
	return `{"room_info":` + string(r.roomInfoJSON()) + `, "participants_info":[]}`
}

// decodeRoomID decodes and validates a {"room_id"} request.
func decodeRoomID(body []byte) (string, *answer) {
	req, err := decodeMessage(body, roomIDReq)
	if err != nil {
		a := decodeError(err)
		return "", &a
	}
	if vs := validateRoomID(req); len(vs) > 0 {
		a := invalid(violationsMessage(vs))
		return "", &a
	}
	return req["room_id"].(string), nil
}

func (s *Server) activeRoom(id string) *room {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[id]
}

func (s *Server) isRoomActive(body []byte) answer {
	id, bad := decodeRoomID(body)
	if bad != nil {
		return *bad
	}
	if s.activeRoom(id) != nil {
		return jsonAnswer(http.StatusOK, true, "room is active", plugnmeet.StatusSuccess, "is_active", "true")
	}
	return jsonAnswer(http.StatusOK, true, "room not found", plugnmeet.StatusRoomNotFound, "is_active", "false")
}

func (s *Server) getActiveRoomInfo(body []byte) answer {
	id, bad := decodeRoomID(body)
	if bad != nil {
		return *bad
	}
	if r := s.activeRoom(id); r != nil {
		return jsonAnswer(http.StatusOK, true, "success", plugnmeet.StatusSuccess, "room", r.withParticipants())
	}
	return jsonAnswer(http.StatusOK, false, "room not found in active state", plugnmeet.StatusRoomNotFound, "room", "null")
}

func (s *Server) getActiveRoomsInfo() answer {
	s.mu.Lock()
	parts := make([]string, 0, len(s.order))
	for _, id := range s.order {
		parts = append(parts, s.rooms[id].withParticipants())
	}
	s.mu.Unlock()
	if len(parts) == 0 {
		// As the server: status false, nothing listed.
		return jsonAnswer(http.StatusOK, false, plugnmeet.MsgNoActiveRoom, plugnmeet.StatusRoomNotFound, "rooms", "[]")
	}
	return jsonAnswer(http.StatusOK, true, "success", plugnmeet.StatusSuccess, "rooms", "["+strings.Join(parts, ", ")+"]")
}

func (s *Server) endRoom(ctx context.Context, body []byte) answer {
	id, bad := decodeRoomID(body)
	if bad != nil {
		return *bad
	}
	release, ok := s.lockRoom(ctx, id)
	if !ok {
		return lockTimeout(id)
	}
	s.mu.Lock()
	r, active := s.rooms[id]
	if active {
		s.endSessionLocked(r)
	}
	s.dropRoomLocked(id)
	s.mu.Unlock()
	if !active {
		release()
		return jsonAnswer(http.StatusOK, false, "room not found or not active", plugnmeet.StatusRoomNotFound)
	}
	if s.opts.EndCleanup > 0 {
		time.AfterFunc(s.opts.EndCleanup, release) // clean-up keeps the room locked a while
	} else {
		release()
	}
	return jsonAnswer(http.StatusOK, true, "success", plugnmeet.StatusSuccess)
}

// lockRoom takes roomID's lock, waiting at most LockWait (or until ctx ends).
func (s *Server) lockRoom(ctx context.Context, roomID string) (release func(), ok bool) {
	s.mu.Lock()
	ch := s.locks[roomID]
	if ch == nil {
		ch = make(chan struct{}, 1)
		s.locks[roomID] = ch
	}
	s.mu.Unlock()
	t := time.NewTimer(s.opts.LockWait)
	defer t.Stop()
	select {
	case ch <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-ch }) }, true
	case <-t.C:
		s.mu.Lock()
		s.stats.LockTimeouts++
		s.mu.Unlock()
		return nil, false
	case <-ctx.Done():
		return nil, false
	}
}

func write(w http.ResponseWriter, a answer) {
	w.Header().Set("Content-Type", a.ctype)
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body) // the client may be gone; nothing to do about it
}

// dropConnection closes the client's connection without an answer; with
// reset it makes the close a TCP reset.
func dropConnection(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): the best left is an empty answer.
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
