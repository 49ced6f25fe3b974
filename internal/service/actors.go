package service

// group runs the parts of the process (the signal wait, the worker, roomdev's demo, the HTTP
// servers) as actors, after oklog/run: when the first actor returns, for whatever reason, every
// actor is interrupted and run returns that first actor's error. Unlike oklog/run, which interrupts all
// actors at once, teardown is sequential: the actors are interrupted in the order they were
// added, and each is waited for before the next is interrupted. So the order of add is the
// order of shutdown, and an actor added late (the HTTP server) keeps serving while the ones
// before it (the worker and its grace period) wind down.
//
// The zero group is ready to use. A group runs once.
type group struct {
	actors []actor
}

type actor struct {
	execute   func() error
	interrupt func(error)
}

// add adds an actor. execute runs until the actor is done or interrupted. interrupt must make
// execute return; it may block until it has (a graceful server shutdown). interrupt is called
// exactly once, with the first actor's error, also on the actor that returned first.
func (g *group) add(execute func() error, interrupt func(error)) {
	g.actors = append(g.actors, actor{execute, interrupt})
}

// run starts every actor and waits for the first to return; then it interrupts the actors in
// the order they were added, waiting for each to return before the next. It returns the first
// actor's error once all of them have returned. An empty group returns nil at once.
func (g *group) run() error {
	if len(g.actors) == 0 {
		return nil
	}
	type result struct {
		actor int
		err   error
	}
	results := make(chan result, len(g.actors)) // never blocks: no goroutine outlives run
	for i, a := range g.actors {
		go func() { results <- result{i, a.execute()} }()
	}
	first := <-results
	returned := make([]bool, len(g.actors))
	returned[first.actor] = true
	for i, a := range g.actors {
		a.interrupt(first.err)
		for !returned[i] {
			r := <-results
			returned[r.actor] = true
		}
	}
	return first.err
}
