package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
	"github.com/roomworker/roomworker/worker"
)

// Credentials of the development stand-in. They only ever protect a loopback test server.
const (
	devAPIKey    = "plugnmeet"
	devAPISecret = "roomworker-dev-secret"
)

// devDepartureTimeout is how long the dev stand-in keeps a room after its last participant left
// (LiveKit's 20 s, shortened so the lifecycle shows in seconds); session_ended follows 1/20 later.
const devDepartureTimeout = 2 * time.Second

// devEnvironment is what roomdev runs beside the worker: an embedded NATS JetStream server with a
// temporary store, and the plugNmeet stand-in (unless PLUGNMEET_URL points at a real server).
type devEnvironment struct {
	ns         *server.Server
	storeDir   string
	standin    *plugnmeettest.Server
	standinURL string       // where the stand-in and its control endpoints answer
	standinSrv *http.Server // serves them
	webhookURL string       // the stand-in's global webhook_conf.url: the worker's receiver
	webhookLn  net.Listener // the receiver's listener, bound at start-up until the service takes it
	env        map[string]string
	parent     lookupFunc
}

func startDev(parent lookupFunc, quiet bool, stdout io.Writer) (*devEnvironment, error) {
	dir, err := os.MkdirTemp("", "roomdev-")
	if err != nil {
		return nil, err
	}
	d := &devEnvironment{storeDir: dir, env: map[string]string{}, parent: parent}
	port := 4222
	if !quiet && portFree(port) {
		// keep the well-known port so the printed commands need no NATS_URL
	} else {
		port = server.RANDOM_PORT
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "roomdev",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	d.ns = ns
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		d.Close()
		return nil, errors.New("embedded NATS did not start within 10s")
	}
	d.env["NATS_URL"] = ns.ClientURL()

	if _, ok := parent("PLUGNMEET_URL"); !ok {
		if err := d.startStandin(parent); err != nil {
			d.Close()
			return nil, err
		}
	}
	if _, ok := parent("METRICS_ADDR"); !ok {
		d.env["METRICS_ADDR"] = "127.0.0.1:9090"
		if quiet || !portFree(9090) {
			d.env["METRICS_ADDR"] = "127.0.0.1:0"
		}
	}
	if _, ok := parent("LOG_FORMAT"); !ok {
		d.env["LOG_FORMAT"] = "text"
	}
	if _, ok := parent("LOG_LEVEL"); !ok && quiet {
		d.env["LOG_LEVEL"] = "warn"
	}
	// Short retry delays so a demo shows retries without waiting minutes.
	if _, ok := parent("RETRY_BASE_DELAY"); !ok {
		d.env["RETRY_BASE_DELAY"] = "200ms"
	}
	if _, ok := parent("CREATE_LEAD"); !ok {
		d.env["CREATE_LEAD"] = "1s" // bookings a few seconds ahead are created before the eyes of whoever watches
	}
	return d, nil
}

// startStandin starts the plugNmeet stand-in on a free loopback port, with the worker's webhook
// receiver (WEBHOOK_ADDR, a free loopback port unless set) as its global webhook URL, and the
// control endpoints POST /_standin/rooms/{room_id}/join?user=U and .../leave?user=U beside the API.
func (d *devEnvironment) startStandin(parent lookupFunc) error {
	addr, ok := parent("WEBHOOK_ADDR")
	if !ok || addr == "" {
		// Bound now and kept, so that no other process takes the port before the service listens.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("webhook receiver: %w", err)
		}
		d.webhookLn, addr = ln, ln.Addr().String()
		d.env["WEBHOOK_ADDR"] = addr
	}
	d.webhookURL = receiverURL(addr)
	d.standin = plugnmeettest.NewHandler(plugnmeettest.Options{
		APIKey: devAPIKey, APISecret: devAPISecret,
		WebhookURL: d.webhookURL, DepartureTimeout: devDepartureTimeout,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("plugNmeet stand-in: %w", err)
	}
	d.standinURL = "http://" + ln.Addr().String()
	d.standinSrv = &http.Server{Handler: standinMux(d.standin), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = d.standinSrv.Serve(ln) }()
	d.env["PLUGNMEET_URL"] = d.standinURL
	d.env["PLUGNMEET_API_KEY"] = devAPIKey
	d.env["PLUGNMEET_API_SECRET"] = devAPISecret
	return nil
}

