package containertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
)

// composeCommand finds Docker Compose: the docker plugin, or the standalone docker-compose.
func composeCommand(t *testing.T) []string {
	t.Helper()
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if exec.Command("docker-compose", "version").Run() == nil {
		return []string{"docker-compose"}
	}
	unavailable(t, "compose smoke test skipped: neither `docker compose` nor `docker-compose` works")
	return nil
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// imagePresent tells whether an image is already on this Docker host.
func imagePresent(img string) bool {
	return exec.Command("docker", "image", "inspect", img).Run() == nil
}

// docker-compose.yml comes up with the images CI has (ROOMWORKER_IMAGE, ROOMWORKER_TOOLS_IMAGE, NATS_IMAGE; Prometheus and
// Grafana too when their images are present), roomctl publishes examples/create-room.json, the
// room is created, and the stack comes down again.
func TestComposeSmoke(t *testing.T) {
	compose := composeCommand(t)
	rwImage := imageFromEnv("ROOMWORKER_IMAGE", defaultRoomworkerImage)
	toolsImage := imageFromEnv("ROOMWORKER_TOOLS_IMAGE", defaultToolsImage)
	natsImage := imageFromEnv("NATS_IMAGE", defaultNATSImage)
	requireImages(t, rwImage, toolsImage, natsImage)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	natsPort, standinPort := freePort(t), freePort(t)
	env := append(os.Environ(),
		"ROOMWORKER_IMAGE="+rwImage, "ROOMWORKER_TOOLS_IMAGE="+toolsImage, "NATS_IMAGE="+natsImage,
		"NATS_PORT="+natsPort, "NATS_MONITOR_PORT="+freePort(t), "STANDIN_PORT="+standinPort,
		"PROMETHEUS_PORT="+freePort(t), "GRAFANA_PORT="+freePort(t),
		"COMPOSE_PROJECT_NAME="+fmt.Sprintf("roomworker-smoke-%d", os.Getpid()))
	services := []string{"nats", "plugnmeet-standin", "roomworker"}
	for _, s := range []struct{ service, env, def string }{
		{"prometheus", "PROMETHEUS_IMAGE", "prom/prometheus:v3.5.0"},
		{"grafana", "GRAFANA_IMAGE", "grafana/grafana:12.1.0"},
	} {
		if img := imageFromEnv(s.env, s.def); imagePresent(img) {
			services = append(services, s.service)
		} else {
			t.Logf("%s left out: image %s is not present (set %s to use another)", s.service, img, s.env)
		}
	}
	composeRun := func(ctx context.Context, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, compose[0], append(append(compose[1:], "-f", "docker-compose.yml"), args...)...)
		cmd.Dir, cmd.Env = root, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer ccancel()
		if t.Failed() {
			logs, _ := composeRun(cctx, "logs", "--no-color", "--tail", "30")
			t.Logf("---- compose logs (tail) ----\n%s", logs)
		}
		if out, err := composeRun(cctx, "down", "-v", "--remove-orphans", "--timeout", "10"); err != nil {
			t.Errorf("compose down: %v\n%s", err, out)
		}
	})
	if out, err := composeRun(ctx, append([]string{"up", "-d", "--no-build", "--scale", "roomworker=2"}, services...)...); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}

	// The host side: NATS on its published loopback port, the stream the workers provision.
	var nc *nats.Conn
	waitFor(t, 60*time.Second, "NATS on 127.0.0.1:"+natsPort, func() bool {
		nc, err = nats.Connect("nats://127.0.0.1:"+natsPort, nats.IgnoreDiscoveredServers())
		return err == nil
	})
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the workers to create ROOM_REQUESTS and their consumer", func() bool {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		defer ccancel()
		_, err := js.Consumer(cctx, "ROOM_REQUESTS", "roomworker")
		return err == nil
	})
	if out, _ := composeRun(ctx, "ps", "-q", "roomworker"); len(strings.Fields(out)) != 2 {
		t.Errorf("compose runs %d roomworker containers, want 2:\n%s", len(strings.Fields(out)), out)
	}

	body, err := os.ReadFile(filepath.Join(root, "examples", "create-room.json"))
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		RoomID string `json:"room_id"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.RoomID == "" {
		t.Fatalf("examples/create-room.json: no room_id (%v)", err)
	}

	// What the README tells users to run.
	out, err := composeRun(ctx, "run", "--rm", "roomctl", "publish", "-wait", "-format", "text", "-timeout", "60s",
		"/examples/create-room.json")
	if err != nil {
		t.Fatalf("roomctl publish -wait: %v\n%s", err, out)
	}
	if !strings.Contains(out, events.TypeRoomCreated) || !strings.Contains(out, req.RoomID) {
		t.Errorf("roomctl publish -wait printed no room.created for %s:\n%s", req.RoomID, out)
	}

	// And independently of roomctl: the result stored in ROOM_EVENTS.
	var created bool
	waitFor(t, 30*time.Second, "room.created for "+req.RoomID+" in ROOM_EVENTS", func() bool {
		res, err := readResults(ctx, js)
		for _, r := range res {
			created = created || (err == nil && r.Type == events.TypeRoomCreated && r.RoomID == req.RoomID)
		}
		return created
	})
	var st standinStats
	getJSON(t, "http://127.0.0.1:"+standinPort+"/_standin/stats", &st)
	if st.RoomsCreated != 1 {
		t.Errorf("the stand-in started %d rooms, want 1", st.RoomsCreated)
	}

	// The room's lifecycle: the stand-in posts its webhooks to the replicas (roomworker:8090),
	// which store them in ROOM_LIFECYCLE. Someone joins and leaves; the room closes 5s later.
	for _, action := range []string{"join", "leave"} {
		u := "http://127.0.0.1:" + standinPort + "/_standin/rooms/" + req.RoomID + "/" + action + "?user=alice"
		resp, err := http.Post(u, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %s", u, resp.Status)
		}
	}
	stored := map[string]bool{}
	waitFor(t, 30*time.Second, "the lifecycle of "+req.RoomID+" in ROOM_LIFECYCLE", func() bool {
		for _, name := range []string{"room_created", "room_started", "participant_joined", "participant_left", "room_finished", "session_ended"} {
			if stored[name] {
				continue
			}
			cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
			var m *jetstream.RawStreamMsg
			s, err := js.Stream(cctx, "ROOM_LIFECYCLE")
			if err == nil {
				m, err = s.GetLastMsgForSubject(cctx, "rooms.lifecycle."+name)
			}
			ccancel()
			stored[name] = err == nil && m.Header.Get("ce-subject") == req.RoomID && m.Header.Get("ce-type") == "plugnmeet."+name
		}
		return len(stored) == 6 && !slices.Contains(slices.Collect(maps.Values(stored)), false)
	})
}
