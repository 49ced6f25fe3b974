package plugnmeet

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Webhook verification errors, matched with errors.Is. Every error Verify
// returns matches exactly one of them, and also carries a WebhookFailure
// (errors.As) that names the check that failed.
var (
	// ErrWebhookUnverified: the delivery cannot be trusted (answer 401):
	// missing or garbled token, an algorithm other than HS256 ("none"
	// included), a bad signature, a wrong iss, a token expired or not yet
	// valid, a sha256 claim missing or not the body's.
	ErrWebhookUnverified = errors.New("plugnmeet webhook: unverified")
	// ErrWebhookMalformed: the token verified, but the body is not a JSON
	// object, or has no event, no id, or a created_at that is not unix
	// seconds (answer 400).
	ErrWebhookMalformed = errors.New("plugnmeet webhook: malformed body")
)

// WebhookFailure names the check a delivery failed. The values form a small
// fixed set, fit for a metric label; get it from an error with errors.As.
// Every value but WebhookMalformed matches ErrWebhookUnverified.
type WebhookFailure string

// The failures Verify reports.
const (
	WebhookMissingToken     WebhookFailure = "missing_token"      // neither Authorization nor Hash-Token
	WebhookMalformedToken   WebhookFailure = "malformed_token"    // not a compact JWS with JSON header and claims
	WebhookBadAlgorithm     WebhookFailure = "bad_algorithm"      // alg is not HS256 (none, HS384, RS256...)
	WebhookBadSignature     WebhookFailure = "bad_signature"      // HS256, but not signed with the API secret
	WebhookWrongIssuer      WebhookFailure = "wrong_issuer"       // iss is not the API key
	WebhookExpired          WebhookFailure = "expired"            // exp has passed (beyond Leeway)
	WebhookNotYetValid      WebhookFailure = "not_yet_valid"      // nbf or iat is in the future (beyond Leeway)
	WebhookMissingClaim     WebhookFailure = "missing_claim"      // no exp, iss or sha256
	WebhookBodyHashMismatch WebhookFailure = "body_hash_mismatch" // sha256 is not the body's
	WebhookMalformed        WebhookFailure = "malformed"          // verified, but the body is not a usable event
)

// Error returns "plugnmeet webhook: <failure>".
func (f WebhookFailure) Error() string { return "plugnmeet webhook: " + string(f) }

// Is matches ErrWebhookMalformed for WebhookMalformed and
// ErrWebhookUnverified for every other failure.
func (f WebhookFailure) Is(target error) bool {
	switch target {
	case ErrWebhookMalformed:
		return f == WebhookMalformed
	case ErrWebhookUnverified:
		return f != WebhookMalformed
	}
	return false
}

// webhookError wraps a failure with what was found, never a secret.
func webhookError(f WebhookFailure, format string, args ...any) error {
	return fmt.Errorf("%w: %s", f, fmt.Sprintf(format, args...))
}

// WebhookVerifier checks plugNmeet webhook deliveries.
type WebhookVerifier struct {
	APIKey    string           // the iss claim must equal it
	APISecret string           // HS256 key
	Leeway    time.Duration    // allowed clock skew on exp, nbf, iat
	Now       func() time.Time // nil: time.Now
}

// String describes the verifier with the secret redacted.
func (v WebhookVerifier) String() string {
	return fmt.Sprintf("plugnmeet.WebhookVerifier{APIKey:%q APISecret:%s Leeway:%s}", v.APIKey, redact(v.APISecret), v.Leeway)
}

// GoString is like String, so %#v does not print the secret either.
func (v WebhookVerifier) GoString() string { return v.String() }

// Webhook is a verified delivery.
type Webhook struct {
	Event     string    // "room_started", ...; as sent (lower case)
	ID        string    // the delivery id (same on the global and per-room copy and on retries)
	CreatedAt time.Time // created_at (unix seconds); zero when absent
	RoomID    string    // room.room_id ("" when absent)
	SID       string    // room.sid ("" when absent)
	Body      []byte    // the exact body that was signed
}

// webhookClaims are the claims plugNmeet signs, in the order it writes them.
type webhookClaims struct {
	jwt.RegisteredClaims
	SHA256 string `json:"sha256"`
}

// WebhookTokenTTL is how long a token plugNmeet signs is valid: exp = iat + 5 min.
const WebhookTokenTTL = 5 * time.Minute

// SignWebhook returns the token plugNmeet would send with body: HS256,
// claims exactly iss, exp (iat+5m), nbf, iat, sha256 (standard base64 with
// padding of SHA-256 of body).
func SignWebhook(apiKey, apiSecret string, body []byte, now time.Time) (string, error) {
	if apiSecret == "" {
		return "", errors.New("plugnmeet webhook: sign: API secret is empty")
	}
	now = now.Truncate(time.Second)
	claims := webhookClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    apiKey,
			ExpiresAt: jwt.NewNumericDate(now.Add(WebhookTokenTTL)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
		},
		SHA256: bodyHash(body),
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(apiSecret))
	if err != nil {
		return "", fmt.Errorf("plugnmeet webhook: sign: %w", err)
	}
	return tok, nil
}

func bodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// maxTokenBytes bounds the token Verify parses; plugNmeet's are about 250 bytes.
const maxTokenBytes = 8 << 10

// Verify checks the token (Authorization, or Hash-Token when Authorization is
// absent; both carry the same compact JWS, no Bearer prefix) and the body,
// then decodes the few fields above. Every error matches ErrWebhookUnverified
// or ErrWebhookMalformed and carries a WebhookFailure.
func (v WebhookVerifier) Verify(h http.Header, body []byte) (*Webhook, error) {
	token := h.Get("Authorization")
	if token == "" {
		token = h.Get("Hash-Token")
	}
	switch {
	case token == "":
		return nil, webhookError(WebhookMissingToken, "no Authorization or Hash-Token header")
	case len(token) > maxTokenBytes:
		return nil, webhookError(WebhookMalformedToken, "token of %d bytes", len(token))
	case v.APISecret == "":
		// An empty HMAC key would let anyone sign; refuse rather than accept.
		return nil, webhookError(WebhookBadSignature, "verifier has no API secret")
	case v.APIKey == "":
		return nil, webhookError(WebhookWrongIssuer, "verifier has no API key")
	}
	now := v.Now
	if now == nil {
		now = time.Now
	}
	var claims webhookClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(v.APIKey),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.Leeway),
		jwt.WithTimeFunc(now),
	)
	tok, err := parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) {
		return []byte(v.APISecret), nil
	})
	if err != nil {
		return nil, tokenError(tok, err)
	}
	if claims.SHA256 == "" {
		return nil, webhookError(WebhookMissingClaim, "token has no sha256 claim")
	}
	if want := bodyHash(body); subtle.ConstantTimeCompare([]byte(claims.SHA256), []byte(want)) != 1 {
		return nil, webhookError(WebhookBodyHashMismatch, "sha256 claim does not match the %d-byte body", len(body))
	}
	return decodeWebhook(body)
}

// tokenError turns a jwt parse error into a failure. The jwt errors name
// the check and never contain the key.
func tokenError(tok *jwt.Token, err error) error {
	if tok != nil && tok.Method != nil && tok.Method.Alg() != jwt.SigningMethodHS256.Alg() {
		return webhookError(WebhookBadAlgorithm, "alg %q, want HS256", tok.Method.Alg())
	}
	if tok != nil && tok.Method == nil {
		if alg, ok := tok.Header["alg"].(string); ok && alg != jwt.SigningMethodHS256.Alg() {
			return webhookError(WebhookBadAlgorithm, "alg %q, want HS256", alg)
		}
	}
	var f WebhookFailure
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		f = WebhookMalformedToken
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		f = WebhookBadAlgorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		f = WebhookBadSignature
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		f = WebhookMissingClaim
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		f = WebhookWrongIssuer
	case errors.Is(err, jwt.ErrTokenExpired):
		f = WebhookExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		f = WebhookNotYetValid
	default:
		// Claims that do not decode into their types (an exp that is a
		// string, an iss that is a number): garbled.
		f = WebhookMalformedToken
	}
	return webhookError(f, "%v", err)
}

// maxUnixSeconds is 9999-12-31T23:59:59Z.
const maxUnixSeconds = 253402300799

// decodeWebhook reads the fields of a verified body.
func decodeWebhook(body []byte) (*Webhook, error) {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' || !json.Valid(body) {
		return nil, webhookError(WebhookMalformed, "body is not a JSON object")
	}
	var w struct {
		Event     *string         `json:"event"`
		ID        *string         `json:"id"`
		CreatedAt json.RawMessage `json:"created_at"`
		Room      *struct {
			RoomID string `json:"room_id"`
			SID    string `json:"sid"`
		} `json:"room"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, webhookError(WebhookMalformed, "%v", err)
	}
	if w.Event == nil || *w.Event == "" {
		return nil, webhookError(WebhookMalformed, "no event")
	}
	if w.ID == nil || *w.ID == "" {
		return nil, webhookError(WebhookMalformed, "event %q has no id", *w.Event)
	}
	wh := &Webhook{Event: *w.Event, ID: *w.ID, Body: body}
	if w.Room != nil {
		wh.RoomID, wh.SID = w.Room.RoomID, w.Room.SID
	}
	if len(w.CreatedAt) > 0 && string(w.CreatedAt) != "null" {
		secs, ok := unixSeconds(w.CreatedAt)
		if !ok {
			return nil, webhookError(WebhookMalformed, "created_at %s is not unix seconds", snippet(w.CreatedAt))
		}
		wh.CreatedAt = time.Unix(secs, 0).UTC()
	}
	return wh, nil
}

// unixSeconds reads a protojson int64: a string of decimal digits (as
// plugNmeet sends it) or a JSON integer, between 0 and year 9999.
func unixSeconds(raw json.RawMessage) (int64, bool) {
	s := string(raw)
	if len(s) >= 2 && s[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > maxUnixSeconds {
		return 0, false
	}
	return n, true
}
