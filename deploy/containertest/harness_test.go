package containertest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/testenv"
)

const (
	apiKey    = "plugnmeet"
	apiSecret = "containertest-secret"
)

// Images used when the environment names none.
const (
	defaultRoomworkerImage = "roomworker:local"
	defaultToolsImage      = "roomworker-tools:local"
	defaultNATSImage       = "nats:2.15"
)

func TestMain(m *testing.M) {
	// The reaper image cannot be pulled where there is no registry; every test removes its own
	// containers and networks in t.Cleanup instead.
	if _, ok := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !ok {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	// Mapped ports are published on every host address; the test reaches them on loopback (and
	// not on the bridge gateway that testcontainers picks when it thinks it runs in a container).
	if _, ok := os.LookupEnv("TESTCONTAINERS_HOST_OVERRIDE"); !ok {
		os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	}
	// testcontainers narrates every container's life; CONTAINERTEST_LOG=1 keeps that. A failing
	// test prints the tail of its containers' logs either way.
	if os.Getenv("CONTAINERTEST_LOG") == "" {
		tclog.SetDefault(tclog.NewNoopLogger())
	}
	os.Exit(m.Run())
}

func imageFromEnv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// unavailable skips the test, or fails it when CI=true: CI must run the container suite.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: the container tests must run)", msg)
	}
	t.Skip(msg)
}

// requireImages checks that Docker answers and that every image is already present: the tests
// never pull.
func requireImages(t *testing.T, images ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	provider, err := testcontainers.NewDockerProvider()
	if err != nil {
		unavailable(t, "container tests skipped: no Docker (%v)", err)
	}
	defer provider.Close()
	if err := provider.Health(ctx); err != nil {
		unavailable(t, "container tests skipped: Docker does not answer (%v)", err)
	}
	for _, img := range images {
		if _, err := provider.Client().ImageInspect(ctx, img); err != nil {
			unavailable(t, "container tests skipped: image %s is not present (%v); build the local images with "+
				"deploy/docker/build-local-images.sh and set NATS_IMAGE=nats-server:local, or pull the images named "+
				"by ROOMWORKER_IMAGE, ROOMWORKER_TOOLS_IMAGE and NATS_IMAGE", img, err)
		}
	}
}

// stack is one test's containers on its own Docker network.
type stack struct {
	t          *testing.T
	ctx        context.Context
	net        *testcontainers.DockerNetwork
	rwImage    string
	toolsImage string // roomctl and the stand-in
	natsImage  string
	natsURLs   []string // as the workers see them
	standin    *testcontainers.DockerContainer
	standinURL string // as the host sees it
	workers    []*testcontainers.DockerContainer
}

func newStack(t *testing.T, ctx context.Context) *stack {
	t.Helper()
	s := &stack{
		t: t, ctx: ctx,
		rwImage:    imageFromEnv("ROOMWORKER_IMAGE", defaultRoomworkerImage),
		toolsImage: imageFromEnv("ROOMWORKER_TOOLS_IMAGE", defaultToolsImage),
		natsImage:  imageFromEnv("NATS_IMAGE", defaultNATSImage),
	}
	requireImages(t, s.rwImage, s.toolsImage, s.natsImage)
	nw, err := network.New(ctx)
	if err != nil {
		t.Fatalf("create network: %v", err)
	}
	testcontainers.CleanupNetwork(t, nw)
	s.net = nw
	return s
}

// run starts a container on the stack's network under alias and removes it when the test ends,
// printing the tail of its log first if the test failed.
func (s *stack) run(image, alias string, opts ...testcontainers.ContainerCustomizer) *testcontainers.DockerContainer {
	s.t.Helper()
	opts = append(opts, network.WithNetwork([]string{alias}, s.net),
		testcontainers.WithLabels(map[string]string{"roomworker.containertest": s.t.Name()}))
	c, err := testcontainers.Run(s.ctx, image, opts...)
	testcontainers.CleanupContainer(s.t, c)
	s.t.Cleanup(func() {
		if s.t.Failed() && c != nil {
			s.t.Logf("---- %s log (tail) ----\n%s", alias, containerLog(c, 30))
		}
	})
	if err != nil {
		s.t.Fatalf("start %s (%s): %v", alias, image, err)
	}
	return c
}

