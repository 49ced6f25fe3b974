package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sethvargo/go-envconfig"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/worker"
)

// settings are the worker variables roomctl shares: how to reach NATS and
// the subject, stream and bucket names, with the worker's defaults. roomctl
// never needs the PLUGNMEET_* variables.
type settings struct {
	NATS worker.NATSConfig

	RequestSubject  string        `env:"REQUEST_SUBJECT, default=rooms.create"`
	EndSubject      string        `env:"END_SUBJECT, default=rooms.end"`
	CancelSubject   string        `env:"CANCEL_SUBJECT, default=rooms.cancel"`
	SchedulePrefix  string        `env:"SCHEDULE_SUBJECT_PREFIX, default=rooms.schedule"`
	ScheduledSubj   string        `env:"SCHEDULED_SUBJECT, default=rooms.scheduled"`
	CancelledSubj   string        `env:"CANCELLED_SUBJECT, default=rooms.cancelled"`
	CreateLead      time.Duration `env:"CREATE_LEAD, default=10m"`
	RequestStream   string        `env:"REQUEST_STREAM, default=ROOM_REQUESTS"`
	CreatedSubject  string        `env:"CREATED_SUBJECT, default=rooms.created"`
	EndedSubject    string        `env:"ENDED_SUBJECT, default=rooms.ended"`
	FailedSubject   string        `env:"FAILED_SUBJECT, default=rooms.failed"`
	EventsStream    string        `env:"EVENTS_STREAM, default=ROOM_EVENTS"`
	LifecycleStream string        `env:"LIFECYCLE_STREAM, default=ROOM_LIFECYCLE"`
	LifecyclePrefix string        `env:"LIFECYCLE_SUBJECT_PREFIX, default=rooms.lifecycle"`
	Bucket          string        `env:"KV_BUCKET, default=roomworker_rooms"`
}

// envHelp is the environment section of the NATS commands' --help.
const envHelp = `Environment (the worker's variables, same defaults):
  NATS_URL (nats://127.0.0.1:4222), NATS_CREDS, NATS_NKEY, NATS_CA, NATS_CERT, NATS_KEY,
  REQUEST_SUBJECT (rooms.create), END_SUBJECT (rooms.end), CANCEL_SUBJECT (rooms.cancel),
  SCHEDULE_SUBJECT_PREFIX (rooms.schedule), CREATE_LEAD (10m), REQUEST_STREAM
  (ROOM_REQUESTS), CREATED_SUBJECT (rooms.created), ENDED_SUBJECT (rooms.ended),
  SCHEDULED_SUBJECT (rooms.scheduled), CANCELLED_SUBJECT (rooms.cancelled), FAILED_SUBJECT
  (rooms.failed), EVENTS_STREAM (ROOM_EVENTS), LIFECYCLE_STREAM (ROOM_LIFECYCLE),
  LIFECYCLE_SUBJECT_PREFIX (rooms.lifecycle), KV_BUCKET (roomworker_rooms).
`

// loadSettings reads the settings; an empty variable counts as unset.
func loadSettings(ctx context.Context, getenv func(string) string) (settings, error) {
	var s settings
	err := envconfig.ProcessWith(ctx, &envconfig.Config{
		Target: &s,
		Lookuper: envconfig.LookuperFunc(func(k string) (string, bool) {
			v := getenv(k)
			return v, v != ""
		}),
	})
	if err != nil {
		return settings{}, fmt.Errorf("configuration: %w", err)
	}
	for _, n := range []struct{ name, v string }{
		{"REQUEST_SUBJECT", s.RequestSubject}, {"CREATED_SUBJECT", s.CreatedSubject}, {"FAILED_SUBJECT", s.FailedSubject},
		{"END_SUBJECT", s.EndSubject}, {"ENDED_SUBJECT", s.EndedSubject}, {"LIFECYCLE_STREAM", s.LifecycleStream},
		{"LIFECYCLE_SUBJECT_PREFIX", s.LifecyclePrefix}, {"CANCEL_SUBJECT", s.CancelSubject},
		{"SCHEDULE_SUBJECT_PREFIX", s.SchedulePrefix}, {"SCHEDULED_SUBJECT", s.ScheduledSubj},
		{"CANCELLED_SUBJECT", s.CancelledSubj},
		{"REQUEST_STREAM", s.RequestStream}, {"EVENTS_STREAM", s.EventsStream}, {"KV_BUCKET", s.Bucket},
	} {
		if strings.ContainsAny(n.v, " \t*>") {
			return settings{}, fmt.Errorf("%s %q must be a NATS name without spaces or wildcards", n.name, n.v)
		}
	}
	if s.CreateLead < 0 {
		return settings{}, errors.New("CREATE_LEAD must not be negative")
	}
	if s.NATS.Creds != "" && s.NATS.NKey != "" {
		return settings{}, errors.New("NATS_CREDS and NATS_NKEY are both set: keep one")
	}
	if (s.NATS.Cert == "") != (s.NATS.Key == "") {
		return settings{}, errors.New("NATS_CERT and NATS_KEY must be set together")
	}
	return s, nil
}

