package service

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// script records what the actors of a test did, in order.
type script struct {
	mu     sync.Mutex
	events []string
}

func (s *script) log(e string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
}

func (s *script) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// waiter adds an actor that runs until it is interrupted, then takes a second to stop (as the
// worker's grace period does) and returns onStop.
func (s *script) waiter(g *group, name string, onStop error) {
	stop := make(chan error, 1)
	g.add(func() error {
		cause := <-stop
		time.Sleep(time.Second)
		s.log(name + " returned (cause: " + errString(cause) + ")")
		return onStop
	}, func(cause error) {
		s.log("interrupt " + name)
		stop <- cause
	})
}

// quitter adds an actor that returns err after d, and records its interrupt.
func (s *script) quitter(g *group, name string, d time.Duration, err error) {
	g.add(func() error {
		time.Sleep(d)
		s.log(name + " returned")
		return err
	}, func(error) { s.log("interrupt " + name) })
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

func TestGroupFirstToReturnStopsAllInOrderAndItsErrorWins(t *testing.T) {
	failed := errors.New("listener failed")
	cases := map[string]struct {
		add  func(s *script, g *group)
		want error
		log  []string
	}{
		"an actor fails: the others are stopped one after the other, in the order added": {
			add: func(s *script, g *group) {
				s.waiter(g, "signals", nil)
				s.waiter(g, "worker", errors.New("worker error after the interrupt"))
				s.quitter(g, "http", time.Second, failed)
			},
			want: failed,
			log: []string{
				"http returned",
				"interrupt signals", "signals returned (cause: listener failed)",
				"interrupt worker", "worker returned (cause: listener failed)",
				"interrupt http",
			},
		},
		"a clean exit (nil) wins over the errors of the actors it stops": {
			add: func(s *script, g *group) {
				s.quitter(g, "signals", time.Second, nil)
				s.waiter(g, "worker", errors.New("stopped"))
				s.waiter(g, "http", errors.New("closed"))
			},
			want: nil,
			log: []string{
				"signals returned",
				"interrupt signals",
				"interrupt worker", "worker returned (cause: nil)",
				"interrupt http", "http returned (cause: nil)",
			},
		},
		"an actor that returns by itself during the teardown is not waited for twice": {
			add: func(s *script, g *group) {
				s.quitter(g, "demo", time.Second, failed)
				s.waiter(g, "worker", nil)                        // takes 1s after its interrupt at 1s
				s.quitter(g, "early", 1500*time.Millisecond, nil) // returns while the worker stops
				s.waiter(g, "http", nil)
			},
			want: failed,
			log: []string{
				"demo returned",
				"interrupt demo",
				"interrupt worker", "early returned", "worker returned (cause: listener failed)",
				"interrupt early",
				"interrupt http", "http returned (cause: listener failed)",
			},
		},
		"one actor": {
			add:  func(s *script, g *group) { s.quitter(g, "only", 0, failed) },
			want: failed,
			log:  []string{"only returned", "interrupt only"},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			// synctest: fake time, and the test fails if any goroutine is left blocked.
			synctest.Test(t, func(t *testing.T) {
				var s script
				var g group
				c.add(&s, &g)
				err := g.run()
				if err != c.want {
					t.Errorf("run returned %v, want %v (the first actor's error)", err, c.want)
				}
				if got := s.got(); !slices.Equal(got, c.log) {
					t.Errorf("teardown:\n got %q\nwant %q", got, c.log)
				}
				synctest.Wait() // every actor goroutine has exited (or synctest.Test reports a leak)
			})
		})
	}
}

func TestGroupWaitsForEveryActorBeforeReturning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g group
		var stopped []bool
		for i := range 3 {
			stopped = append(stopped, false)
			stop := make(chan struct{})
			g.add(func() error {
				if i == 0 {
					return errors.New("first")
				}
				<-stop
				time.Sleep(time.Duration(i) * time.Second)
				stopped[i] = true
				return nil
			}, func(error) { close(stop) })
		}
		start := time.Now()
		_ = g.run()
		if !stopped[1] || !stopped[2] {
			t.Fatalf("run returned before its actors had: %v", stopped)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("teardown took %v, want 3s (1s, then 2s, one actor after the other)", d)
		}
	})
}

func TestEmptyGroupReturnsAtOnce(t *testing.T) {
	var g group
	if err := g.run(); err != nil {
		t.Fatal(err)
	}
}
