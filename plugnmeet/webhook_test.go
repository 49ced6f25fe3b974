package plugnmeet_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/roomworker/roomworker/plugnmeet"
)

// webhooksDir holds the 160 deliveries recorded from a real plugNmeet
// v2.4.0 server (see its README.md), beside the repository.
var webhooksDir = filepath.Join("testdata", "webhooks") // a copy of ../shared/plugnmeet-recorded/webhooks

// delivery is one recorded webhook POST.
type delivery struct {
	Name    string            `json:"-"`
	At      float64           `json:"at"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

func (d delivery) header() http.Header {
	h := http.Header{}
	for k, v := range d.Headers {
		h.Set(k, v)
	}
	return h
}

func (d delivery) at() time.Time {
	sec, frac := math.Modf(d.At)
	return time.Unix(int64(sec), int64(frac*1e9))
}

func loadDeliveries(t testing.TB) []delivery {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(webhooksDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded webhooks in %s (%v)", webhooksDir, err)
	}
	slices.Sort(files)
	out := make([]delivery, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d delivery
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		d.Name = strings.TrimSuffix(filepath.Base(f), ".json")
		out = append(out, d)
	}
	return out
}

func recordedVerifier(at time.Time) plugnmeet.WebhookVerifier {
	return plugnmeet.WebhookVerifier{APIKey: recordedKey, APISecret: recordedSecret, Now: func() time.Time { return at }}
}

// Every recorded delivery verifies at the time it arrived, and decodes to
// the body's own event, id, room and time.
func TestVerifyRecordedWebhooks(t *testing.T) {
	ds := loadDeliveries(t)
	if len(ds) != 160 {
		t.Errorf("%d recorded deliveries, the README lists 160", len(ds))
	}
	for _, d := range ds {
		t.Run(d.Name, func(t *testing.T) {
			wh, err := recordedVerifier(d.at()).Verify(d.header(), []byte(d.Body))
			if err != nil {
				t.Fatal(err)
			}
			var want struct {
				Event     string `json:"event"`
				ID        string `json:"id"`
				CreatedAt string `json:"created_at"`
				Room      struct {
					RoomID string `json:"room_id"`
					SID    string `json:"sid"`
				} `json:"room"`
			}
			if err := json.Unmarshal([]byte(d.Body), &want); err != nil {
				t.Fatal(err)
			}
			if wh.Event != want.Event || wh.ID != want.ID || wh.RoomID != want.Room.RoomID || wh.SID != want.Room.SID {
				t.Errorf("decoded %q %q %q %q, body has %+v", wh.Event, wh.ID, wh.RoomID, wh.SID, want)
			}
			if wh.RoomID == "" || wh.SID == "" {
				t.Errorf("room_id %q sid %q: every recorded delivery names its room", wh.RoomID, wh.SID)
			}
			if got := strconv.FormatInt(wh.CreatedAt.Unix(), 10); got != want.CreatedAt {
				t.Errorf("CreatedAt %v (%s), body %s", wh.CreatedAt, got, want.CreatedAt)
			}
			if string(wh.Body) != d.Body {
				t.Error("Body is not the signed body")
			}
			// Hash-Token alone verifies too.
			h := d.header()
			h.Del("Authorization")
			if _, err := recordedVerifier(d.at()).Verify(h, []byte(d.Body)); err != nil {
				t.Errorf("Hash-Token only: %v", err)
			}
		})
	}
}

// hs signs claims with alg and key, as an attacker or a misconfigured sender would.
func hs(t *testing.T, m jwt.SigningMethod, key any, claims jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func hashOf(body []byte) string {
	sum := sha256.Sum256(body)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Each tampered delivery fails as unverified, naming the check.
func TestVerifyRefusesTampered(t *testing.T) {
	var d delivery
	for _, x := range loadDeliveries(t) {
		if x.Name == "S05-participant_joined-global" {
			d = x
		}
	}
	body := []byte(d.Body)
	tok := d.Headers["Authorization"]
	at := d.at()
	v := recordedVerifier(at)
	iat := at.Truncate(time.Second)
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": recordedKey, "iat": iat.Unix(), "nbf": iat.Unix(),
			"exp": iat.Add(5 * time.Minute).Unix(), "sha256": hashOf(body)}
		if mod != nil {
			mod(c)
		}
		return c
	}
	secret := []byte(recordedSecret)
	other, _ := plugnmeet.SignWebhook(recordedKey, recordedSecret, []byte(`{"event":"room_finished","id":"EV_x"}`), iat)

	flipped := slices.Clone(body)
	flipped[len(flipped)/2] ^= 1
	parts := strings.Split(tok, ".")
	noneTok := b64(`{"alg":"none","typ":"JWT"}`) + "." + parts[1] + "."
	// alg none carrying a valid HS256 signature must not pass either.
	noneWithSig := b64(`{"alg":"none","typ":"JWT"}`) + "." + parts[1] + "." + parts[2]
	// A header of alg alone (no typ), rightly signed, is fine.
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(b64(`{"alg":"HS256"}`) + "." + parts[1]))
	minimalHeader := b64(`{"alg":"HS256"}`) + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	cases := []struct {
		name    string
		header  map[string]string
		body    []byte
		now     time.Time
		failure plugnmeet.WebhookFailure
	}{
		{"body byte changed", map[string]string{"Authorization": tok}, flipped, at, plugnmeet.WebhookBodyHashMismatch},
		{"body empty", map[string]string{"Authorization": tok}, nil, at, plugnmeet.WebhookBodyHashMismatch},
		{"wrong secret", map[string]string{"Authorization": hs(t, jwt.SigningMethodHS256, []byte("not-the-secret"), claims(nil))}, body, at, plugnmeet.WebhookBadSignature},
		{"signature changed", map[string]string{"Authorization": tok[:len(tok)-2] + "AA"}, body, at, plugnmeet.WebhookBadSignature},
		{"alg none", map[string]string{"Authorization": noneTok}, body, at, plugnmeet.WebhookBadAlgorithm},
		{"alg none with signature", map[string]string{"Authorization": noneWithSig}, body, at, plugnmeet.WebhookBadAlgorithm},
		{"alg none by the library", map[string]string{"Authorization": hs(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil))}, body, at, plugnmeet.WebhookBadAlgorithm},
		{"HS384", map[string]string{"Authorization": hs(t, jwt.SigningMethodHS384, secret, claims(nil))}, body, at, plugnmeet.WebhookBadAlgorithm},
		{"HS512", map[string]string{"Authorization": hs(t, jwt.SigningMethodHS512, secret, claims(nil))}, body, at, plugnmeet.WebhookBadAlgorithm},
		{"unknown alg", map[string]string{"Authorization": b64(`{"alg":"XX1"}`) + "." + parts[1] + "." + parts[2]}, body, at, plugnmeet.WebhookBadAlgorithm},
		{"expired", map[string]string{"Authorization": tok}, body, at.Add(6 * time.Minute), plugnmeet.WebhookExpired},
		{"not yet valid", map[string]string{"Authorization": tok}, body, at.Add(-time.Minute), plugnmeet.WebhookNotYetValid},
		{"iat in the future", map[string]string{"Authorization": hs(t, jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["iat"] = iat.Add(time.Minute).Unix() }))}, body, at, plugnmeet.WebhookNotYetValid},
		{"token for another body", map[string]string{"Authorization": other}, body, at, plugnmeet.WebhookBodyHashMismatch},
		{"missing header", map[string]string{}, body, at, plugnmeet.WebhookMissingToken},
		{"empty header", map[string]string{"Authorization": "", "Hash-Token": ""}, body, at, plugnmeet.WebhookMissingToken},
		{"Bearer prefix", map[string]string{"Authorization": "Bearer " + tok}, body, at, plugnmeet.WebhookMalformedToken},
		{"garbled", map[string]string{"Authorization": "not.a.jwt"}, body, at, plugnmeet.WebhookMalformedToken},
		{"two segments", map[string]string{"Authorization": parts[0] + "." + parts[1]}, body, at, plugnmeet.WebhookMalformedToken},
		{"huge", map[string]string{"Authorization": strings.Repeat("a", 9000)}, body, at, plugnmeet.WebhookMalformedToken},
		{"wrong iss", map[string]string{"Authorization": hs(t, jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["iss"] = "someone-else" }))}, body, at, plugnmeet.WebhookWrongIssuer},
		{"no iss", map[string]string{"Authorization": hs(t, jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { delete(c, "iss") }))}, body, at, plugnmeet.WebhookMissingClaim},
		{"no exp", map[string]string{"Authorization": hs(t, jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { delete(c, "exp") }))}, body, at, plugnmeet.WebhookMissingClaim},
		{"no sha256", map[string]string{"Authorization": hs(t, jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { delete(c, "sha256") }))}, body, at, plugnmeet.WebhookMissingClaim},
		{"sha256 unpadded", map[string]string{"Authorization": hs(t, jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["sha256"] = strings.TrimRight(hashOf(body), "=") }))}, body, at, plugnmeet.WebhookBodyHashMismatch},
		{"exp a string", map[string]string{"Authorization": hs(t, jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["exp"] = "soon" }))}, body, at, plugnmeet.WebhookMalformedToken},
		{"bad Authorization, good Hash-Token", map[string]string{"Authorization": "x", "Hash-Token": tok}, body, at, plugnmeet.WebhookMalformedToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for k, val := range c.header {
				h.Set(k, val)
			}
			v := v
			v.Now = func() time.Time { return c.now }
			wh, err := v.Verify(h, c.body)
			if err == nil {
				t.Fatalf("verified: %+v", wh)
			}
			if !errors.Is(err, plugnmeet.ErrWebhookUnverified) || errors.Is(err, plugnmeet.ErrWebhookMalformed) {
				t.Errorf("error %v: want ErrWebhookUnverified only", err)
			}
			var f plugnmeet.WebhookFailure
			if !errors.As(err, &f) || f != c.failure {
				t.Errorf("failure %s, want %s (%v)", string(f), string(c.failure), err)
			}
			if !strings.Contains(err.Error(), string(c.failure)) || strings.Contains(err.Error(), recordedSecret) {
				t.Errorf("error text %q: want the failure named and no secret", err)
			}
		})
	}
	if _, err := v.Verify(http.Header{"Authorization": {minimalHeader}}, body); err != nil {
		t.Errorf("header without typ: %v", err)
	}
	// Leeway admits a little skew, and no more.
	lv := v
	lv.Leeway = 30 * time.Second
	lv.Now = func() time.Time { return iat.Add(5*time.Minute + 20*time.Second) }
	if _, err := lv.Verify(d.header(), body); err != nil {
		t.Errorf("20 s past exp with 30 s leeway: %v", err)
	}
	lv.Now = func() time.Time { return iat.Add(-20 * time.Second) }
	if _, err := lv.Verify(d.header(), body); err != nil {
		t.Errorf("20 s before nbf with 30 s leeway: %v", err)
	}
	lv.Now = func() time.Time { return iat.Add(5*time.Minute + 31*time.Second) }
	if _, err := lv.Verify(d.header(), body); !errors.Is(err, plugnmeet.ErrWebhookUnverified) {
		t.Errorf("31 s past exp with 30 s leeway: %v", err)
	}
	// A verifier without credentials verifies nothing.
	for _, bad := range []plugnmeet.WebhookVerifier{{APIKey: recordedKey}, {APISecret: recordedSecret}} {
		bad.Now = v.Now
		if _, err := bad.Verify(d.header(), body); !errors.Is(err, plugnmeet.ErrWebhookUnverified) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// Verified bodies that are not usable events are malformed, not unverified.
func TestVerifyMalformedBody(t *testing.T) {
	now := time.Unix(1796058182, 0)
	v := plugnmeet.WebhookVerifier{APIKey: "k", APISecret: "s", Now: func() time.Time { return now }}
	for _, body := range []string{
		``, `[]`, `"x"`, `null`, `{`, `{"id":"a","created_at":"1"}`, `{"event":"","id":"a"}`,
		`{"event":"room_started","created_at":"1"}`, `{"event":"room_started","id":""}`,
		`{"event":"room_started","id":"a","created_at":"soon"}`, `{"event":"room_started","id":"a","created_at":"-5"}`,
		`{"event":"room_started","id":"a","created_at":1.5}`, `{"event":"room_started","id":"a","created_at":"1e3"}`,
		`{"event":"room_started","id":"a","created_at":true}`, `{"event":7,"id":"a"}`, `{"event":"x","id":"a","room":"r"}`,
		`{"event":"x","id":"a"} trailing`,
	} {
		tok, err := plugnmeet.SignWebhook("k", "s", []byte(body), now)
		if err != nil {
			t.Fatal(err)
		}
		wh, err := v.Verify(http.Header{"Authorization": {tok}}, []byte(body))
		var f plugnmeet.WebhookFailure
		if !errors.Is(err, plugnmeet.ErrWebhookMalformed) || errors.Is(err, plugnmeet.ErrWebhookUnverified) ||
			!errors.As(err, &f) || f != plugnmeet.WebhookMalformed {
			t.Errorf("%s: %+v, %v: want ErrWebhookMalformed", body, wh, err)
		}
	}
	// created_at as a number or absent is accepted; room is optional.
	for body, want := range map[string]time.Time{
		`{"event":"x","id":"a","created_at":1796058182}`: time.Unix(1796058182, 0),
		`{"event":"x","id":"a"}`:                         {},
	} {
		tok, _ := plugnmeet.SignWebhook("k", "s", []byte(body), now)
		wh, err := v.Verify(http.Header{"Hash-Token": {tok}}, []byte(body))
		if err != nil || !wh.CreatedAt.Equal(want) || wh.RoomID != "" || wh.SID != "" {
			t.Errorf("%s: %+v, %v", body, wh, err)
		}
	}
}

// SignWebhook's tokens verify, and over a recorded body at the recorded
// signing time they are the recorded token, byte for byte: same header,
// same claims in the same order, same signature.
func TestSignWebhook(t *testing.T) {
	for _, d := range loadDeliveries(t) {
		tok := d.Headers["Authorization"]
		var claims map[string]any
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
		if err != nil || json.Unmarshal(payload, &claims) != nil {
			t.Fatalf("%s: payload: %v", d.Name, err)
		}
		iat := time.Unix(int64(claims["iat"].(float64)), 0)
		got, err := plugnmeet.SignWebhook(recordedKey, recordedSecret, []byte(d.Body), iat)
		if err != nil {
			t.Fatal(err)
		}
		if got != tok {
			t.Errorf("%s: SignWebhook = %s, recorded %s", d.Name, got, tok)
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range claims {
				if !yield(k) {
					return
				}
			}
		})
		if want := []string{"exp", "iat", "iss", "nbf", "sha256"}; !reflect.DeepEqual(keys, want) {
			t.Errorf("%s: recorded claims %v", d.Name, keys)
		}
	}

	now := time.Date(2026, 12, 1, 10, 0, 0, 700e6, time.UTC)
	body := []byte(`{"event":"room_created","room":{"sid":"s1","room_id":"r1"},"id":"u1","created_at":"1796119200"}`)
	tok, err := plugnmeet.SignWebhook("key", "secret", body, now)
	if err != nil {
		t.Fatal(err)
	}
	v := plugnmeet.WebhookVerifier{APIKey: "key", APISecret: "secret", Now: func() time.Time { return now.Add(4 * time.Minute) }}
	wh, err := v.Verify(http.Header{"Authorization": {tok}, "Hash-Token": {tok}}, body)
	if err != nil {
		t.Fatal(err)
	}
	if wh.Event != "room_created" || wh.ID != "u1" || wh.RoomID != "r1" || wh.SID != "s1" || wh.CreatedAt.Unix() != 1796119200 {
		t.Errorf("round trip: %+v", wh)
	}
	if _, err := plugnmeet.SignWebhook("key", "", body, now); err == nil {
		t.Error("SignWebhook with an empty secret: no error")
	}
	if s := (plugnmeet.WebhookVerifier{APISecret: "secret"}); strings.Contains(s.String(), "secret\"") ||
		strings.Contains(strings.ReplaceAll(s.String()+s.GoString(), "APISecret", ""), "secret") {
		t.Errorf("String shows the secret: %s", s)
	}
}

// FuzzVerifyWebhook: Verify never panics, and whatever it accepts is signed
// over the very body it returns.
func FuzzVerifyWebhook(f *testing.F) {
	for _, d := range loadDeliveries(f)[:8] {
		f.Add(d.Headers["Authorization"], []byte(d.Body), int64(d.At))
	}
	f.Add("", []byte("{}"), int64(0))
	f.Add(b64(`{"alg":"none"}`)+"."+b64(`{"iss":"plugnmeet"}`)+".", []byte(`{"event":"x","id":"y"}`), int64(1796058182))
	f.Fuzz(func(t *testing.T, token string, body []byte, now int64) {
		v := recordedVerifier(time.Unix(now, 0))
		wh, err := v.Verify(http.Header{"Authorization": {token}}, body)
		if err != nil {
			if errors.Is(err, plugnmeet.ErrWebhookUnverified) == errors.Is(err, plugnmeet.ErrWebhookMalformed) {
				t.Fatalf("error %v matches both or neither sentinel", err)
			}
			if strings.Contains(err.Error(), recordedSecret) {
				t.Fatal("error shows the secret")
			}
			return
		}
		payload, perr := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
		var claims struct {
			SHA256 string `json:"sha256"`
		}
		if perr != nil || json.Unmarshal(payload, &claims) != nil || claims.SHA256 != hashOf(body) {
			t.Fatalf("verified a token whose sha256 is not the body's: %s", payload)
		}
		if string(wh.Body) != string(body) || wh.Event == "" || wh.ID == "" {
			t.Fatalf("verified %+v", wh)
		}
	})
}
