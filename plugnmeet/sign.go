package plugnmeet

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Sign returns the HASH-SIGNATURE plugNmeet expects for body: the lowercase
// hex HMAC-SHA256 of the exact body bytes, keyed with the API secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	var sum [sha256.Size]byte
	var out [sha256.Size * 2]byte
	hex.Encode(out[:], mac.Sum(sum[:0]))
	return string(out[:])
}

// Verify reports whether signature is the lowercase hex signature of body
// under secret, compared in constant time. Uppercase hex is refused, as the
// real server refuses it.
func Verify(secret, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(signature))
}
