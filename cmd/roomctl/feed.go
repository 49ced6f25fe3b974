package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// How watch follows several streams at once: each stream is a feed, a
// goroutine reading an ordered consumer into a channel. A feed starts with
// its backlog (the messages stored since -since, none without it) and then
// goes live. merge prints the backlogs oldest first across feeds (by the
// time JetStream stored each message), then every message as it comes.

// item is one message of a feed.
type item struct {
	w       watched   // the decoded event (nil when err is set)
	err     error     // the message is no event of the feed's kind
	subject string    // the message's subject
	stored  time.Time // when JetStream stored it
}

// delivery is what a feed sends: an item, a mark that its backlog is over
// (after the item, if any), or an error that ends the watch.
type delivery struct {
	item       *item
	backlogEnd bool
	fatal      error
}

// feed is one stream being read.
type feed struct {
	ch   chan delivery
	done chan struct{} // closed when the goroutine has stopped
}

// backlogIdle is how long a feed waits for the next message of a backlog
// it was told about before it counts the backlog as over (messages can
// expire between the count and their delivery).
const backlogIdle = 2 * time.Second

// lifecyclePoll is how often a feed whose stream does not exist yet looks
// for it.
const lifecyclePoll = time.Second

// feedConfig is where a feed starts: the messages stored from start on, or
// (zero start) those stored after now.
func feedConfig(ctx context.Context, js jetstream.JetStream, stream string, subjects []string, start time.Time) (jetstream.OrderedConsumerConfig, error) {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: subjects}
	if !start.IsZero() {
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
		return cfg, nil
	}
	// DeliverNew would start wherever the stream is when the consumer is
	// created on the server, which happens lazily: pin the position.
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return cfg, streamHint(err, stream)
	}
	cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
	cfg.OptStartSeq = st.CachedInfo().State.LastSeq + 1
	return cfg, nil
}

// openFeed starts reading stream; it fails when the stream does not exist.
func openFeed(ctx context.Context, s *session, stream string, subjects []string, start time.Time,
	decode func(jetstream.Msg) (watched, error)) (*feed, error) {
	cfg, err := feedConfig(ctx, s.js, stream, subjects, start)
	if err != nil {
		return nil, err
	}
	it, backlog, err := openConsumer(ctx, s.js, stream, cfg)
	if err != nil {
		return nil, err
	}
	f := &feed{ch: make(chan delivery, 64), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.pump(ctx, it, backlog, decode)
	}()
	return f, nil
}

// awaitFeed is openFeed for a stream that may not exist yet: the feed then
// has no backlog, waits for the stream and reads it from its first message.
func awaitFeed(ctx context.Context, s *session, stream string, subjects []string, start time.Time,
	decode func(jetstream.Msg) (watched, error)) *feed {
	f, err := openFeed(ctx, s, stream, subjects, start, decode)
	if err == nil {
		return f
	}
	f = &feed{ch: make(chan delivery, 64), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			f.send(ctx, delivery{fatal: err})
			return
		}
		if !f.send(ctx, delivery{backlogEnd: true}) {
			return
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(lifecyclePoll):
			}
			_, err := s.js.Stream(ctx, stream)
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				continue
			}
			var it jetstream.MessagesContext
			if err == nil {
				// Everything in a stream that appeared after watch started is new.
				cfg := jetstream.OrderedConsumerConfig{FilterSubjects: subjects, DeliverPolicy: jetstream.DeliverAllPolicy}
				it, _, err = openConsumer(ctx, s.js, stream, cfg)
			}
			if err != nil {
				if ctx.Err() == nil {
					f.send(ctx, delivery{fatal: err})
				}
				return
			}
			f.pump(ctx, it, false, decode)
			return
		}
	}()
	return f
}