func containerLog(c testcontainers.Container, lines int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := c.Logs(ctx)
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// natsWait is ready when the server's health endpoint says JetStream is ready.
func natsWait() wait.Strategy {
	return wait.ForHTTP("/healthz").WithPort("8222/tcp").WithStartupTimeout(60 * time.Second).
		WithPollInterval(200 * time.Millisecond)
}

// startNATS starts one JetStream server with the given extra arguments.
func (s *stack) startNATS(alias string, args ...string) *testcontainers.DockerContainer {
	s.t.Helper()
	cmd := append([]string{"-js", "-sd", "/data", "-m", "8222", "--name", alias}, args...)
	c := s.run(s.natsImage, alias,
		testcontainers.WithEntrypoint("/nats-server"),
		testcontainers.WithCmd(cmd...),
		testcontainers.WithExposedPorts("4222/tcp", "8222/tcp"),
		testcontainers.WithWaitStrategy(natsWait()))
	s.natsURLs = append(s.natsURLs, "nats://"+alias+":4222")
	return c
}

// startCluster starts a three-node JetStream cluster; the nodes are started together since
// none is ready before a quorum of them is up.
func (s *stack) startCluster() []*testcontainers.DockerContainer {
	s.t.Helper()
	names := []string{"nats-1", "nats-2", "nats-3"}
	routes := make([]string, len(names))
	for i, n := range names {
		routes[i] = "nats://" + n + ":6222"
	}
	type started struct {
		i   int
		c   *testcontainers.DockerContainer
		err error
	}
	done := make(chan started, len(names))
	for i, n := range names {
		go func() {
			c, err := testcontainers.Run(s.ctx, s.natsImage,
				testcontainers.WithEntrypoint("/nats-server"),
				testcontainers.WithCmd("-js", "-sd", "/data", "-m", "8222", "--name", n,
					"--cluster_name", "roomworker", "--cluster", "nats://0.0.0.0:6222",
					"--routes", strings.Join(routes, ",")),
				testcontainers.WithExposedPorts("4222/tcp", "8222/tcp"),
				testcontainers.WithWaitStrategy(natsWait()),
				network.WithNetwork([]string{n}, s.net))
			done <- started{i, c, err}
		}()
	}
	nodes := make([]*testcontainers.DockerContainer, len(names))
	var errs []error
	for range names {
		r := <-done
		nodes[r.i] = r.c
		testcontainers.CleanupContainer(s.t, r.c)
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", names[r.i], r.err))
		}
	}
	s.t.Cleanup(func() {
		if s.t.Failed() {
			for i, c := range nodes {
				if c != nil {
					s.t.Logf("---- %s log (tail) ----\n%s", names[i], containerLog(c, 20))
				}
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		s.t.Fatalf("start NATS cluster: %v", err)
	}
	for _, n := range names {
		s.natsURLs = append(s.natsURLs, "nats://"+n+":4222")
	}
	return nodes
}

// startStandin starts the plugNmeet stand-in (from the tools image) with the given flags.
func (s *stack) startStandin(flags ...string) {
	s.t.Helper()
	s.standin = s.run(s.toolsImage, "plugnmeet",
		testcontainers.WithEntrypoint("/usr/local/bin/plugnmeet-standin"),
		testcontainers.WithCmd(append([]string{"-addr", ":8080"}, flags...)...),
		testcontainers.WithEnv(map[string]string{"PLUGNMEET_API_KEY": apiKey, "PLUGNMEET_API_SECRET": apiSecret}),
		testcontainers.WithExposedPorts("8080/tcp"),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/_standin/stats").WithPort("8080/tcp").
			WithStartupTimeout(30*time.Second)))
	ep, err := s.standin.PortEndpoint(s.ctx, "8080/tcp", "http")
	if err != nil {
		s.t.Fatal(err)
	}
	s.standinURL = ep
}

// startWorkers starts n roomworker containers and waits until each is ready.
func (s *stack) startWorkers(n int, env map[string]string) {
	s.t.Helper()
	base := map[string]string{
		"NATS_URL":             strings.Join(s.natsURLs, ","),
		"PLUGNMEET_URL":        "http://plugnmeet:8080",
		"PLUGNMEET_API_KEY":    apiKey,
		"PLUGNMEET_API_SECRET": apiSecret,
		"REQUEST_TIMEOUT":      "2s",
		"RETRY_BASE_DELAY":     "100ms",
		"RETRY_MAX_DELAY":      "1s",
		"SHUTDOWN_TIMEOUT":     "5s",
		"LOG_FORMAT":           "text",
	}
	for k, v := range env {
		base[k] = v
	}
	for i := range n {
		s.workers = append(s.workers, s.run(s.rwImage, fmt.Sprintf("roomworker-%d", i+1),
			testcontainers.WithEnv(base),
			testcontainers.WithExposedPorts("9090/tcp"),
			testcontainers.WithWaitStrategy(wait.ForHTTP("/readyz").WithPort("9090/tcp").
				WithStartupTimeout(60*time.Second).WithPollInterval(200*time.Millisecond))))
	}
}

// standinStats reads the stand-in's counters.
func (s *stack) standinStats() standinStats {
	s.t.Helper()
	var st standinStats
	getJSON(s.t, s.standinURL+"/_standin/stats", &st)
	return st
}

type standinStats struct {
	CreateCalls  int64 `json:"create_calls"`
	RoomsCreated int64 `json:"rooms_created"`
	ActiveRooms  int   `json:"active_rooms"`
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// metricSum is the sum of every sample of a metric on a worker's /metrics.
func (s *stack) metricSum(w testcontainers.Container, name string) float64 {
	s.t.Helper()
	ep, err := w.PortEndpoint(s.ctx, "9090/tcp", "http")
	if err != nil {
		s.t.Fatal(err)
	}
	resp, err := http.Get(ep + "/metrics")
	if err != nil {
		s.t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			s.t.Fatalf("metrics line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// hostConn connects the test to the NATS servers through their mapped ports. It never follows
// the addresses servers advertise (they are inside the Docker network).
func (s *stack) hostConn(servers ...*testcontainers.DockerContainer) (*nats.Conn, jetstream.JetStream) {
	s.t.Helper()
	var urls []string
	for _, c := range servers {
		ep, err := c.PortEndpoint(s.ctx, "4222/tcp", "nats")
		if err != nil {
			s.t.Fatal(err)
		}
		urls = append(urls, ep)
	}
	nc, err := nats.Connect(strings.Join(urls, ","), nats.IgnoreDiscoveredServers(),
		nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond), nats.Timeout(5*time.Second))
	if err != nil {
		s.t.Fatalf("connect to %v: %v", urls, err)
	}
	s.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		s.t.Fatal(err)
	}
	return nc, js
}

// publishRequests publishes n valid room.create requests (binary mode) and returns their event ids
// by room id.
func publishRequests(t *testing.T, ctx context.Context, js jetstream.JetStream, prefix string, n int) map[string]string {
	t.Helper()
	ids := make(map[string]string, n)
	for i := range n {
		room := fmt.Sprintf("%s-%04d", prefix, i)
		ev := testenv.NewEvent("", testenv.Request(room))
		h, body, err := events.EncodeBinary(ev)
		if err != nil {
			t.Fatal(err)
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = js.PublishMsg(pctx, &nats.Msg{Subject: "rooms.create", Header: h, Data: body})
		cancel()
		if err != nil {
			t.Fatalf("publish request %d: %v", i, err)
		}
		ids[ev.ID()] = room
	}
	return ids
}

// result is one result event read back from ROOM_EVENTS.
type result struct {
	Type      string
	RequestID string
	RoomID    string
	Duplicate bool
	Reason    string
}

// readResults reads every result stored in ROOM_EVENTS. A read that fails (a leader moving)
// returns the error; the caller retries.
func readResults(ctx context.Context, js jetstream.JetStream) ([]result, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	str, err := js.Stream(ctx, "ROOM_EVENTS")
	if err != nil {
		return nil, err
	}
	info, err := str.Info(ctx)
	if err != nil {
		return nil, err
	}
	if info.State.Msgs == 0 {
		return nil, nil
	}
	cons, err := str.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	var out []result
	for uint64(len(out)) < info.State.Msgs {
		batch, err := cons.Fetch(int(info.State.Msgs)-len(out), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			h := m.Headers()
			ev, _, err := events.Decode(h, m.Data())
			if err != nil {
				return nil, fmt.Errorf("result on %s does not decode: %w", m.Subject(), err)
			}
			r := result{Type: ev.Type(), RoomID: ev.Subject()}
			r.RequestID, _ = ev.Extensions()[events.ExtRequestID].(string)
			var data struct {
				Duplicate bool   `json:"duplicate"`
				Reason    string `json:"reason"`
			}
			if err := json.Unmarshal(ev.Data(), &data); err != nil {
				return nil, fmt.Errorf("result data: %w", err)
			}
			r.Duplicate, r.Reason = data.Duplicate, data.Reason
			out = append(out, r)
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
		if got == 0 {
			return nil, errors.New("ROOM_EVENTS: fetch returned nothing")
		}
	}
	return out, nil
}

// waitResults waits until every request in ids has a result, then checks that each has exactly
// one, a room.created for its room.
func waitResults(t *testing.T, ctx context.Context, js jetstream.JetStream, ids map[string]string, within time.Duration) []result {
	t.Helper()
	deadline := time.Now().Add(within)
	var (
		got     []result
		lastErr error
	)
	for {
		res, err := readResults(ctx, js)
		if err == nil {
			got, lastErr = res, nil
			if len(got) >= len(ids) {
				break
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %d results for %d requests (last read error: %v)", within, len(got), len(ids), lastErr)
		}
		time.Sleep(500 * time.Millisecond)
	}
	checkExactlyOnce(t, ids, got)
	return got
}

func checkExactlyOnce(t *testing.T, ids map[string]string, got []result) {
	t.Helper()
	per := make(map[string]int, len(ids))
	for _, r := range got {
		room, ok := ids[r.RequestID]
		switch {
		case !ok:
			t.Errorf("result for unknown request %q (room %s)", r.RequestID, r.RoomID)
		case r.Type != events.TypeRoomCreated:
			t.Errorf("request %s (room %s): %s (reason %q), want room.created", r.RequestID, room, r.Type, r.Reason)
		case r.RoomID != room:
			t.Errorf("request %s: result for room %s, want %s", r.RequestID, r.RoomID, room)
		case r.Duplicate:
			t.Errorf("request %s (room %s): duplicate=true for a first request", r.RequestID, room)
		}
		per[r.RequestID]++
	}
	for id, room := range ids {
		if per[id] != 1 {
			t.Errorf("request %s (room %s): %d results, want exactly 1", id, room, per[id])
		}
	}
}

// waitDrained waits until the consumer has nothing pending or unacknowledged.
func waitDrained(t *testing.T, ctx context.Context, js jetstream.JetStream, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := js.Consumer(cctx, "ROOM_REQUESTS", "roomworker")
		var info *jetstream.ConsumerInfo
		if err == nil {
			info, err = c.Info(cctx)
		}
		cancel()
		if err == nil && info.NumPending == 0 && info.NumAckPending == 0 {
			return
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("consumer roomworker: %v", err)
			}
			t.Fatalf("consumer roomworker not drained after %s: %d pending, %d unacknowledged",
				within, info.NumPending, info.NumAckPending)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// recheck reads the results again once the consumer is drained: a late duplicate fails the test.
func recheck(t *testing.T, ctx context.Context, js jetstream.JetStream, ids map[string]string) {
	t.Helper()
	var (
		got []result
		err error
	)
	for range 10 {
		if got, err = readResults(ctx, js); err == nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("read results again: %v", err)
	}
	checkExactlyOnce(t, ids, got)
}

// waitFor polls cond until it holds or within has passed.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
