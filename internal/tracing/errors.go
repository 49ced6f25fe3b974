package tracing

import (
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
)

// errorLogInterval is how often at most an OpenTelemetry error reaches the log: a collector
// that is down fails every export batch, every few seconds.
const errorLogInterval = time.Minute

// LogErrors sends the OpenTelemetry SDK's own errors (a failed export, a dropped span) to log
// as warnings, at most one a minute with the count of those left out, instead of the SDK's
// default unstructured lines on stderr. It sets the process-wide otel error handler.
func LogErrors(log *slog.Logger) {
	otel.SetErrorHandler(newErrorLogger(log, time.Now))
}

type errorLogger struct {
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	last    time.Time
	skipped int
}

func newErrorLogger(log *slog.Logger, now func() time.Time) *errorLogger {
	return &errorLogger{log: log, now: now}
}

// Handle implements otel.ErrorHandler.
func (l *errorLogger) Handle(err error) {
	l.mu.Lock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < errorLogInterval {
		l.skipped++
		l.mu.Unlock()
		return
	}
	skipped := l.skipped
	l.last, l.skipped = now, 0
	l.mu.Unlock()
	l.log.Warn("tracing: OpenTelemetry error (spans may be lost; the worker goes on)", "err", err,
		"not_logged_since_last", skipped)
}