// session is an open connection to NATS with the settings it was made from.
type session struct {
	settings
	nc *nats.Conn
	js jetstream.JetStream
}

// connect loads the settings and connects; the caller closes the session.
func connect(ctx context.Context, getenv func(string) string) (*session, error) {
	s, err := loadSettings(ctx, getenv)
	if err != nil {
		return nil, err
	}
	nc, err := worker.Connect(s.NATS, "roomctl", nil)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("JetStream: %w", err)
	}
	return &session{settings: s, nc: nc, js: js}, nil
}

func (s *session) close() { s.nc.Close() }

// resultSubjects are the subjects the results of room.create requests are
// stored under.
func (s *session) resultSubjects() []string { return []string{s.CreatedSubject, s.FailedSubject} }

// endResultSubjects are the subjects the results of room.end requests are
// stored under.
func (s *session) endResultSubjects() []string { return []string{s.EndedSubject, s.FailedSubject} }

// bookingResultSubjects are the subjects the answers to a room.create with a
// starttime are stored under: room.scheduled, then room.created or room.failed.
func (s *session) bookingResultSubjects() []string {
	return []string{s.ScheduledSubj, s.CreatedSubject, s.FailedSubject}
}

// cancelResultSubjects are the subjects the results of room.cancel requests
// are stored under.
func (s *session) cancelResultSubjects() []string { return []string{s.CancelledSubj, s.FailedSubject} }

// scheduleSubject is where roomworker keeps room's pending booking; ">"
// gives the wildcard for all of them.
func (s *session) scheduleSubject(room string) string { return s.SchedulePrefix + "." + room }

// resultSubject is the subject results of type typ are stored under ("" for
// a type that is no result).
func (s *session) resultSubject(typ string) string {
	switch typ {
	case events.TypeRoomCreated:
		return s.CreatedSubject
	case events.TypeRoomEnded:
		return s.EndedSubject
	case events.TypeRoomFailed:
		return s.FailedSubject
	case events.TypeRoomScheduled:
		return s.ScheduledSubj
	case events.TypeRoomCancelled:
		return s.CancelledSubj
	}
	return ""
}

// lifecycleSubject is the subject lifecycle events of plugNmeet event name
// are stored under; ">" gives the wildcard for all of them.
func (s *session) lifecycleSubject(name string) string { return s.LifecyclePrefix + "." + name }

// streamHint explains a missing stream: the worker creates the streams.
func streamHint(err error, stream string) error {
	if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrNoStreamResponse) {
		return fmt.Errorf("stream %s not found (roomworker creates it when it starts): %w", stream, err)
	}
	return err
}

// follow reads stream (messages on subjects, from the position cfg sets)
// until fn returns done or an error, or ctx ends (a nil error).
func follow(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.OrderedConsumerConfig,
	fn func(jetstream.Msg) (done bool, err error)) error {
	cons, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return streamHint(err, stream)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	defer it.Stop()
	return drain(ctx, it, fn)
}

// drain feeds fn the messages of it until fn is done or fails, or ctx ends.
func drain(ctx context.Context, it jetstream.MessagesContext, fn func(jetstream.Msg) (bool, error)) error {
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read results: %w", err)
		}
		if done, err := fn(m); done || err != nil {
			return err
		}
	}
}

// scan calls fn for every message of stream on subjects stored since from
// (zero: from the start), up to the end of the stream as it is when the
// scan reaches it.
func scan(ctx context.Context, js jetstream.JetStream, stream string, subjects []string, from time.Time,
	fn func(jetstream.Msg) error) error {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: subjects, DeliverPolicy: jetstream.DeliverAllPolicy}
	if !from.IsZero() {
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &from
	}
	cons, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return streamHint(err, stream)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	defer it.Stop()
	info, err := cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	if info.NumPending == 0 && info.Delivered.Stream == 0 {
		return nil
	}
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		if err := fn(m); err != nil {
			return err
		}
		if meta.NumPending == 0 {
			return nil
		}
	}
}

// usageError reports a command-line mistake of command cmd.
func usageError(w io.Writer, cmd string, format string, a ...any) int {
	fmt.Fprintf(w, "roomctl %s: "+format+"\n", append([]any{cmd}, a...)...)
	fmt.Fprintf(w, "Run \"roomctl %s --help\" for usage.\n", cmd)
	return exitUsage
}
