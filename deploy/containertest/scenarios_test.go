package containertest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/testcontainers/testcontainers-go"
)

// resultCount is how many results ROOM_EVENTS holds now (0 while it cannot be asked).
func resultCount(ctx context.Context, js jetstream.JetStream) uint64 {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, "ROOM_EVENTS")
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// Two replicas share one durable consumer: every request gets exactly one result, both replicas
// do part of the work, and plugNmeet sees exactly one create call per room.
func TestTwoReplicasShareTheWork(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := newStack(t, ctx)
	natsC := s.startNATS("nats")
	s.startStandin("-latency", "20ms")
	s.startWorkers(2, map[string]string{"CONCURRENCY": "4"})
	_, js := s.hostConn(natsC)

	const n = 200
	ids := publishRequests(t, ctx, js, "share", n)
	waitResults(t, ctx, js, ids, 90*time.Second)
	waitDrained(t, ctx, js, 20*time.Second)
	recheck(t, ctx, js, ids)

	st := s.standinStats()
	if st.CreateCalls != n || st.RoomsCreated != n {
		t.Errorf("plugNmeet saw %d create calls and %d new rooms, want %d and %d (no duplicate creates)",
			st.CreateCalls, st.RoomsCreated, n, n)
	}
	var total float64
	for i, w := range s.workers {
		done := s.metricSum(w, "roomworker_results_total")
		t.Logf("roomworker-%d published %.0f results", i+1, done)
		if done == 0 {
			t.Errorf("roomworker-%d published no result: the replicas did not share the work", i+1)
		}
		total += done
	}
	if total != n {
		t.Errorf("the replicas published %.0f results in all, want %d", total, n)
	}
}

// The NATS server restarts while requests are being processed: the workers reconnect and every
// request still gets exactly one result, with one room per request in plugNmeet.
func TestNATSRestartMidRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := newStack(t, ctx)
	natsC := s.startNATS("nats")
	s.startStandin("-latency", "100ms")
	s.startWorkers(2, map[string]string{"CONCURRENCY": "2"})
	nc, js := s.hostConn(natsC)

	const n = 300
	ids := publishRequests(t, ctx, js, "restart", n)
	waitFor(t, 60*time.Second, "the first results", func() bool { return resultCount(ctx, js) >= n/5 })
	nc.Close()

	before := time.Now()
	stop := 5 * time.Second
	if err := natsC.Stop(ctx, &stop); err != nil {
		t.Fatalf("stop NATS: %v", err)
	}
	if err := natsC.Start(ctx); err != nil { // waits until JetStream is healthy again
		t.Fatalf("restart NATS: %v", err)
	}
	t.Logf("NATS restarted in %s", time.Since(before).Round(time.Millisecond))

	_, js = s.hostConn(natsC) // the host port may have changed
	if done := resultCount(ctx, js); done >= n {
		t.Fatalf("all %d results were in before the restart finished: the restart was not mid-run", done)
	}
	waitResults(t, ctx, js, ids, 120*time.Second)
	waitDrained(t, ctx, js, 30*time.Second)
	recheck(t, ctx, js, ids)
	st := s.standinStats()
	t.Logf("plugNmeet: %d create calls, %d new rooms for %d requests", st.CreateCalls, st.RoomsCreated, n)
	if st.RoomsCreated != n {
		t.Errorf("plugNmeet started %d rooms for %d requests", st.RoomsCreated, n)
	}
	for i, w := range s.workers {
		if ready := s.metricSum(w, "roomworker_ready"); ready != 1 {
			t.Errorf("roomworker-%d: roomworker_ready = %v after the restart, want 1", i+1, ready)
		}
	}
}

// A three-node JetStream cluster (streams and KV with three replicas) loses the node that leads
// the request stream while requests are being processed: nothing is lost, nothing is created twice.
func TestClusterNodeLossMidRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s := newStack(t, ctx)
	nodes := s.startCluster()
	s.startStandin("-latency", "100ms")
	s.startWorkers(2, map[string]string{"CONCURRENCY": "2", "STREAM_REPLICAS": "3"})
	_, js := s.hostConn(nodes...)

	for _, name := range []string{"ROOM_REQUESTS", "ROOM_EVENTS", "KV_roomworker_rooms"} {
		str, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		if r := str.CachedInfo().Config.Replicas; r != 3 {
			t.Fatalf("stream %s has %d replicas, want 3", name, r)
		}
	}

	const n = 300
	ids := publishRequests(t, ctx, js, "cluster", n)
	waitFor(t, 60*time.Second, "the first results", func() bool { return resultCount(ctx, js) >= n/5 })

	str, err := js.Stream(ctx, "ROOM_REQUESTS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leader := info.Cluster.Leader
	var victim testcontainers.Container
	for i, c := range nodes {
		if leader == []string{"nats-1", "nats-2", "nats-3"}[i] {
			victim = c
		}
	}
	if victim == nil {
		t.Fatalf("stream leader %q is none of the nodes", leader)
	}
	kill := time.Duration(0)
	if err := victim.Stop(ctx, &kill); err != nil {
		t.Fatalf("stop %s: %v", leader, err)
	}
	t.Logf("stopped %s (leader of ROOM_REQUESTS) after %d results", leader, resultCount(ctx, js))

	waitResults(t, ctx, js, ids, 150*time.Second)
	waitDrained(t, ctx, js, 30*time.Second)
	recheck(t, ctx, js, ids)
	st := s.standinStats()
	t.Logf("plugNmeet: %d create calls, %d new rooms for %d requests", st.CreateCalls, st.RoomsCreated, n)
	if st.RoomsCreated != n {
		t.Errorf("plugNmeet started %d rooms for %d requests", st.RoomsCreated, n)
	}
}
