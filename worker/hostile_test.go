package worker_test

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/hostile"
	"github.com/roomworker/roomworker/internal/jstest"
	"github.com/roomworker/roomworker/internal/testenv"
)

// TestHostileCorpus publishes every case of testdata/hostile to a real worker and checks that
// each ends as exactly the result its file names, that no invalid one reached plugNmeet, and
// that the worker is still running and ready afterwards.
func TestHostileCorpus(t *testing.T) {
	cases, err := hostile.Load(filepath.Join("..", "testdata", "hostile"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 40 {
		t.Fatalf("the hostile corpus has %d cases, want at least 40", len(cases))
	}
	e := testenv.New(t)
	allowBigMessages(t, e, 16<<20)
	w := e.StartWorker(nil)

	_, js := jstest.Connect(t, e.NS) // after the reload, so it knows the larger limit
	type sent struct {
		c    hostile.Case
		id   string // the event id it carries, if it is readable
		seq  string // its stream position, the requestid of an unreadable message
		room string
	}
	var all []sent
	for i, c := range cases {
		s := sent{c: c, id: uuid.NewString(), room: fmt.Sprintf("hostile-%02d-%s", i, roomSafe(c.Name))}
		h, body := c.Message(s.id, s.room)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: e.Cfg.RequestSubject, Header: h, Data: body})
		cancel()
		if err != nil {
			t.Fatalf("%s: publish: %v", c.Name, err)
		}
		s.seq = fmt.Sprintf("%s/%d", ack.Stream, ack.Sequence)
		all = append(all, s)
	}

	// Wait for one result per case, but judge each case even if some never get one: a case
	// the worker cannot answer is a finding to name, not a timeout.
	var results []testenv.Result
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if results = e.Results(); len(results) >= len(all) {
			break
		}
	}
	byRequest := map[string][]testenv.Result{}
	for _, r := range results {
		byRequest[r.RequestID()] = append(byRequest[r.RequestID()], r)
	}
	time.Sleep(200 * time.Millisecond) // a second result for any request would be stored by now
	if extra := len(e.Results()) - len(all); extra != 0 {
		t.Errorf("%d results more than requests", extra)
	}
	for _, s := range all {
		t.Run(s.c.Name, func(t *testing.T) {
			got := append(byRequest[s.id], byRequest[s.seq]...)
			if len(got) != 1 {
				t.Fatalf("%s: %d results, want exactly 1", s.c.Description, len(got))
			}
			r := got[0]
			if r.Ev.Type() != s.c.Want.Type {
				t.Fatalf("%s: result %s (reason %q: %s), want %s", s.c.Description, r.Ev.Type(), r.Failed.Reason, r.Failed.Message, s.c.Want.Type)
			}
			calls := e.Standin.CreateCalls(s.room)
			if s.c.Want.Type == events.TypeRoomCreated {
				if r.Created.SID == "" || r.Created.RoomID != s.room {
					t.Errorf("room.created for %q with sid %q, want room %q with a sid", r.Created.RoomID, r.Created.SID, s.room)
				}
				if calls != 1 {
					t.Errorf("%d create calls for %s, want 1", calls, s.room)
				}
				return
			}
			if string(r.Failed.Reason) != s.c.Want.Reason {
				t.Errorf("%s: reason %q (%s), want %q", s.c.Description, r.Failed.Reason, r.Failed.Message, s.c.Want.Reason)
			}
			if !strings.Contains(r.Failed.Message, s.c.Want.MessageContains) {
				t.Errorf("message %q does not contain %q", r.Failed.Message, s.c.Want.MessageContains)
			}
			if r.Subject != e.Cfg.FailedSubject {
				t.Errorf("stored under %q, want %q", r.Subject, e.Cfg.FailedSubject)
			}
			if calls != 0 {
				t.Errorf("%d create calls for a request that failed validation, want none", calls)
			}
		})
	}

	select {
	case <-w.Done:
		t.Fatalf("the worker stopped during the corpus: %v", w.Err)
	default:
	}
	if err := w.W.Ready(); err != nil {
		t.Errorf("worker not ready after the corpus: %v", err)
	}
	if info := e.ConsumerInfo(); info.NumPending != 0 || info.NumAckPending != 0 || info.NumRedelivered != 0 {
		t.Errorf("consumer after the corpus: %d pending, %d ack pending, %d redelivered; want all 0",
			info.NumPending, info.NumAckPending, info.NumRedelivered)
	}
}

// allowBigMessages raises the test server's max_payload so messages far over the worker's
// MAX_MESSAGE_BYTES reach the worker instead of being refused by NATS.
func allowBigMessages(t *testing.T, e *testenv.Env, n int32) {
	t.Helper()
	opts := jstest.Options(jstest.Address(e.NS))
	opts.MaxPayload = n
	opts.NoSystemAccount = e.NS.SystemAccount() == nil
	if err := e.NS.ReloadOptions(&opts); err != nil {
		t.Fatalf("raise max_payload: %v", err)
	}
}

var notRoomChar = regexp.MustCompile(`[^a-zA-Z0-9_-]`)

func roomSafe(s string) string {
	s = notRoomChar.ReplaceAllString(s, "-")
	return s[:min(len(s), 40)]
}
