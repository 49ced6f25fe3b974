package worker_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/roomworker/roomworker/internal/testenv"
)

// BenchmarkDeliveryEndToEnd is one request's whole life in one process: published to a real
// JetStream server, consumed, validated, created through the stand-in over HTTP, recorded,
// answered and acked. Its figures include the server, the stand-in and the publisher; profile
// it with -cpuprofile or -memprofile and focus on the worker's frames to see its own share.
func BenchmarkDeliveryEndToEnd(b *testing.B) {
	e := testenv.New(b)
	e.StartWorker(nil)
	var done atomic.Int64
	sub, err := e.NC.Subscribe("rooms.created", func(*nats.Msg) { done.Add(1) })
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Unsubscribe()
	n := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		e.Publish(testenv.NewEvent("", testenv.Request(fmt.Sprintf("e2e-%d", n))))
		n++
		for n-done.Load() > 256 { // keep a backlog, not a flood
			time.Sleep(time.Millisecond)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for done.Load() < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := done.Load(); got < n {
		b.Fatalf("%d of %d results", got, n)
	}
}
