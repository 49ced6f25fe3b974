package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
)

// binary is the roomworker binary built once for the process tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "roomworker-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "roomworker")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a roomworker process started by a test.
type proc struct {
	cmd    *exec.Cmd
	output *testenv.LogBuffer
	exited chan struct{}
	err    error
}

func startProc(t *testing.T, e *testenv.Env, extra ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary)
	cmd.Env = append(os.Environ(),
		"NATS_URL="+e.NS.ClientURL(),
		"PLUGNMEET_URL="+e.Standin.URL,
		"PLUGNMEET_API_KEY="+testenv.APIKey,
		"PLUGNMEET_API_SECRET="+testenv.APISecret,
		"METRICS_ADDR=127.0.0.1:0",
		"REQUEST_TIMEOUT=1s",
		"RETRY_BASE_DELAY=50ms",
		"RETRY_MAX_DELAY=500ms",
		"LOG_LEVEL=debug",
	)
	cmd.Env = append(cmd.Env, extra...)
	p := &proc{cmd: cmd, output: &testenv.LogBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.output, p.output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("roomworker output (tail):\n%s", p.output.Tail(30))
		}
	})
	e.Eventually(15*time.Second, "roomworker consuming", func() bool {
		return strings.Contains(p.output.String(), `"msg":"consuming"`)
	})
	return p
}

func TestSIGKILLMidRunEveryRequestGetsOneResult(t *testing.T) {
	e := testenv.New(t)
	e.Standin.SetFaults(plugnmeettest.Faults{Latency: 200 * time.Millisecond})
	first := startProc(t, e, "CONCURRENCY=64")
	const n = 200
	var ids []string
	for i := range n {
		ev := testenv.NewEvent("", testenv.Request(fmt.Sprintf("kill-%03d", i)))
		ids = append(ids, ev.ID())
		e.Publish(ev)
	}
	// Kill while work is in flight: some results stored, most not.
	e.WaitResults(20, 30*time.Second)
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.exited
	before := len(e.Results())
	if before >= n {
		t.Fatalf("all %d results were in before the kill; the test proves nothing", n)
	}
	startProc(t, e, "CONCURRENCY=64")
	e.WaitResults(n, 90*time.Second)
	time.Sleep(500 * time.Millisecond)
	per := map[string]int{}
	sids := map[string]map[string]bool{}
	for _, r := range e.Results() {
		if r.Ev.Type() != events.TypeRoomCreated {
			t.Errorf("%s: %s", r.Ev.Type(), r.Ev.Data())
			continue
		}
		per[r.RequestID()]++
		if sids[r.Created.RoomID] == nil {
			sids[r.Created.RoomID] = map[string]bool{}
		}
		sids[r.Created.RoomID][r.Created.SID] = true
	}
	for _, id := range ids {
		if per[id] != 1 {
			t.Errorf("request %s has %d results, want exactly 1", id, per[id])
		}
	}
	for room, s := range sids {
		if len(s) != 1 {
			t.Errorf("room %s got %d sids", room, len(s))
		}
	}
	t.Logf("results before the kill: %d of %d; create calls at the stand-in: %d", before, n, e.Standin.Stats().CreateCalls)
}

func TestSIGTERMDuringSlowCreateLosesNothing(t *testing.T) {
	e := testenv.New(t)
	e.Standin.SetFaults(plugnmeettest.Faults{Latency: 2 * time.Second})
	p := startProc(t, e, "REQUEST_TIMEOUT=5s", "SHUTDOWN_TIMEOUT=10s")
	ev := testenv.NewEvent("", testenv.Request("slow-room"))
	e.Publish(ev)
	e.Eventually(10*time.Second, "request delivered", func() bool { return e.ConsumerInfo().NumAckPending == 1 })
	time.Sleep(300 * time.Millisecond) // the create call is now waiting on the stand-in's latency
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("roomworker did not exit within 20s of SIGTERM")
	}
	if p.err != nil {
		t.Fatalf("exit after SIGTERM: %v, want status 0", p.err)
	}
	got := e.Results()
	if len(got) != 1 || got[0].Ev.Type() != events.TypeRoomCreated || got[0].RequestID() != ev.ID() {
		t.Fatalf("the in-flight create should finish within the grace period: %d results", len(got))
	}
	info := e.ConsumerInfo()
	if info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("ack pending %d, pending %d after a clean shutdown", info.NumAckPending, info.NumPending)
	}
}

