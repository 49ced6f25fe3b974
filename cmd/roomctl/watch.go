package main

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const watchHelp = `Usage: roomctl watch [-room ROOM_ID] [-format json|text] [-since DURATION] [-n N]

Prints roomworker's results (room.created and room.failed events from
EVENTS_STREAM) as they arrive, one line each: the event in the JSON event
format, or with -format text a line like

  2026-03-02T09:00:00Z room.created room=weekly request=ID sid=RM_x attempts=1 duplicate=false warnings=0
  2026-03-02T09:07:31Z room.failed room=weekly request=ID reason=retries_exhausted attempts=10: message

-since first prints the results stored in that past window. watch runs until
interrupted (exit status 0), or until it has printed -n results.

Exit status:
  0  interrupted, or -n results printed
  2  usage or NATS error
`

func watchCommand() command {
	return command{
		name:    "watch",
		summary: "print room.created and room.failed results as they arrive",
		run:     runWatch,
	}
}

func runWatch(ctx context.Context, e env, args []string) int {
	const cmd = "watch"
	fs := newFlags(cmd)
	room := fs.String("room", "", "print only results for `ROOM_ID`")
	format := fs.String("format", "json", "print results as `json` or text")
	since := fs.Duration("since", 0, "also print results stored within this `DURATION` before now")
	count := fs.Int("n", 0, "exit after printing `N` results (0: run until interrupted)")
	if code, stop := parseFlags(fs, cmd, watchHelp+"\n"+envHelp, e, args); stop {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return usageError(e.stderr, cmd, "unexpected argument %q", fs.Arg(0))
	case *since < 0:
		return usageError(e.stderr, cmd, "-since must not be negative")
	case *count < 0:
		return usageError(e.stderr, cmd, "-n must not be negative")
	}
	if err := checkFormat(*format); err != nil {
		return usageError(e.stderr, cmd, "%v", err)
	}
	s, err := connect(ctx, e.getenv)
	if err != nil {
		fmt.Fprintf(e.stderr, "roomctl watch: %v\n", err)
		return exitUsage
	}
	defer s.close()

	var results jetstream.MessagesContext
	if *since > 0 {
		start := time.Now().Add(-*since)
		var cons jetstream.Consumer
		cons, err = s.js.OrderedConsumer(ctx, s.EventsStream, jetstream.OrderedConsumerConfig{
			FilterSubjects: s.resultSubjects(), DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &start})
		if err == nil {
			results, err = cons.Messages()
		}
		err = streamHint(err, s.EventsStream)
	} else {
		results, err = s.resultsAfterNow(ctx)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "roomctl watch: %v\n", err)
		return exitUsage
	}
	defer results.Stop()

	printed := 0
	err = drain(ctx, results, func(m jetstream.Msg) (bool, error) {
		r, err := decodeResult(m)
		if err != nil {
			fmt.Fprintf(e.stderr, "roomctl watch: skipping a message on %s: %s\n", printable(m.Subject()), printable(err.Error()))
			return false, nil
		}
		if *room != "" && r.roomID() != *room {
			return false, nil
		}
		line, err := r.format(*format)
		if err != nil {
			return true, err
		}
		if _, err := fmt.Fprintln(e.stdout, line); err != nil {
			return true, err
		}
		printed++
		return *count > 0 && printed >= *count, nil
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "roomctl watch: %v\n", err)
		return exitUsage
	}
	return exitOK
}
