// Package service is the roomworker process, shared by the two commands that run it:
// cmd/roomworker (production) and cmd/roomdev (the development mode, with an embedded NATS
// server and the plugNmeet stand-in). Run loads the configuration, connects, and runs the worker,
// its HTTP servers (/metrics, /healthz, /readyz; the webhook receiver) and an optional task as
// one actor group. It imports neither nats-server nor the stand-in: roomdev brings those.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/roomworker/roomworker/internal/tracing"
	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/worker"
)

// Options is what Run needs besides its context. Lookup and Stderr are required.
type Options struct {
	// Lookup reads a configuration variable (os.LookupEnv in production).
	Lookup func(string) (string, bool)
	// Stderr receives the log.
	Stderr io.Writer
	// Version and Revision label roomworker_build_info and the start-up log; see BuildInfo.
	Version, Revision string

	// Listening, when set, is called once the process is connected and listening, with the
	// address of /metrics, before anything is served. roomdev announces its servers with it.
	Listening func(metricsAddr string)
	// Task, when set, runs beside the worker once it is started (roomdev's demo). The process
	// ends when it returns, with its error: nil is a success. Its ctx ends when the process
	// stops for another reason.
	Task func(ctx context.Context, p Process) error

	// Seams for the lifecycle tests: how the HTTP listeners are opened (net.Listen when nil) and
	// how the worker runs ((*worker.Worker).Run when nil).
	Listen    func(network, addr string) (net.Listener, error)
	RunWorker func(*worker.Worker, context.Context) error
}

// Process is the running process, as a Task sees it.
type Process struct {
	NC     *nats.Conn
	Config worker.Config
	Worker *worker.Worker
}

