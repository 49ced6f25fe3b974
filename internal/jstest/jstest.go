// Package jstest starts in-process nats-servers with JetStream for tests: on a free loopback
// port, their store in a temporary directory of the test's, stopped when the test ends; and
// restarts them on the same port and store, as a restarted nats-server process would come back.
package jstest

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server starts a nats-server with JetStream on a free port; it stops when t ends.
func Server(t testing.TB) *server.Server {
	t.Helper()
	return Start(t, -1, t.TempDir())
}

// Start starts a nats-server with JetStream on port (-1: a free one) with its store under
// storeDir; it stops when t ends.
func Start(t testing.TB, port int, storeDir string) *server.Server {
	t.Helper()
	opts := Options(port, storeDir)
	ns := natstest.RunServer(&opts)
	t.Cleanup(ns.Shutdown)
	return ns
}

// Options are the options Start runs a server with, for a test that changes one and reloads.
func Options(port int, storeDir string) server.Options {
	opts := natstest.DefaultTestOptions
	opts.Port, opts.JetStream, opts.StoreDir = port, true, storeDir
	return opts
}

// Address returns the port and store directory that bring ns back with Start.
func Address(ns *server.Server) (port int, storeDir string) {
	return ns.Addr().(*net.TCPAddr).Port, filepath.Dir(ns.JetStreamConfig().StoreDir) // the server adds "jetstream"
}

// Restart shuts ns down and starts it again on its port with its store.
func Restart(t testing.TB, ns *server.Server) *server.Server {
	t.Helper()
	port, dir := Address(ns)
	ns.Shutdown()
	ns.WaitForShutdown()
	return Start(t, port, dir)
}

// Connect opens a client connection to ns and its JetStream context; the connection closes when
// t ends.
func Connect(t testing.TB, ns *server.Server) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}