func TestSIGTERMAfterGracePeriodNaksAndNothingIsLost(t *testing.T) {
	e := testenv.New(t)
	e.Standin.SetFaults(plugnmeettest.Faults{Latency: 3 * time.Second})
	p := startProc(t, e, "REQUEST_TIMEOUT=5s", "SHUTDOWN_TIMEOUT=500ms")
	ev := testenv.NewEvent("", testenv.Request("slower-room"))
	e.Publish(ev)
	e.Eventually(10*time.Second, "request delivered", func() bool { return e.ConsumerInfo().NumAckPending == 1 })
	time.Sleep(300 * time.Millisecond) // the create call is now waiting on the stand-in's latency
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.exited
	if p.err != nil {
		t.Fatalf("exit after SIGTERM: %v, want status 0", p.err)
	}
	if n := len(e.Results()); n != 0 {
		t.Fatalf("%d results from a cancelled create", n)
	}
	e.Standin.SetFaults(plugnmeettest.Faults{})
	startProc(t, e, "REQUEST_TIMEOUT=5s")
	got := e.WaitResults(1, 30*time.Second)
	if got[0].Ev.Type() != events.TypeRoomCreated || got[0].RequestID() != ev.ID() {
		t.Fatalf("got %s for %s", got[0].Ev.Type(), got[0].RequestID())
	}
}

func TestBadConfigurationNamesTheVariable(t *testing.T) {
	cases := map[string]struct {
		env  map[string]string
		want string
	}{
		"no plugNmeet URL":  {map[string]string{}, "PLUGNMEET_URL is required"},
		"bad duration":      {map[string]string{"RETRY_BASE_DELAY": "soon"}, "RETRY_BASE_DELAY: invalid value"},
		"bad number":        {map[string]string{"CONCURRENCY": "many"}, "CONCURRENCY: invalid value"},
		"zero concurrency":  {map[string]string{"CONCURRENCY": "0"}, "CONCURRENCY must be 1..4096"},
		"relative URL":      {map[string]string{"PLUGNMEET_URL": "meet.example.com"}, "PLUGNMEET_URL \"meet.example.com\" is not an absolute http(s) URL"},
		"max deliver":       {map[string]string{"MAX_DELIVER": "5"}, "MAX_DELIVER must be -1 (unlimited) or greater than MAX_ATTEMPTS (10)"},
		"missing secret":    {map[string]string{"PLUGNMEET_API_SECRET": ""}, "PLUGNMEET_API_SECRET is required"},
		"secret file":       {map[string]string{"PLUGNMEET_API_SECRET": "", "PLUGNMEET_API_SECRET_FILE": "/nonexistent/secret"}, "PLUGNMEET_API_SECRET_FILE: open /nonexistent/secret"},
		"bad log level":     {map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL must be"},
		"retention":         {map[string]string{"REQUEST_RETENTION": "interest"}, "REQUEST_RETENTION must be workqueue or limits"},
		"wildcard subject":  {map[string]string{"REQUEST_SUBJECT": "rooms.>"}, "REQUEST_SUBJECT must be"},
		"cert without key":  {map[string]string{"NATS_CERT": "/tmp/c.pem"}, "NATS_CERT and NATS_KEY must be set together"},
		"two secret inputs": {map[string]string{"PLUGNMEET_API_SECRET_FILE": "/tmp/x"}, "PLUGNMEET_API_SECRET and PLUGNMEET_API_SECRET_FILE are both set"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"PLUGNMEET_URL": "http://127.0.0.1:1", "PLUGNMEET_API_KEY": "k", "PLUGNMEET_API_SECRET": "topsecret"}
			if name == "no plugNmeet URL" {
				delete(env, "PLUGNMEET_URL")
			}
			for k, v := range c.env {
				env[k] = v
			}
			var out bytes.Buffer
			err := run(context.Background(), nil, testenv.MapLookup(env), &out, &out)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one naming %q", err, c.want)
			}
			if strings.Contains(err.Error()+out.String(), "topsecret") {
				t.Error("the secret leaked into the error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}