// openConsumer starts an ordered consumer on stream and says whether it has
// messages to deliver already (its backlog).
func openConsumer(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.OrderedConsumerConfig) (jetstream.MessagesContext, bool, error) {
	cons, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, false, streamHint(err, stream)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", stream, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		it.Stop()
		return nil, false, fmt.Errorf("read %s: %w", stream, err)
	}
	return it, info.NumPending > 0, nil
}

// send delivers d unless ctx ends first.
func (f *feed) send(ctx context.Context, d delivery) bool {
	select {
	case f.ch <- d:
		return true
	case <-ctx.Done():
		return false
	}
}

// pump reads it into the feed until ctx ends or reading fails.
func (f *feed) pump(ctx context.Context, it jetstream.MessagesContext, backlog bool, decode func(jetstream.Msg) (watched, error)) {
	defer it.Stop()
	if !backlog && !f.send(ctx, delivery{backlogEnd: true}) {
		return
	}
	for {
		var m jetstream.Msg
		var err error
		if backlog {
			nctx, cancel := context.WithTimeout(ctx, backlogIdle)
			m, err = it.Next(jetstream.NextContext(nctx))
			cancel()
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				backlog = false
				if !f.send(ctx, delivery{backlogEnd: true}) {
					return
				}
				continue
			}
		} else {
			m, err = it.Next(jetstream.NextContext(ctx))
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			f.send(ctx, delivery{fatal: fmt.Errorf("read events: %w", err)})
			return
		}
		in := &item{subject: m.Subject()}
		in.w, in.err = decode(m)
		d := delivery{item: in}
		if meta, err := m.Metadata(); err == nil {
			in.stored = meta.Timestamp
			if backlog && meta.NumPending == 0 {
				backlog, d.backlogEnd = false, true
			}
		}
		if !f.send(ctx, d) {
			return
		}
	}
}

// merge hands fn the items of feeds (see the top of this file) until fn is
// done or fails, a feed fails, or ctx ends (nil). The caller stops the
// feeds.
func merge(ctx context.Context, feeds []*feed, fn func(item) (done bool, err error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	heads := make([]*item, len(feeds))
	inBacklog := make([]bool, len(feeds))
	for i := range inBacklog {
		inBacklog[i] = true
	}
	// take records what feed i delivered.
	take := func(i int, d delivery) error {
		if d.fatal != nil {
			return d.fatal
		}
		heads[i] = d.item
		if d.backlogEnd {
			inBacklog[i] = false
		}
		return nil
	}

	// Backlogs: wait until every feed still in its backlog has a head (a
	// live feed's head is taken when there is one), and hand on the oldest
	// head. Once every backlog is over, the heads left go first.
	for {
		backlog := false
		for i, f := range feeds {
			for inBacklog[i] && heads[i] == nil {
				select {
				case d := <-f.ch:
					if err := take(i, d); err != nil {
						return err
					}
				case <-ctx.Done():
					return nil
				}
			}
			if !inBacklog[i] && heads[i] == nil {
				select {
				case d := <-f.ch:
					if err := take(i, d); err != nil {
						return err
					}
				default:
				}
			}
			backlog = backlog || inBacklog[i]
		}
		oldest := -1
		for i, h := range heads {
			if h != nil && (oldest < 0 || h.stored.Before(heads[oldest].stored)) {
				oldest = i
			}
		}
		if oldest < 0 {
			if backlog {
				continue
			}
			break
		}
		h := heads[oldest]
		heads[oldest] = nil
		if done, err := fn(*h); done || err != nil {
			return err
		}
	}

	// Live: items as they come, from whichever feed.
	cases := make(chan delivery)
	for _, f := range feeds {
		go func() {
			for {
				select {
				case d := <-f.ch:
					select {
					case cases <- d:
					case <-ctx.Done():
						return
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	for {
		select {
		case d := <-cases:
			if d.fatal != nil {
				return d.fatal
			}
			if d.item == nil {
				continue
			}
			if done, err := fn(*d.item); done || err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		}
	}
}
