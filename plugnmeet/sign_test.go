package plugnmeet

import (
	"strings"
	"testing"
)

// The expected values were computed outside Go with OpenSSL:
//
//	printf '%s' '{"room_id":"vector01","metadata":{"room_title":"Signature vector","room_features":{"allow_webcams":true}}}' \
//	  | openssl dgst -sha256 -hmac 'test-secret-not-real'
//	printf '%s' '' | openssl dgst -sha256 -hmac 'test-secret-not-real'
func TestSignMatchesOpenSSL(t *testing.T) {
	const secret = "test-secret-not-real"
	tests := []struct{ body, want string }{
		{`{"room_id":"vector01","metadata":{"room_title":"Signature vector","room_features":{"allow_webcams":true}}}`,
			"19dd5b764d6832fdd517b476bfe153bb77cf8420a4d38dc5eb66473f7234b5f0"},
		{``, "4a202cba84f5440affc35f707cb3edfd3e0de9be3c698728ba6adf5ddfe616d1"},
	}
	for _, tt := range tests {
		if got := Sign([]byte(secret), []byte(tt.body)); got != tt.want {
			t.Errorf("Sign(%q) = %s, want %s", tt.body, got, tt.want)
		}
		if !Verify([]byte(secret), []byte(tt.body), tt.want) {
			t.Errorf("Verify refused the OpenSSL signature of %q", tt.body)
		}
		if Verify([]byte(secret), []byte(tt.body), strings.ToUpper(tt.want)) {
			t.Errorf("Verify accepted uppercase hex, which the server refuses")
		}
		if Verify([]byte(secret), []byte(tt.body+" "), tt.want) {
			t.Errorf("Verify accepted a signature over different bytes")
		}
	}
}

func BenchmarkSign(b *testing.B) {
	body := []byte(`{"room_id":"bench","metadata":{"room_title":"` + strings.Repeat("x", 2000) + `","room_features":{}}}`)
	secret := []byte("8ebf61f49bc8ed15b868f3b712a995ddce12")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Sign(secret, body)
	}
}