// standinMux serves the stand-in, and the participant controls of cmd/plugnmeet-standin.
func standinMux(s *plugnmeettest.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", s)
	participant := func(act func(roomID, userID string) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			roomID, user := r.PathValue("room_id"), r.URL.Query().Get("user")
			status, answer := http.StatusBadRequest, any(map[string]string{"error": "want ?user=<user_id>"})
			switch err := act(roomID, user); {
			case user == "": // act refused it too
			case errors.Is(err, plugnmeettest.ErrRoomNotActive):
				status, answer = http.StatusNotFound, map[string]string{"error": err.Error()}
			case err != nil:
				status, answer = http.StatusConflict, map[string]string{"error": err.Error()}
			default:
				status, answer = http.StatusOK, map[string]any{"room_id": roomID, "participants": s.Participants(roomID)}
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(answer)
		}
	}
	mux.HandleFunc("POST /_standin/rooms/{room_id}/join", participant(s.Join))
	mux.HandleFunc("POST /_standin/rooms/{room_id}/leave", participant(s.Leave))
	mux.HandleFunc("GET /_standin/stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats())
	})
	return mux
}

// receiverURL is the URL of the webhook receiver listening on addr, as a loopback client
// reaches it; "" when addr names no port to reach (":0").
func receiverURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "0" || port == "" {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + worker.WebhookPath
}

// lookup answers from the dev overrides first; in roomdev the embedded servers win over
// NATS_URL, while an explicit PLUGNMEET_URL selects a real plugNmeet.
func (d *devEnvironment) lookup(key string) (string, bool) {
	if v, ok := d.env[key]; ok {
		return v, true
	}
	if key == "PLUGNMEET_API_SECRET_FILE" && d.standin != nil {
		return "", false
	}
	return d.parent(key)
}

func (d *devEnvironment) announce(out io.Writer, metricsAddr string) {
	fmt.Fprintf(out, "roomdev: embedded NATS JetStream at %s\n", d.env["NATS_URL"])
	if d.standin != nil {
		fmt.Fprintf(out, "         plugNmeet stand-in at %s (key %q)\n", d.standinURL, devAPIKey)
		if d.webhookURL != "" {
			fmt.Fprintf(out, "         its webhooks go to the worker's receiver at %s (stream ROOM_LIFECYCLE)\n", d.webhookURL)
		}
	}
	fmt.Fprintf(out, "         metrics, /healthz, /readyz at http://%s\n", metricsAddr)
	fmt.Fprintf(out, "Publish a request from another shell:\n  NATS_URL=%s go run ./cmd/roomctl publish --wait examples/create-room.json\n",
		d.env["NATS_URL"])
	if d.standin != nil {
		fmt.Fprintf(out, "Then let a participant join and leave (room_finished %s after the last one left):\n"+
			"  curl -X POST '%s/_standin/rooms/demo-seed/join?user=alice'\n"+
			"  curl -X POST '%s/_standin/rooms/demo-seed/leave?user=alice'\n",
			devDepartureTimeout, d.standinURL, d.standinURL)
	}
}

// Close stops the embedded servers and removes the temporary store.
// listen opens the service's listeners: the webhook receiver's is the one bound at start-up.
func (d *devEnvironment) listen(network, addr string) (net.Listener, error) {
	if d.webhookLn != nil && addr == d.env["WEBHOOK_ADDR"] {
		ln := d.webhookLn
		d.webhookLn = nil
		return ln, nil
	}
	return net.Listen(network, addr)
}

func (d *devEnvironment) Close() {
	if d.webhookLn != nil {
		_ = d.webhookLn.Close()
	}
	if d.standinSrv != nil {
		_ = d.standinSrv.Close()
	}
	if d.standin != nil {
		d.standin.Close()
	}
	if d.ns != nil {
		d.ns.Shutdown()
		d.ns.WaitForShutdown()
	}
	_ = os.RemoveAll(d.storeDir)
}

func portFree(port int) bool {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}
