package worker

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Config is everything the worker reads from its environment. Each field names its variable;
// the defaults are the ones in DESIGN.md.
type Config struct {
	NATS      NATSConfig
	PlugNmeet PlugNmeetConfig
	Webhook   WebhookConfig

	Concurrency       int           `env:"CONCURRENCY, default=64"`
	MaxAttempts       int           `env:"MAX_ATTEMPTS, default=10"`
	MaxDeliver        int           `env:"MAX_DELIVER, default=100"`
	RetryBaseDelay    time.Duration `env:"RETRY_BASE_DELAY, default=1s"`
	RetryMaxDelay     time.Duration `env:"RETRY_MAX_DELAY, default=5m"`
	RequestTimeout    time.Duration `env:"REQUEST_TIMEOUT, default=10s"`
	IdempotencyWindow time.Duration `env:"IDEMPOTENCY_WINDOW, default=24h"`
	MaxMessageBytes   int           `env:"MAX_MESSAGE_BYTES, default=262144"`
	ShutdownTimeout   time.Duration `env:"SHUTDOWN_TIMEOUT, default=25s"`
	MaxAckPending     int           `env:"MAX_ACK_PENDING, default=1024"`

	RequestSubject string `env:"REQUEST_SUBJECT, default=rooms.create"`
	EndSubject     string `env:"END_SUBJECT, default=rooms.end"`
	CancelSubject  string `env:"CANCEL_SUBJECT, default=rooms.cancel"`
	// Bookings: a room.create with a starttime further than CREATE_LEAD away is stored as a
	// JetStream message schedule on SCHEDULE_SUBJECT_PREFIX.<room_id>, firing CREATE_LEAD
	// before the start.
	CreateLead            time.Duration `env:"CREATE_LEAD, default=10m"`
	ScheduleSubjectPrefix string        `env:"SCHEDULE_SUBJECT_PREFIX, default=rooms.schedule"`
	ScheduledSubject      string        `env:"SCHEDULED_SUBJECT, default=rooms.scheduled"`
	CancelledSubject      string        `env:"CANCELLED_SUBJECT, default=rooms.cancelled"`
	EndedSubject          string        `env:"ENDED_SUBJECT, default=rooms.ended"`
	RequestStream         string        `env:"REQUEST_STREAM, default=ROOM_REQUESTS"`
	RequestRetain         string        `env:"REQUEST_RETENTION, default=workqueue"`
	CreatedSubject        string        `env:"CREATED_SUBJECT, default=rooms.created"`
	FailedSubject         string        `env:"FAILED_SUBJECT, default=rooms.failed"`
	EventsStream          string        `env:"EVENTS_STREAM, default=ROOM_EVENTS"`
	EventsMaxAge          time.Duration `env:"EVENTS_MAX_AGE, default=168h"`
	Consumer              string        `env:"CONSUMER, default=roomworker"`
	Bucket                string        `env:"KV_BUCKET, default=roomworker_rooms"`
	StreamReplicas        int           `env:"STREAM_REPLICAS, default=1"`
	EventSource           string        `env:"EVENT_SOURCE, default=roomworker"`
	MetricsAddr           string        `env:"METRICS_ADDR, default=:9090"`
	LogLevel              string        `env:"LOG_LEVEL, default=info"`
	LogFormat             string        `env:"LOG_FORMAT, default=json"`
	ConsumerRecheck       time.Duration `env:"CONSUMER_RECHECK, default=30s"`
	// ConsumerSettingsVersion orders configurations during a rolling update: only a worker with a
	// higher version than the consumer records changes its AckWait or MaxAckPending.
	ConsumerSettingsVersion int `env:"CONSUMER_SETTINGS_VERSION, default=1"`
}

// NATSConfig is how to reach NATS. roomctl reads the same variables.
type NATSConfig struct {
	URL   string `env:"NATS_URL, default=nats://127.0.0.1:4222"`
	Creds string `env:"NATS_CREDS"`
	NKey  string `env:"NATS_NKEY"`
	CA    string `env:"NATS_CA"`
	Cert  string `env:"NATS_CERT"`
	Key   string `env:"NATS_KEY"`
}

