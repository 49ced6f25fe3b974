package service

import (
	"strings"
	"testing"
	"time"

	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/internal/tracing/otlptest"
)

// A sampler that does not exist stops start-up, naming the variable, when tracing is on; with
// tracing on and a good sampler the process starts, says so, and exports its spans.
func TestTracingSettingsAtStartUp(t *testing.T) {
	rcv := otlptest.New(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.Endpoint())
	t.Setenv("OTEL_TRACES_SAMPLER", "sometimes")
	e := testenv.New(t)
	bad := startRun(t, e, nil)
	err := bad.returned(t, 15*time.Second, "a bad OTEL_TRACES_SAMPLER")
	if err == nil || !strings.Contains(err.Error(), "OTEL_TRACES_SAMPLER") || strings.Contains(err.Error(), "tracing: tracing:") {
		t.Fatalf("Run returned %v, want one error naming OTEL_TRACES_SAMPLER", err)
	}

	t.Setenv("OTEL_TRACES_SAMPLER", "always_on")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	good := startRun(t, e, nil)
	good.listener(t)
	e.Publish(testenv.NewEvent("", testenv.Request("traced-at-startup")))
	e.WaitResults(1, 20*time.Second)
	rcv.WaitFor(t, otlptest.Named("process rooms.create"), 10*time.Second)
	if !strings.Contains(good.logs.String(), `"tracing":"on (OTLP/HTTP, sampler always_on)"`) {
		t.Errorf("the start-up line does not say tracing is on:\n%s", good.logs.Tail(10))
	}
}
