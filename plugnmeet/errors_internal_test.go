package plugnmeet

import (
	"math"
	"net/http"
	"testing"
	"time"
)

// Retry-After saturates instead of wrapping: never negative, never smaller
// than what the server asked for.
func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	const maxDuration = time.Duration(math.MaxInt64)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"-99999999999999999999999", 0},
		{"9223372036", 9223372036 * time.Second}, // the largest whole number of seconds a Duration holds
		{"9223372037", maxDuration},
		{"99999999999", maxDuration},
		{"99999999999999999999999", maxDuration}, // beyond int64
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"Fri, 31 Dec 9999 23:59:59 GMT", maxDuration},
		{"soon", 0},
		{"1.5", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
