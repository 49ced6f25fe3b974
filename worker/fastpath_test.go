package worker_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/worker"
)

// natsTraffic records what clients send to the server on the subjects a request's handling
// uses: bucket writes ($KV.<bucket>.<key>), reads (direct gets and other JetStream API calls on
// the bucket's stream), result publishes and acks. A plain subscriber sees every one of them.
type natsTraffic struct {
	mu   sync.Mutex
	msgs []string
}

func watchTraffic(t *testing.T, e *testenv.Env) *natsTraffic {
	t.Helper()
	nc, err := nats.Connect(e.NS.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	tr := &natsTraffic{}
	for _, subj := range []string{"$KV.>", "$JS.API.>", "$JS.ACK.>", "rooms.>"} {
		if _, err := nc.Subscribe(subj, func(m *nats.Msg) {
			tr.mu.Lock()
			tr.msgs = append(tr.msgs, m.Subject)
			tr.mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return tr
}

// since returns the subjects seen after the first n, in arrival order.
func (tr *natsTraffic) since(n int) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.msgs[n:]...)
}

func (tr *natsTraffic) len() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.msgs)
}

// classify names a subject by its role in a request's handling.
func classify(subj, bucket string) string {
	switch {
	case strings.HasPrefix(subj, "$KV."+bucket+"."):
		key := strings.TrimPrefix(subj, "$KV."+bucket+".")
		return "write " + key[:strings.IndexByte(key, '.')+1] + "*"
	case strings.Contains(subj, "KV_"+bucket):
		return "read " + subj
	case strings.HasPrefix(subj, "$JS.ACK."):
		return "ack"
	case subj == "rooms.created" || subj == "rooms.failed":
		return "publish " + subj
	case subj == "rooms.create":
		return "request"
	case strings.HasPrefix(subj, "$JS.API.CONSUMER.MSG.NEXT."):
		return "pull"
	}
	return "other " + subj
}

// The fast path, a request for a room the bucket has never seen, reads nothing from the bucket
// and writes it twice (the claim, then the room's record carrying the request's outcome): with
// the result and the ack, four messages in all. A second request for the same room, answered
// from the record, is the slow path: it reads.
func TestFastPathReadsNothingAndWritesTwice(t *testing.T) {
	e := testenv.New(t)
	e.StartWorker(nil)
	tr := watchTraffic(t, e)
	ctx := context.Background()

	run := func(room string, n int) map[string]int {
		t.Helper()
		before := tr.len()
		e.Publish(testenv.NewEvent("", testenv.Request(room)))
		e.WaitResults(n, 20*time.Second)
		time.Sleep(200 * time.Millisecond) // the ack follows the result
		counts := map[string]int{}
		for _, s := range tr.since(before) {
			c := classify(s, e.Cfg.Bucket)
			if c == "pull" || c == "request" || strings.HasPrefix(c, "other") {
				continue // the consumer's pulls and the test's own publish and reads
			}
			counts[c]++
		}
		return counts
	}
	got := run("fast-room", 1)
	want := map[string]int{"write room.*": 2, "publish rooms.created": 1, "ack": 1}
	if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
		t.Errorf("a request for a new room sent %v, want %v", sorted(got), sorted(want))
	}
	if kv, err := e.JS.KeyValue(ctx, e.Cfg.Bucket); err != nil {
		t.Fatal(err)
	} else if en, err := kv.Get(ctx, worker.RoomKey("fast-room")); err != nil {
		t.Fatalf("the room's record: %v", err)
	} else if !strings.Contains(string(en.Value()), `"outcome":{"type":"room.created"`) {
		t.Errorf("the room's record does not carry the request's outcome:\n%s", en.Value())
	}

	got = run("fast-room", 2) // another request for the live room: answered from its record
	reads := 0
	for k, n := range got {
		if strings.HasPrefix(k, "read ") {
			reads += n
		}
	}
	if reads == 0 || got["publish rooms.created"] != 1 || got["ack"] != 1 {
		t.Errorf("a second request for the room sent %v: want reads of its record, one result and one ack", sorted(got))
	}
}

func sorted(m map[string]int) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}