// Run is the whole process: configuration, connections, the worker, its HTTP servers and the
// task. It returns once everything has stopped: nil when ctx is cancelled (SIGTERM) or the task
// succeeded; an error on a start-up failure, or when the worker, an HTTP server or the task ended
// with one (that first error; the rest of the process is stopped first).
func Run(ctx context.Context, o Options) error {
	listen := o.Listen
	if listen == nil {
		listen = net.Listen
	}
	runWorker := o.RunWorker
	if runWorker == nil {
		runWorker = (*worker.Worker).Run
	}

	cfg, err := worker.LoadConfig(ctx, o.Lookup)
	if err != nil {
		return err
	}
	log := newLogger(cfg, o.Stderr)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	v, r, g := BuildInfo(o.Version, o.Revision)
	buildInfoGauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "roomworker_build_info",
		Help: "Build information; the value is always 1.",
	}, []string{"version", "revision", "goversion"})
	buildInfoGauge.WithLabelValues(v, r, g).Set(1)
	reg.MustRegister(buildInfoGauge)
	metrics := worker.NewMetrics(reg)
	lifecycleMetrics := worker.NewLifecycleMetrics(reg)

	// Traces: on only when an OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), configured by the standard OTEL_* variables.
	tr, err := tracing.Setup(ctx, v)
	if err != nil {
		return err // "tracing: OTEL_...: ..."
	}
	if tr.Enabled() {
		tracing.LogErrors(log) // export failures as warnings, not the SDK's own stderr lines
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tr.Shutdown(sctx); err != nil {
			log.Warn("tracing: spans not exported at shutdown", "err", err)
		}
	}()

	httpClient := plugnmeet.DefaultHTTPClient()
	if cfg.PlugNmeet.CA != "" {
		if httpClient, err = plugnmeet.HTTPClientWithCA(cfg.PlugNmeet.CA); err != nil {
			return fmt.Errorf("PLUGNMEET_CA: %w", err)
		}
	}
	httpClient.Transport = tr.Transport(httpClient.Transport) // unchanged while tracing is off
	api, err := plugnmeet.New(plugnmeet.Config{
		URL:        cfg.PlugNmeet.URL,
		APIKey:     cfg.PlugNmeet.APIKey,
		APISecret:  string(cfg.PlugNmeet.APISecret),
		HTTPClient: httpClient,
	})
	if err != nil {
		return fmt.Errorf("plugNmeet client: %w", err)
	}
	nc, err := worker.Connect(cfg.NATS, "roomworker", log)
	if err != nil {
		return err
	}
	defer nc.Close()

	w, err := worker.New(cfg, worker.Deps{NC: nc, API: api, Logger: log, Metrics: metrics, Tracing: tr})
	if err != nil {
		return err
	}

	ln, err := listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
	}
	srv := &http.Server{Handler: opsHandler(reg, w), ReadHeaderTimeout: 5 * time.Second}
	var hookLn net.Listener // nil: no webhook receiver (WEBHOOK_ADDR empty)
	if cfg.Webhook.Addr != "" {
		if hookLn, err = listen("tcp", cfg.Webhook.Addr); err != nil {
			_ = ln.Close()
			return fmt.Errorf("WEBHOOK_ADDR %s: %w", cfg.Webhook.Addr, err)
		}
	}
	log.Info("roomworker starting", "version", v, "nats", worker.RedactURL(cfg.NATS.URL), "plugnmeet", cfg.PlugNmeet.URL,
		"metrics", ln.Addr().String(), "concurrency", cfg.Concurrency, "max_attempts", cfg.MaxAttempts, "tracing", tr.String())
	if o.Listening != nil {
		o.Listening(ln.Addr().String())
	}

	// The actors stop in the order they are added: the signal wait, the task, the worker (which
	// finishes in-flight work within SHUTDOWN_TIMEOUT while /healthz still answers), the webhook
	// receiver when WEBHOOK_ADDR is set, then the HTTP server. Whichever returns first ends the
	// process, with its error. Only the signal wait watches ctx; the other actors' contexts end
	// with their interrupts, so a SIGTERM ends with nil.
	var actors group
	stopWaiting := make(chan struct{})
	actors.add(func() error {
		select {
		case <-ctx.Done(): // SIGTERM or SIGINT: a clean exit
		case <-stopWaiting:
		}
		return nil
	}, func(error) { close(stopWaiting) })

	if o.Task != nil {
		taskCtx, stopTask := context.WithCancel(context.WithoutCancel(ctx))
		actors.add(func() error {
			return o.Task(taskCtx, Process{NC: nc, Config: cfg, Worker: w})
		}, func(error) { stopTask() })
	}

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	actors.add(func() error {
		if err := runWorker(w, workCtx); err != nil {
			return err
		}
		if workCtx.Err() == nil {
			return errors.New("the worker stopped without being asked to")
		}
		return nil
	}, func(cause error) {
		if cause != nil {
			log.Error("shutting down", "err", cause)
		}
		stopWork()
	})

	if hookLn != nil {
		// plugNmeet's webhooks: verified, stored in LIFECYCLE_STREAM, answered. It keeps serving
		// while the worker winds down; a delivery in progress finishes within WEBHOOK_PUBLISH_WAIT.
		hookSrv := &http.Server{
			Handler: w.WebhookHandler(plugnmeet.WebhookVerifier{
				APIKey:    cfg.PlugNmeet.APIKey,
				APISecret: string(cfg.PlugNmeet.APISecret),
				Leeway:    cfg.Webhook.Leeway,
			}, lifecycleMetrics),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
		}
		log.Info("webhook receiver listening", "addr", hookLn.Addr().String(), "path", worker.WebhookPath,
			"stream", cfg.Webhook.Stream, "subjects", cfg.Webhook.SubjectPrefix+".>")
		actors.add(func() error {
			if err := hookSrv.Serve(hookLn); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("WEBHOOK_ADDR %s: serving plugNmeet webhooks: %w", cfg.Webhook.Addr, err)
			}
			return nil
		}, func(error) {
			shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Webhook.PublishWait+5*time.Second)
			defer cancel()
			_ = hookSrv.Shutdown(shutdownCtx)
		})
	}

	actors.add(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("METRICS_ADDR %s: serving /metrics, /healthz and /readyz: %w", cfg.MetricsAddr, err)
		}
		return nil
	}, func(error) {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	})

	err = actors.run()
	// The worker has stopped: flush what it published and close the connection.
	if derr := nc.Drain(); derr != nil && !errors.Is(derr, context.Canceled) {
		log.Warn("NATS drain", "err", derr)
	}
	return err
}

// opsHandler serves /metrics, /healthz and /readyz.
func opsHandler(reg *prometheus.Registry, w *worker.Worker) http.Handler {
	mux := http.NewServeMux()
	// OpenMetrics when the scraper asks for it: exemplars (the trace ids on the latency
	// histograms) exist only there.
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, EnableOpenMetrics: true}))
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(rw, "ok")
	})
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := w.Ready(); err != nil {
			rw.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(rw, "not ready:", err)
			return
		}
		fmt.Fprintln(rw, "ready")
	})
	return mux
}

func newLogger(cfg worker.Config, out io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(out, opts))
	}
	return slog.New(slog.NewJSONHandler(out, opts))
}

// BuildInfo returns the version, revision and Go version of the running binary: version and
// revision as set at build time (-ldflags -X main.version=... -X main.revision=...), else what
// the Go toolchain recorded (module version, vcs.revision), else "dev" and "unknown".
func BuildInfo(version, revision string) (ver, rev, goVersion string) {
	ver, rev, goVersion = version, revision, "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if ver == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			ver = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && rev == "" {
				rev = s.Value
			}
		}
	}
	if ver == "" {
		ver = "dev"
	}
	if rev == "" {
		rev = "unknown"
	}
	return ver, rev, goVersion
}
