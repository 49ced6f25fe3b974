package plugnmeet

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
	"unicode"
)

// API routes, relative to Config.URL.
const (
	RouteCreate            = "/auth/room/create"
	RouteIsRoomActive      = "/auth/room/isRoomActive"
	RouteGetActiveRoomInfo = "/auth/room/getActiveRoomInfo"
	RouteEndRoom           = "/auth/room/endRoom"
	// RouteGetActiveRoomsInfo lists every active session.
	RouteGetActiveRoomsInfo = "/auth/room/getActiveRoomsInfo"
)

// MsgNoActiveRoom is the msg of getActiveRoomsInfo's answer when no session
// is active: status false, no rooms.
const MsgNoActiveRoom = "no active room found"

// DefaultMaxResponseBytes bounds an answer's size when Config.MaxResponseBytes is 0.
const DefaultMaxResponseBytes int64 = 1 << 20

// Config says where the server is and how to authenticate.
type Config struct {
	URL       string // base URL, e.g. http://127.0.0.1:8080; routes are appended
	APIKey    string
	APISecret string // never printed, logged or put in an error
	// HTTPClient is optional; the default keeps many idle connections to one host.
	HTTPClient *http.Client
	// MaxResponseBytes bounds an answer; 0 means DefaultMaxResponseBytes.
	// A larger answer fails with a systemic error: the same call would get
	// the same answer again, so retrying cannot help, and the request is not
	// at fault either; the limit or the URL needs fixing.
	MaxResponseBytes int64
}

// String describes the config with the secret redacted.
func (c Config) String() string {
	return fmt.Sprintf("plugnmeet.Config{URL:%q APIKey:%q APISecret:%s MaxResponseBytes:%d}",
		c.URL, c.APIKey, redact(c.APISecret), c.MaxResponseBytes)
}

// GoString is like String, so %#v does not print the secret either.
func (c Config) GoString() string { return c.String() }

// LogValue lets slog log a Config without its secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", c.URL),
		slog.String("api_key", c.APIKey),
		slog.String("api_secret", redact(c.APISecret)),
		slog.Int64("max_response_bytes", c.MaxResponseBytes),
	)
}

var _ slog.LogValuer = Config{}

func redact(s string) string {
	if s == "" {
		return `""`
	}
	return "[REDACTED]"
}

// Validate reports the first problem with the config.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("plugnmeet: config: URL is empty")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("plugnmeet: config: URL %q: %w", c.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("plugnmeet: config: URL %q must be absolute with scheme http or https", c.URL)
	}
	if u.Host == "" {
		return fmt.Errorf("plugnmeet: config: URL %q has no host", c.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("plugnmeet: config: URL %q must not have a query or fragment", c.URL)
	}
	if strings.TrimSpace(c.APIKey) == "" {
		return errors.New("plugnmeet: config: API key is empty")
	}
	if c.APISecret == "" {
		return errors.New("plugnmeet: config: API secret is empty")
	}
	if c.MaxResponseBytes < 0 {
		return fmt.Errorf("plugnmeet: config: MaxResponseBytes %d is negative", c.MaxResponseBytes)
	}
	return nil
}

// Client calls the plugNmeet API. It is safe for concurrent use.
type Client struct {
	base     string
	key      string
	secret   []byte
	http     *http.Client
	maxBytes int64
	now      func() time.Time
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = DefaultHTTPClient()
	}
	maxBytes := cfg.MaxResponseBytes
	if maxBytes == 0 {
		maxBytes = DefaultMaxResponseBytes
	}
	return &Client{
		base:     strings.TrimRight(cfg.URL, "/"),
		key:      cfg.APIKey,
		secret:   []byte(cfg.APISecret),
		http:     hc,
		maxBytes: maxBytes,
		now:      time.Now,
	}, nil
}

