package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
)

// shutdownGrace bounds how long calls in flight may take to finish on exit.
const shutdownGrace = 5 * time.Second

// run parses flags and environment, serves until ctx ends, then shuts down
// gracefully. A clean shutdown returns nil.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plugnmeet-standin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: plugnmeet-standin [flags]\n\nThe API key and secret come from PLUGNMEET_API_KEY and PLUGNMEET_API_SECRET.\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprint(stderr, controlHelp)
	}
	var (
		addr    = fs.String("addr", "127.0.0.1:8080", "listen address")
		f       plugnmeettest.Faults
		opts    plugnmeettest.Options
		logJSON = fs.Bool("log-json", false, "log as JSON")
	)
	fs.DurationVar(&f.Latency, "latency", 0, "latency added to every call")
	fs.DurationVar(&f.LatencyJitter, "latency-jitter", 0, "random extra latency, up to this much")
	fs.Float64Var(&f.Error5xxRate, "error-rate", 0, "share of create calls answered 503 (0..1)")
	fs.Float64Var(&f.ResetRate, "reset-rate", 0, "share of create calls whose connection is reset (0..1)")
	fs.Float64Var(&f.TimeoutRate, "timeout-rate", 0, "share of create calls held until the client gives up (0..1)")
	fs.Float64Var(&f.LockTimeoutRate, "lock-timeout-rate", 0, "share of create calls answered with the lock-timeout error (0..1)")
	fs.Float64Var(&f.LostAnswerRate, "lost-answer-rate", 0, "share of create calls that create the room and then drop the connection (0..1)")
	fs.BoolVar(&f.Unauthorized, "unauthorized", false, "answer every call 401")
	fs.StringVar(&f.ForbidBodyContaining, "forbid-body-containing", "", "answer 403 with an HTML page, as a web application firewall would, to create calls whose body contains this string")
	fs.BoolVar(&f.NotPlugNmeet, "not-plugnmeet", false, "answer every /auth/ call 200 with an HTML page, as a web app's fallback route would")
	fs.Int64Var(&opts.Seed, "seed", 1, "seed of the fault random source")
	fs.DurationVar(&opts.LockWait, "lock-wait", plugnmeettest.DefaultLockWait, "how long a call waits for a room's lock")
	fs.DurationVar(&opts.EndCleanup, "end-cleanup", 0, "how long endRoom keeps the room locked after answering")
	fs.StringVar(&opts.WebhookURL, "webhook-url", "", "server-wide webhook URL (webhook_conf.url); empty sends none, except to rooms created with a webhook_url")
	fs.DurationVar(&opts.DepartureTimeout, "departure-timeout", plugnmeettest.DefaultDepartureTimeout, "how long a room lives on after its last participant left (then room_finished, and session_ended 1/20 of it later)")
	fs.DurationVar(&opts.EmptyTimeoutCheck, "empty-timeout-check", 0, "how often rooms nobody joined are ended once their empty_timeout passed (the real server: 5m); 0: never")
	fs.DurationVar(&opts.WebhookRetryWait, "webhook-retry-wait", plugnmeettest.DefaultWebhookRetryWait, "wait before a failed webhook's second attempt; the third waits twice as long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	opts.APIKey, opts.APISecret = getenv("PLUGNMEET_API_KEY"), getenv("PLUGNMEET_API_SECRET")
	if opts.APIKey == "" {
		return errors.New("PLUGNMEET_API_KEY is not set")
	}
	if opts.APISecret == "" {
		return errors.New("PLUGNMEET_API_SECRET is not set")
	}
	if err := f.Validate(); err != nil {
		return err
	}

	var handler slog.Handler = slog.NewTextHandler(stderr, nil)
	if *logJSON {
		handler = slog.NewJSONHandler(stderr, nil)
	}
	log := slog.New(handler)

	standIn := plugnmeettest.NewHandler(opts)
	defer standIn.Close() // stops webhook deliveries
	standIn.SetFaults(f)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("-addr %s: %w", *addr, err)
	}
	srv := &http.Server{
		Handler:           newMux(standIn, log),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintln(stdout, "plugnmeet-standin listening on", url)
	log.Info("serving", "url", url, "api_key", opts.APIKey, "faults", f)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close() // held calls (timeout faults) are cut after the grace period
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// controlHelp documents the control endpoints in -help.
const controlHelp = `
Control endpoints (besides the plugNmeet API):
  GET  /_standin/stats                              counters, webhook deliveries included
  GET  /_standin/faults                             faults in force
  PUT  /_standin/faults                             replace the faults (JSON, e.g. {"unauthorized":true,"latency":"200ms"})
  POST /_standin/end-room                           end a room as if it closed by itself ({"room_id":"..."})
  POST /_standin/rooms/{room_id}/join?user=alice    a participant joins (room_started on the first join,
                                                    participant_joined, track_published)
  POST /_standin/rooms/{room_id}/leave?user=alice   a participant leaves (track_unpublished, participant_left;
                                                    the last one out starts the departure timeout)

Webhooks go to -webhook-url and to each room's metadata.webhook_url, signed with the API secret
(HS256 JWT in Authorization and Hash-Token), one queue per room, 3 attempts on 5xx/429/connection errors.
`

// newMux serves the admin API under /_standin/ and the stand-in elsewhere.
//
//	GET /_standin/stats            counters (plugnmeettest.Stats)
//	GET /_standin/faults           faults in force
//	PUT /_standin/faults           replace the faults (JSON, e.g. {"unauthorized":true,"latency":"200ms"},
//	                               {"forbid_body_containing":"<script>"}, {"not_plugnmeet":true})
//	POST /_standin/end-room        end a room as if its last participant left ({"room_id":"..."})
//	POST /_standin/rooms/{room_id}/join?user=U   participant U joins
//	POST /_standin/rooms/{room_id}/leave?user=U  participant U leaves
func newMux(s *plugnmeettest.Server, log *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/", s)
	mux.HandleFunc("GET /_standin/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET /_standin/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("PUT /_standin/faults", func(w http.ResponseWriter, r *http.Request) {
		var f plugnmeettest.Faults
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if err := f.Validate(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		s.SetFaults(f)
		log.Info("faults changed", "faults", f)
		writeJSON(w, http.StatusOK, f)
	})
	mux.HandleFunc("POST /_standin/end-room", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			RoomID string `json:"room_id"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil || req.RoomID == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want {\"room_id\":\"...\"}"})
			return
		}
		_, active := s.ActiveRoom(req.RoomID)
		s.EndRoom(req.RoomID)
		writeJSON(w, http.StatusOK, map[string]bool{"ended": active})
	})
	participant := func(act func(roomID, userID string) error, verb string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			roomID, user := r.PathValue("room_id"), r.URL.Query().Get("user")
			if user == "" {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want ?user=<user_id>"})
				return
			}
			if err := act(roomID, user); err != nil {
				status := http.StatusConflict
				if errors.Is(err, plugnmeettest.ErrRoomNotActive) {
					status = http.StatusNotFound
				}
				writeJSON(w, status, map[string]string{"error": err.Error()})
				return
			}
			log.Info("participant "+verb, "room_id", roomID, "user", user)
			writeJSON(w, http.StatusOK, map[string]any{"room_id": roomID, "participants": s.Participants(roomID)})
		}
	}
	mux.HandleFunc("POST /_standin/rooms/{room_id}/join", participant(s.Join, "joined"))
	mux.HandleFunc("POST /_standin/rooms/{room_id}/leave", participant(s.Leave, "left"))
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone
}
