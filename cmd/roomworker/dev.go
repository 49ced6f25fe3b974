package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
)

// Credentials of the development stand-in. They only ever protect a loopback test server.
const (
	devAPIKey    = "plugnmeet"
	devAPISecret = "roomworker-dev-secret"
)

// devEnvironment is what -dev runs beside the worker: an embedded NATS JetStream server with a
// temporary store, and the plugNmeet stand-in (unless PLUGNMEET_URL points at a real server).
type devEnvironment struct {
	ns       *server.Server
	storeDir string
	standin  *plugnmeettest.Server
	env      map[string]string
	parent   lookupFunc
}

func startDev(parent lookupFunc, quiet bool, stdout io.Writer) (*devEnvironment, error) {
	dir, err := os.MkdirTemp("", "roomworker-dev-")
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
		ServerName: "roomworker-dev",
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
		d.standin = plugnmeettest.NewServer(plugnmeettest.Options{APIKey: devAPIKey, APISecret: devAPISecret})
		d.env["PLUGNMEET_URL"] = d.standin.URL
		d.env["PLUGNMEET_API_KEY"] = devAPIKey
		d.env["PLUGNMEET_API_SECRET"] = devAPISecret
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
	return d, nil
}

// lookup answers from the dev overrides first; in dev mode the embedded servers win over
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
	fmt.Fprintf(out, "roomworker -dev: embedded NATS JetStream at %s\n", d.env["NATS_URL"])
	if d.standin != nil {
		fmt.Fprintf(out, "                 plugNmeet stand-in at %s (key %q)\n", d.standin.URL, devAPIKey)
	}
	fmt.Fprintf(out, "                 metrics, /healthz, /readyz at http://%s\n", metricsAddr)
	fmt.Fprintf(out, "Publish a request from another shell:\n  NATS_URL=%s go run ./cmd/roomctl publish --wait examples/create-room.json\n",
		d.env["NATS_URL"])
}

// Close stops the embedded servers and removes the temporary store.
func (d *devEnvironment) Close() {
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
