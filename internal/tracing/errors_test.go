package tracing

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A collector that stays down fails every export: the log gets one line a minute, which says
// how many were left out.
func TestErrorsAreLoggedAtMostOnceAMinute(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	l := newErrorLogger(slog.New(slog.NewTextHandler(&buf, nil)), func() time.Time { return now })
	fail := errors.New("traces export: connection refused")
	for range 12 { // every 5s for a minute
		l.Handle(fail)
		now = now.Add(5 * time.Second)
	}
	l.Handle(fail)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines for 13 errors over 65s, want 2:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "connection refused") || !strings.Contains(lines[1], "not_logged_since_last=11") {
		t.Errorf("log lines:\n%s", buf.String())
	}
}