// DefaultHTTPClient returns the client New uses when Config.HTTPClient is nil:
// it keeps up to 256 idle connections to the server, does not follow
// redirects (a redirected POST would lose its body), and leaves call
// deadlines to the caller's context.
func DefaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 512
	tr.MaxIdleConnsPerHost = 256
	tr.IdleConnTimeout = 90 * time.Second
	tr.ResponseHeaderTimeout = 0
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// HTTPClientWithCA is DefaultHTTPClient trusting, besides the system roots, the PEM
// certificates in caFile: for a plugNmeet server behind a private CA (PLUGNMEET_CA).
func HTTPClientWithCA(caFile string) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("plugnmeet: CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("plugnmeet: CA file %s holds no PEM certificate", caFile)
	}
	hc := DefaultHTTPClient()
	tr := hc.Transport.(*http.Transport)
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return hc, nil
}

// envelope is the part every answer shares.
type envelope struct {
	Status     bool   `json:"status"`
	Msg        string `json:"msg"`
	StatusCode string `json:"status_code"`
}

// CreateRoom sends body, a create-room request as raw JSON, exactly as given
// (the signature covers these bytes) and returns the room the server reports.
// For a room_id whose session is active the server returns that session.
func (c *Client) CreateRoom(ctx context.Context, body []byte) (*RoomInfo, error) {
	var ans createAnswer
	if err := c.call(ctx, RouteCreate, body, &ans, &ans.envelope, createOnePass(&ans)); err != nil {
		return nil, err
	}
	return createdRoom(&ans)
}

// createAnswer is the answer of create. It is an unnamed struct type, as encoding/json names
// the type in its errors ("Go struct field .room_info.sid").
type createAnswer = struct {
	envelope
	RoomInfo *RoomInfo `json:"room_info"`
}

// createOnePass returns the one-pass decoding of a create answer into ans.
func createOnePass(ans *createAnswer) func(data []byte) (isEnvelope, ok bool) {
	return func(data []byte) (bool, bool) { return decodeCreateOnePass(data, &ans.envelope, &ans.RoomInfo) }
}

// createdRoom returns the room of a success answer.
func createdRoom(ans *createAnswer) (*RoomInfo, error) {
	if ans.RoomInfo == nil {
		return nil, &Error{Route: RouteCreate, HTTPStatus: http.StatusOK, StatusCode: ans.StatusCode,
			Msg: "success answer without room_info", Class: ClassTransient}
	}
	return ans.RoomInfo, nil
}

// IsRoomActive reports whether roomID has an active session. A room that is
// unknown or ended is (false, nil).
func (c *Client) IsRoomActive(ctx context.Context, roomID string) (bool, error) {
	var ans struct {
		envelope
		IsActive bool `json:"is_active"`
	}
	if err := c.call(ctx, RouteIsRoomActive, roomIDBody(roomID), &ans, &ans.envelope, nil); err != nil {
		return false, err
	}
	return ans.IsActive, nil
}

// GetActiveRoomInfo returns the active session of roomID. When the room has
// no active session the error matches ErrRoomNotFound.
func (c *Client) GetActiveRoomInfo(ctx context.Context, roomID string) (*ActiveRoom, error) {
	var ans struct {
		envelope
		Room *ActiveRoom `json:"room"`
	}
	if err := c.call(ctx, RouteGetActiveRoomInfo, roomIDBody(roomID), &ans, &ans.envelope, nil); err != nil {
		return nil, err
	}
	if ans.Room == nil {
		return nil, &Error{Route: RouteGetActiveRoomInfo, HTTPStatus: http.StatusOK, StatusCode: StatusRoomNotFound,
			Msg: "success answer without room", Class: ClassPermanent}
	}
	return ans.Room, nil
}

// GetActiveRoomsInfo returns every active session, each with its
// participants. When none is active the server answers status false with
// "no active room found"; that is an empty list (nil), not an error.
func (c *Client) GetActiveRoomsInfo(ctx context.Context) ([]ActiveRoom, error) {
	var ans struct {
		envelope
		Rooms []ActiveRoom `json:"rooms"`
	}
	err := c.call(ctx, RouteGetActiveRoomsInfo, []byte("{}"), &ans, &ans.envelope, nil)
	var e *Error
	if errors.As(err, &e) && e.HTTPStatus == http.StatusOK && e.Class == ClassPermanent && noActiveRoom(e) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ans.Rooms, nil
}