// WebhookConfig is the plugNmeet webhook receiver: deliveries verified on WEBHOOK_ADDR and
// republished as CloudEvents on LIFECYCLE_SUBJECT_PREFIX.<event> in LIFECYCLE_STREAM.
type WebhookConfig struct {
	Addr          string        `env:"WEBHOOK_ADDR"` // "" (the default): no receiver
	MaxBytes      int           `env:"WEBHOOK_MAX_BYTES, default=1048576"`
	Leeway        time.Duration `env:"WEBHOOK_LEEWAY, default=30s"`          // allowed clock skew on exp/nbf/iat
	PublishWait   time.Duration `env:"WEBHOOK_PUBLISH_WAIT, default=2500ms"` // how long one delivery retries its publish
	Stream        string        `env:"LIFECYCLE_STREAM, default=ROOM_LIFECYCLE"`
	SubjectPrefix string        `env:"LIFECYCLE_SUBJECT_PREFIX, default=rooms.lifecycle"`
	Reconcile     time.Duration `env:"RECONCILE_INTERVAL, default=5m"` // compare recorded live rooms with plugNmeet's
}

// PlugNmeetConfig is how to reach the plugNmeet API.
type PlugNmeetConfig struct {
	URL        string `env:"PLUGNMEET_URL"`
	APIKey     string `env:"PLUGNMEET_API_KEY"`
	APISecret  Secret `env:"PLUGNMEET_API_SECRET"`
	SecretFile string `env:"PLUGNMEET_API_SECRET_FILE"`
	CA         string `env:"PLUGNMEET_CA"` // PEM CA bundle for a plugNmeet server over HTTPS with a private CA
}

// Secret is a string that never prints itself.
type Secret string

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString redacts the secret in %#v.
func (s Secret) GoString() string { return s.String() }

// LoadConfig reads the configuration from lookup (os.LookupEnv in production), applies defaults,
// reads secret files and validates. Errors name the variable at fault in one line.
func LoadConfig(ctx context.Context, lookup func(string) (string, bool)) (Config, error) {
	var c Config
	err := envconfig.ProcessWith(ctx, &envconfig.Config{
		Target:   &c,
		Lookuper: envconfig.LookuperFunc(lookup),
	})
	if err != nil {
		return Config{}, nameVariable(err, reflect.TypeFor[Config]())
	}
	if c.PlugNmeet.SecretFile != "" {
		if c.PlugNmeet.APISecret != "" {
			return Config{}, errors.New("PLUGNMEET_API_SECRET and PLUGNMEET_API_SECRET_FILE are both set: keep one")
		}
		b, err := os.ReadFile(c.PlugNmeet.SecretFile)
		if err != nil {
			return Config{}, fmt.Errorf("PLUGNMEET_API_SECRET_FILE: %w", err)
		}
		c.PlugNmeet.APISecret = Secret(strings.TrimSpace(string(b)))
	}
	return c, c.Validate()
}

