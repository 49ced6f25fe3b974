package service

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
	"github.com/roomworker/roomworker/worker"
)

// background is Run called in a goroutine by a lifecycle test, with the Listen seam recording
// the HTTP servers' listeners.
type background struct {
	ln     chan net.Listener // receives the listeners Run opened (METRICS_ADDR, then WEBHOOK_ADDR when set, as roomdev does)
	logs   *testenv.LogBuffer
	cancel context.CancelFunc // SIGTERM
	done   chan error         // receives what Run returned
}

// startRun calls Run in the background. Give the lookup as key=value pairs; with e, the
// process is pointed at e's NATS server and stand-in. runWorker, when not nil, replaces how the
// worker runs. Run is stopped when the test ends.
func startRun(t *testing.T, e *testenv.Env, runWorker func(*worker.Worker, context.Context) error, env ...string) *background {
	t.Helper()
	vars := map[string]string{}
	if e != nil {
		vars = map[string]string{
			"NATS_URL":             e.NS.ClientURL(),
			"PLUGNMEET_URL":        e.Standin.URL,
			"PLUGNMEET_API_KEY":    testenv.APIKey,
			"PLUGNMEET_API_SECRET": testenv.APISecret,
			"METRICS_ADDR":         "127.0.0.1:0",
		}
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	b := &background{ln: make(chan net.Listener, 2), logs: &testenv.LogBuffer{}, done: make(chan error, 1)}
	o := Options{
		Lookup: testenv.MapLookup(vars),
		Stderr: b.logs,
		Listen: func(network, addr string) (net.Listener, error) {
			ln, err := net.Listen(network, addr)
			if err == nil {
				b.ln <- ln
			}
			return ln, err
		},
		RunWorker: runWorker,
	}

	var ctx context.Context
	ctx, b.cancel = context.WithCancel(context.Background())
	go func() { b.done <- Run(ctx, o) }()
	t.Cleanup(func() {
		b.cancel()
		select {
		case <-b.done:
		case <-time.After(30 * time.Second):
			t.Error("Run did not return within 30s of the cancellation")
		}
		if t.Failed() {
			t.Logf("roomworker log (tail):\n%s", b.logs.Tail(30))
		}
	})
	return b
}

func (b *background) listener(t *testing.T) net.Listener {
	t.Helper()
	select {
	case ln := <-b.ln:
		return ln
	case err := <-b.done:
		t.Fatalf("Run returned before it listened: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not listen within 15s")
	}
	return nil
}

// returned waits for Run to return on its own.
func (b *background) returned(t *testing.T, within time.Duration, why string) error {
	t.Helper()
	select {
	case err := <-b.done:
		b.done <- err // for the cleanup
		return err
	case <-time.After(within):
		t.Fatalf("Run still running %v after %s", within, why)
		return nil
	}
}

func get(url string) (int, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

func TestMetricsServerFailureStopsTheWorkerAndFailsTheProcess(t *testing.T) {
	e := testenv.New(t)
	workerReturned := make(chan struct{})
	b := startRun(t, e, func(w *worker.Worker, ctx context.Context) error {
		defer close(workerReturned)
		return w.Run(ctx)
	})
	ln := b.listener(t)
	e.Eventually(15*time.Second, "the worker consuming", func() bool {
		return strings.Contains(b.logs.String(), `"msg":"consuming"`)
	})

	_ = ln.Close() // Accept fails: nothing serves /metrics, /healthz, /readyz any more
	err := b.returned(t, 10*time.Second, "its metrics and health server stopped (the process would run unobservable)")
	if err == nil || !strings.Contains(err.Error(), "METRICS_ADDR") {
		t.Fatalf("Run returned %v, want an error naming METRICS_ADDR", err)
	}
	select {
	case <-workerReturned:
	default:
		t.Error("Run returned while the worker was still running")
	}
}

func TestWorkerErrorStopsTheHTTPServerAndFailsTheProcess(t *testing.T) {
	e := testenv.New(t)
	fail := make(chan struct{})
	boom := errors.New("worker: boom")
	b := startRun(t, e, func(_ *worker.Worker, ctx context.Context) error {
		select {
		case <-fail:
			return boom
		case <-ctx.Done():
			return nil
		}
	})
	url := "http://" + b.listener(t).Addr().String() + "/healthz"
	if code, err := get(url); code != http.StatusOK {
		t.Fatalf("/healthz before the failure: %d %v", code, err)
	}

	close(fail)
	err := b.returned(t, 10*time.Second, "the worker failed")
	if !errors.Is(err, boom) {
		t.Fatalf("Run returned %v, want the worker's error", err)
	}
	if code, err := get(url); err == nil {
		t.Errorf("/healthz still answers %d after Run returned", code)
	}
}

func TestHealthzAnswersWhileTheWorkerFinishesAfterSIGTERM(t *testing.T) {
	e := testenv.New(t)
	e.Standin.SetFaults(plugnmeettest.Faults{Latency: 2 * time.Second})
	b := startRun(t, e, nil, "REQUEST_TIMEOUT=5s", "SHUTDOWN_TIMEOUT=10s")
	base := "http://" + b.listener(t).Addr().String()
	e.Eventually(15*time.Second, "the worker consuming", func() bool {
		return strings.Contains(b.logs.String(), `"msg":"consuming"`)
	})
	ev := testenv.NewEvent("", testenv.Request("grace-room"))
	e.Publish(ev)
	// Delivered is not enough (it may still sit in the pull's buffer): wait for the call itself.
	e.Eventually(10*time.Second, "the create call waiting on the stand-in", func() bool {
		return e.Standin.Stats().Calls["/auth/room/create"] == 1
	})

	b.cancel() // SIGTERM while the create call waits on the stand-in
	time.Sleep(300 * time.Millisecond)
	if code, err := get(base + "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz during the grace period: %d %v, want 200", code, err)
	}
	if code, err := get(base + "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the grace period: %d %v, want 503", code, err)
	}
	if err := b.returned(t, 15*time.Second, "SIGTERM"); err != nil {
		t.Fatalf("Run after SIGTERM: %v, want nil (a clean exit)", err)
	}
	if got := e.Results(); len(got) != 1 || got[0].RequestID() != ev.ID() {
		t.Fatalf("%d results, want the in-flight request's", len(got))
	}
	if _, err := get(base + "/healthz"); err == nil {
		t.Error("/healthz still answers after Run returned")
	}
}