// noActiveRoom reports whether a status-false answer of getActiveRoomsInfo
// means "nothing is active". The v2.4.0 server says so in msg; a
// ROOM_NOT_FOUND or NOT_FOUND status_code is taken the same way.
func noActiveRoom(e *Error) bool {
	return strings.EqualFold(strings.TrimSpace(e.Msg), MsgNoActiveRoom) ||
		e.StatusCode == StatusRoomNotFound || e.StatusCode == "NOT_FOUND"
}

// EndRoom ends roomID's active session. When the room has no active session
// the error matches ErrRoomNotFound.
func (c *Client) EndRoom(ctx context.Context, roomID string) error {
	var ans envelope
	return c.call(ctx, RouteEndRoom, roomIDBody(roomID), &ans, &ans, nil)
}

func roomIDBody(roomID string) []byte {
	b, _ := json.Marshal(struct {
		RoomID string `json:"room_id"`
	}{roomID}) // a struct of one string cannot fail to marshal
	return b
}

// call posts body to route, decodes a 200 answer into out (whose envelope is
// env) and turns every failure into an *Error.
//
// onePass, when not nil, decodes a 200 answer in one pass (onepass.go) into out, reporting
// whether it carries plugNmeet's envelope as hasEnvelope does; when it gives up (ok false,
// out untouched), encoding/json decodes the answer.
func (c *Client) call(ctx context.Context, route string, body []byte, out any, env *envelope,
	onePass func(data []byte) (isEnvelope, ok bool)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+route, bytes.NewReader(body))
	if err != nil {
		return &Error{Route: route, Msg: "cannot build request", Class: ClassSystemic, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("API-KEY", c.key)
	req.Header.Set("HASH-SIGNATURE", Sign(c.secret, body))

	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(ctx, route, 0, err)
	}
	defer resp.Body.Close()

	data, readErr := readBody(resp, c.maxBytes+1)
	if readErr != nil {
		return c.transportError(ctx, route, resp.StatusCode, readErr)
	}
	if int64(len(data)) > c.maxBytes {
		return &Error{Route: route, HTTPStatus: resp.StatusCode, Class: ClassSystemic,
			Msg: fmt.Sprintf("answer exceeds %d bytes (raise the response limit if the server is right)", c.maxBytes),
			Err: errTooLarge}
	}
	return c.decode(route, resp, data, out, env, onePass)
}

// decode turns a whole answer (resp's status and headers, data its body) into out (whose
// envelope is env) or into an *Error; see call.
func (c *Client) decode(route string, resp *http.Response, data []byte, out any, env *envelope,
	onePass func(data []byte) (isEnvelope, ok bool)) error {
	ctype := resp.Header.Get("Content-Type")
	if resp.StatusCode != http.StatusOK {
		isEnvelope := hasEnvelope(data)
		class, cause := classifyHTTP(resp.StatusCode, isEnvelope)
		e := &Error{Route: route, HTTPStatus: resp.StatusCode, Class: class, Err: cause}
		if isEnvelope && cause != ErrNotPlugNmeet {
			// Keep plugNmeet's own words, e.g. a 401's INVALID_TOKEN_OR_SIGNATURE.
			var env envelope
			_ = json.Unmarshal(data, &env) // hasEnvelope decoded it already
			e.StatusCode, e.Msg = env.StatusCode, env.Msg
		} else {
			e.Msg = describeBody(ctype, data)
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
		}
		return e
	}

	notPlugNmeet := func() error {
		return &Error{Route: route, HTTPStatus: resp.StatusCode, Class: ClassSystemic,
			Msg: describeBody(ctype, data), Err: ErrNotPlugNmeet}
	}
	if !startsLikeObject(data) {
		// An HTML page (a web app's fallback route, a captive portal), plain
		// text, an empty body or a JSON value that is not an object: not the
		// plugNmeet API, whichever call is made.
		return notPlugNmeet()
	}
	isEnvelope, decoded := false, false
	if onePass != nil {
		isEnvelope, decoded = onePass(data)
	}
	if !decoded {
		if err := json.Unmarshal(data, out); err != nil {
			var syntax *json.SyntaxError
			if !errors.As(err, &syntax) && !hasEnvelope(data) {
				return notPlugNmeet() // whole JSON, but another API's
			}
			// Starts like plugNmeet's answer but is cut short or garbled on the
			// way. The outcome is unknown; every call here is safe to repeat
			// (create returns the live session), so it is retried.
			return &Error{Route: route, HTTPStatus: resp.StatusCode, Class: ClassTransient,
				Msg: "undecodable answer (cut short or mangled): " + snippet(data), Err: err}
		}
		isEnvelope = hasEnvelope(data)
	}
	if !isEnvelope {
		return notPlugNmeet() // whole JSON, but another API's
	}
	if !env.Status {
		return &Error{Route: route, HTTPStatus: resp.StatusCode, StatusCode: env.StatusCode, Msg: env.Msg,
			Class: classifyAnswer(env.StatusCode, env.Msg)}
	}
	return nil
}