// Validate checks values that parse but make no sense. The error names the variable.
func (c Config) Validate() error {
	type check struct {
		bad  bool
		name string
		msg  string
	}
	checks := []check{
		{c.NATS.URL == "", "NATS_URL", "must not be empty"},
		{c.PlugNmeet.URL == "", "PLUGNMEET_URL", "is required (the plugNmeet server's base URL, e.g. https://meet.example.com)"},
		{!isHTTPURL(c.PlugNmeet.URL), "PLUGNMEET_URL", fmt.Sprintf("%q is not an absolute http(s) URL", c.PlugNmeet.URL)},
		{c.PlugNmeet.APIKey == "", "PLUGNMEET_API_KEY", "is required"},
		{c.PlugNmeet.APISecret == "", "PLUGNMEET_API_SECRET", "is required (or PLUGNMEET_API_SECRET_FILE)"},
		{c.Concurrency < 1 || c.Concurrency > 4096, "CONCURRENCY", fmt.Sprintf("must be 1..4096, got %d", c.Concurrency)},
		{c.MaxAttempts < 1, "MAX_ATTEMPTS", fmt.Sprintf("must be at least 1, got %d", c.MaxAttempts)},
		{c.MaxDeliver != -1 && c.MaxDeliver <= c.MaxAttempts, "MAX_DELIVER",
			fmt.Sprintf("must be -1 (unlimited) or greater than MAX_ATTEMPTS (%d), got %d", c.MaxAttempts, c.MaxDeliver)},
		{c.RetryBaseDelay <= 0, "RETRY_BASE_DELAY", "must be positive"},
		{c.RetryMaxDelay < c.RetryBaseDelay, "RETRY_MAX_DELAY", "must not be less than RETRY_BASE_DELAY"},
		{c.RequestTimeout < 100*time.Millisecond, "REQUEST_TIMEOUT", "must be at least 100ms"},
		{c.IdempotencyWindow < time.Second, "IDEMPOTENCY_WINDOW", "must be at least 1s"},
		{c.MaxMessageBytes < 1024, "MAX_MESSAGE_BYTES", "must be at least 1024"},
		{c.ShutdownTimeout <= 0, "SHUTDOWN_TIMEOUT", "must be positive"},
		{c.MaxAckPending < c.Concurrency, "MAX_ACK_PENDING", "must not be less than CONCURRENCY"},
		{c.RequestRetain != "workqueue" && c.RequestRetain != "limits", "REQUEST_RETENTION", "must be workqueue or limits"},
		{c.StreamReplicas < 1 || c.StreamReplicas > 5, "STREAM_REPLICAS", "must be 1..5"},
		{c.LogLevel != "debug" && c.LogLevel != "info" && c.LogLevel != "warn" && c.LogLevel != "error", "LOG_LEVEL", "must be debug, info, warn or error"},
		{c.LogFormat != "json" && c.LogFormat != "text", "LOG_FORMAT", "must be json or text"},
		{c.ConsumerRecheck < time.Second, "CONSUMER_RECHECK", "must be at least 1s"},
		{c.Webhook.MaxBytes < 1024, "WEBHOOK_MAX_BYTES", "must be at least 1024"},
		{c.Webhook.Leeway < 0, "WEBHOOK_LEEWAY", "must not be negative"},
		{c.Webhook.PublishWait <= 0, "WEBHOOK_PUBLISH_WAIT", "must be positive"},
		{c.Webhook.Reconcile < time.Second, "RECONCILE_INTERVAL", "must be at least 1s"},
		{c.CreateLead < 0, "CREATE_LEAD", "must not be negative"},
		{c.ConsumerSettingsVersion < 1, "CONSUMER_SETTINGS_VERSION", fmt.Sprintf("must be at least 1, got %d", c.ConsumerSettingsVersion)},
	}
	for _, n := range []struct{ name, v string }{
		{"REQUEST_SUBJECT", c.RequestSubject}, {"CREATED_SUBJECT", c.CreatedSubject}, {"FAILED_SUBJECT", c.FailedSubject},
		{"END_SUBJECT", c.EndSubject}, {"ENDED_SUBJECT", c.EndedSubject}, {"CANCEL_SUBJECT", c.CancelSubject},
		{"SCHEDULE_SUBJECT_PREFIX", c.ScheduleSubjectPrefix}, {"SCHEDULED_SUBJECT", c.ScheduledSubject},
		{"CANCELLED_SUBJECT", c.CancelledSubject},
		{"LIFECYCLE_STREAM", c.Webhook.Stream}, {"LIFECYCLE_SUBJECT_PREFIX", c.Webhook.SubjectPrefix},
		{"REQUEST_STREAM", c.RequestStream}, {"EVENTS_STREAM", c.EventsStream}, {"CONSUMER", c.Consumer}, {"KV_BUCKET", c.Bucket},
	} {
		checks = append(checks, check{n.v == "" || strings.ContainsAny(n.v, " \t*>"), n.name, "must be a non-empty NATS name without spaces or wildcards"})
	}
	for _, ch := range checks {
		if ch.bad {
			return fmt.Errorf("%s %s", ch.name, ch.msg)
		}
	}
	if c.NATS.Creds != "" && c.NATS.NKey != "" {
		return errors.New("NATS_CREDS and NATS_NKEY are both set: keep one")
	}
	if (c.NATS.Cert == "") != (c.NATS.Key == "") {
		return errors.New("NATS_CERT and NATS_KEY must be set together")
	}
	return nil
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// AckWait is how long JetStream waits for an ack before redelivering: one request timeout plus
// a margin; longer attempts send InProgress heartbeats.
func (c Config) AckWait() time.Duration { return c.RequestTimeout + 5*time.Second }

// deliveryBudget bounds the time one delivery may spend on create attempts (in-process retries
// included), so the room lease below always outlives its holder's work.
func (c Config) deliveryBudget() time.Duration { return 3*c.RequestTimeout + 5*time.Second }

// leaseTTL is how long a room_id lease lives in the KV bucket when its holder vanishes.
func (c Config) leaseTTL() time.Duration { return c.deliveryBudget() + 5*time.Second }

// nameVariable rewrites go-envconfig's "FieldName: cause" errors into "VARIABLE: cause".
func nameVariable(err error, t reflect.Type) error {
	msg := err.Error()
	var walk func(t reflect.Type) (string, bool)
	walk = func(t reflect.Type) (string, bool) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Type.Kind() == reflect.Struct && f.Tag.Get("env") == "" {
				if s, ok := walk(f.Type); ok {
					return s, true
				}
				continue
			}
			if rest, ok := strings.CutPrefix(msg, f.Name+": "); ok {
				name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
				return fmt.Sprintf("%s: invalid value: %s", name, rest), true
			}
		}
		return "", false
	}
	if s, ok := walk(t); ok {
		return errors.New(s)
	}
	return err
}
