package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/worker"
)

// Set at build time with -ldflags "-X main.version=... -X main.revision=...".
var (
	version  = ""
	revision = ""
)

type lookupFunc func(string) (string, bool)

// Seams for the lifecycle tests, which replace them one test at a time (never in parallel): where
// the HTTP server's listener comes from, and how the worker runs.
var (
	listen    = net.Listen
	runWorker = (*worker.Worker).Run
)

// run is the whole program: flags, configuration, connections, the worker and its HTTP server.
// It returns once everything has stopped: nil when ctx is cancelled (SIGTERM) or the demo
// succeeded; an error on a start-up failure, or when the worker, the HTTP server or the demo
// ended with one (that first error; the rest of the process is stopped first).
func run(ctx context.Context, args []string, lookup lookupFunc, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("roomworker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dev := fs.Bool("dev", false, "development mode: run an embedded NATS JetStream server and the plugNmeet stand-in in this process")
	demo := fs.String("demo", "", "with -dev: publish every request file in `DIR`, print the results, and exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: roomworker [-dev [-demo DIR]]\n\n"+
			"Consumes room.create CloudEvents from NATS JetStream and creates the rooms in plugNmeet.\n"+
			"Configuration comes from the environment (NATS_URL, PLUGNMEET_URL, PLUGNMEET_API_KEY,\n"+
			"PLUGNMEET_API_SECRET, ...; see README.md).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *showVersion {
		v, r, g := buildInfo()
		fmt.Fprintf(stdout, "roomworker %s (revision %s, %s)\n", v, r, g)
		return nil
	}
	if *demo != "" && !*dev {
		return errors.New("-demo needs -dev")
	}

	var devEnv *devEnvironment
	if *dev {
		var err error
		devEnv, err = startDev(lookup, *demo != "", stdout)
		if err != nil {
			return err
		}
		defer devEnv.Close()
		lookup = devEnv.lookup
	}

	cfg, err := worker.LoadConfig(ctx, lookup)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	v, r, g := buildInfo()
	buildInfoGauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "roomworker_build_info",
		Help: "Build information; the value is always 1.",
	}, []string{"version", "revision", "goversion"})
	buildInfoGauge.WithLabelValues(v, r, g).Set(1)
	reg.MustRegister(buildInfoGauge)
	metrics := worker.NewMetrics(reg)
	lifecycleMetrics := worker.NewLifecycleMetrics(reg)

	var httpClient *http.Client // nil: plugnmeet's default
	if cfg.PlugNmeet.CA != "" {
		if httpClient, err = plugnmeet.HTTPClientWithCA(cfg.PlugNmeet.CA); err != nil {
			return fmt.Errorf("PLUGNMEET_CA: %w", err)
		}
	}
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

	w, err := worker.New(cfg, worker.Deps{NC: nc, API: api, Logger: log, Metrics: metrics})
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
		"metrics", ln.Addr().String(), "concurrency", cfg.Concurrency, "max_attempts", cfg.MaxAttempts)
	if devEnv != nil {
		devEnv.announce(stdout, ln.Addr().String())
	}

	// The actors stop in the order they are added: the signal wait, the demo, the worker (which
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

	if *demo != "" {
		demoCtx, stopDemo := context.WithCancel(context.WithoutCancel(ctx))
		actors.add(func() error {
			return runDemo(demoCtx, nc, cfg, w, *demo, stdout)
		}, func(error) { stopDemo() })
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
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
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

func buildInfo() (ver, rev, goVersion string) {
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