// startsLikeObject reports whether b's first byte after white space opens a
// JSON object, as every plugNmeet answer does, cut short or not.
func startsLikeObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// hasEnvelope reports whether b is a JSON object carrying plugNmeet's
// envelope: a boolean status and a string status_code or msg. The real
// server always sends all three.
func hasEnvelope(b []byte) bool {
	if !startsLikeObject(b) {
		return false
	}
	var probe struct {
		Status     *bool   `json:"status"`
		Msg        *string `json:"msg"`
		StatusCode *string `json:"status_code"`
	}
	if json.Unmarshal(b, &probe) != nil {
		return false
	}
	return probe.Status != nil && (probe.Msg != nil || probe.StatusCode != nil)
}

// describeBody describes an answer that is not plugNmeet's envelope: its
// content type and its start.
func describeBody(ctype string, b []byte) string {
	s := snippet(b)
	if s == "" {
		s = "empty answer"
	}
	if ctype == "" {
		return s
	}
	return "(" + ctype + ") " + s
}

// transportError classifies a failure to get (all of) an answer. These are
// transient: the server may or may not have acted, and every call is safe to
// repeat. The context's error is kept so callers can tell their own
// cancellation apart.
func (c *Client) transportError(ctx context.Context, route string, status int, err error) error {
	e := &Error{Route: route, HTTPStatus: status, Class: ClassTransient, Err: err}
	switch {
	case ctx.Err() != nil:
		e.Msg = "call abandoned"
		e.Err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		e.Msg = "connection closed before the answer (outcome unknown)"
	case errors.Is(err, syscall.ECONNRESET):
		e.Msg = "connection reset (outcome unknown)"
	default:
		e.Msg = "network error"
	}
	return e
}

// snippet returns the start of a body for an error message, on one line:
// runs of white space (an HTML page's line breaks) become one space and
// control characters are dropped.
func snippet(b []byte) string {
	const max = 120 // characters
	out := make([]rune, 0, max)
	space := false
	for _, r := range strings.TrimSpace(string(b)) {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r):
			continue
		}
		if space {
			out, space = append(out, ' '), false
		}
		out = append(out, r)
		if len(out) >= max {
			return string(out[:max]) + "..."
		}
	}
	return string(out)
}

// readBody reads at most limit bytes of resp's body into one buffer sized by Content-Length when
// the server sent it (plugNmeet does), instead of growing one from 512 bytes.
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	size := int64(4096) // an answer's usual size, when the server does not say
	if n := resp.ContentLength; n > 0 {
		size = min(n+1, limit) // +1: room for the read that sees EOF
	}
	r := io.LimitReader(resp.Body, limit)
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
