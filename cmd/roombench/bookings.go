package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/waitfor"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
)

// The bookings benchmark: -bookings N books N rooms whose creation times (starttime -
// CREATE_LEAD) all fall on the same instant, a whole second a few seconds ahead, against a real
// nats-server, the plugNmeet stand-in and roomworker processes, and measures each booking's fire
// lag: how long after its creation time its first create call reached the stand-in.

// bookingOptions are the -bookings mode's settings.
type bookingOptions struct {
	n           int
	replicas    int
	concurrency int
	lead        time.Duration
	workerBin   string
}

// bookingReport is the -bookings mode's JSON line.
type bookingReport struct {
	Bookings    int     `json:"bookings"`
	Replicas    int     `json:"replicas"`
	Concurrency int     `json:"concurrency"`
	CreateLeadS float64 `json:"create_lead_s"`
	// BookedInS is how long storing every booking took (publish to the last room.scheduled).
	BookedInS float64 `json:"booked_in_s"`
	// Fire lag at the stand-in: first create call for the room minus its create_at.
	FireLagP50Ms float64 `json:"fire_lag_p50_ms"`
	FireLagP99Ms float64 `json:"fire_lag_p99_ms"`
	FireLagMaxMs float64 `json:"fire_lag_max_ms"`
	FireLagMinMs float64 `json:"fire_lag_min_ms"`
	// Created lag: room.created stored (seen by a subscriber) minus create_at.
	CreatedLagP50Ms float64 `json:"created_lag_p50_ms"`
	CreatedLagP99Ms float64 `json:"created_lag_p99_ms"`
	CreatedLagMaxMs float64 `json:"created_lag_max_ms"`
	// The workers' roomworker_booking_fire_lag_seconds histogram (create_at to the start of
	// processing), all workers summed: samples, mean, and p50/p99 interpolated in its buckets.
	MetricSamples     int     `json:"metric_samples"`
	MetricMeanMs      float64 `json:"metric_fire_lag_mean_ms"`
	MetricP50Ms       float64 `json:"metric_fire_lag_p50_ms"`
	MetricP99Ms       float64 `json:"metric_fire_lag_p99_ms"`
	CreateCallsPerReq float64 `json:"create_calls_per_booking"`
}

func runBookings(ctx context.Context, o bookingOptions, tmp string, stdout, log io.Writer) error {
	fmt.Fprintf(log, "booking %d rooms due in the same second: %d roomworker(s), concurrency %d, CREATE_LEAD %s\n",
		o.n, o.replicas, o.concurrency, o.lead)
	dir, err := os.MkdirTemp(tmp, "bookings-")
	if err != nil {
		return err
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		return err
	}
	ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if !ns.ReadyForConnections(10 * time.Second) {
		return errors.New("nats-server did not start")
	}
	standin := plugnmeettest.NewServer(plugnmeettest.Options{APIKey: benchKey, APISecret: benchSecret})
	defer standin.Close()
	creates := plugnmeettest.NewCreateClock(standin)
	front := httptest.NewServer(creates)
	defer front.Close()

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}

	// Note when each room's room.scheduled and room.created arrive.
	var mu sync.Mutex
	scheduled, created := map[string]time.Time{}, map[string]time.Time{}
	var failed []string
	sub, err := nc.Subscribe("rooms.*", func(m *nats.Msg) {
		now := time.Now()
		room := m.Header.Get("ce-subject")
		mu.Lock()
		defer mu.Unlock()
		switch m.Subject {
		case "rooms.scheduled":
			scheduled[room] = now
		case "rooms.created":
			created[room] = now
		case "rooms.failed":
			failed = append(failed, room+": "+string(m.Data))
		}
	})
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	count := func() (int, int, int) {
		mu.Lock()
		defer mu.Unlock()
		return len(scheduled), len(created), len(failed)
	}

	var metrics []string
	var cmds []*exec.Cmd
	defer func() {
		for _, cmd := range cmds {
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
		for _, cmd := range cmds {
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		}
	}()
	for i := range o.replicas {
		addr, err := loopbackAddr()
		if err != nil {
			return err
		}
		cmd := exec.Command(o.workerBin)
		cmd.Env = append(os.Environ(),
			"NATS_URL="+ns.ClientURL(), "PLUGNMEET_URL="+front.URL, "PLUGNMEET_API_KEY="+benchKey,
			"PLUGNMEET_API_SECRET="+benchSecret, "CONCURRENCY="+strconv.Itoa(o.concurrency),
			"MAX_ACK_PENDING="+strconv.Itoa(max(1024, o.concurrency*o.replicas)), "METRICS_ADDR="+addr,
			"LOG_LEVEL=warn", "REQUEST_TIMEOUT=10s", "CREATE_LEAD="+o.lead.String())
		cmd.Stderr = &prefixWriter{prefix: fmt.Sprintf("[roomworker %d] ", i), w: log}
		if err := cmd.Start(); err != nil {
			return err
		}
		cmds = append(cmds, cmd)
		metrics = append(metrics, "http://"+addr)
	}
	for _, base := range metrics {
		if err := waitfor.OK(ctx, base+"/readyz", 30*time.Second); err != nil {
			return err
		}
	}

	// Every creation time is the same whole second, far enough ahead for the workers to store
	// all the bookings first (they create at once what is due within a second).
	prepare := 3*time.Second + time.Duration(o.n)*2*time.Millisecond
	createAt := time.Now().Add(prepare).Truncate(time.Second).Add(time.Second)
	start := createAt.Add(o.lead)
	body := seedBody()
	published := time.Now()
	for i := range o.n {
		msg, err := bookingMsg(body, fmt.Sprintf("booking-%06d", i), start)
		if err != nil {
			return err
		}
		if _, err := js.PublishMsgAsync(msg); err != nil {
			return err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		return errors.New("bookings not acknowledged within 30s")
	}
	for {
		s, _, f := count()
		if s >= o.n {
			break
		}
		if f > 0 || time.Now().After(createAt) || ctx.Err() != nil {
			return fmt.Errorf("%d of %d bookings stored (%d failed) by their creation time %s: give the workers more time or fewer bookings",
				s, o.n, f, createAt.Format(time.RFC3339))
		}
		time.Sleep(5 * time.Millisecond)
	}
	rep := bookingReport{Bookings: o.n, Replicas: o.replicas, Concurrency: o.concurrency, CreateLeadS: o.lead.Seconds()}
	mu.Lock()
	for _, at := range scheduled {
		rep.BookedInS = max(rep.BookedInS, round3(at.Sub(published).Seconds()))
	}
	mu.Unlock()
	fmt.Fprintf(log, "%d bookings stored in %.3fs; all due at %s\n", o.n, rep.BookedInS, createAt.Format(time.RFC3339))

	deadline := createAt.Add(2 * time.Minute)
	for {
		_, c, f := count()
		if f > 0 {
			mu.Lock()
			defer mu.Unlock()
			return fmt.Errorf("%d bookings failed, e.g. %s", len(failed), failed[0])
		}
		if c >= o.n {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%d of %d bookings created within %s of their creation time", c, o.n, deadline.Sub(createAt))
		}
		time.Sleep(5 * time.Millisecond)
	}

	var fire, made []float64
	for i := range o.n {
		if at, ok := creates.First(fmt.Sprintf("booking-%06d", i)); ok {
			fire = append(fire, float64(at.Sub(createAt))/1e6)
		}
	}
	mu.Lock()
	for _, at := range created {
		made = append(made, float64(at.Sub(createAt))/1e6)
	}
	mu.Unlock()
	slices.Sort(fire)
	slices.Sort(made)
	if len(fire) > 0 {
		rep.FireLagP50Ms, rep.FireLagP99Ms = round3(pct(fire, .5)), round3(pct(fire, .99))
		rep.FireLagMaxMs, rep.FireLagMinMs = round3(fire[len(fire)-1]), round3(fire[0])
	}
	if len(made) > 0 {
		rep.CreatedLagP50Ms, rep.CreatedLagP99Ms, rep.CreatedLagMaxMs = round3(pct(made, .5)), round3(pct(made, .99)), round3(made[len(made)-1])
	}
	rep.CreateCallsPerReq = round3(float64(standin.Stats().CreateCalls) / float64(o.n))

	var h histogram
	for _, base := range metrics {
		if err := h.scrape(ctx, base+"/metrics", "roomworker_booking_fire_lag_seconds"); err != nil {
			return err
		}
	}
	if h.count > 0 {
		rep.MetricSamples = int(h.count)
		rep.MetricMeanMs = round3(h.sum / h.count * 1000)
		rep.MetricP50Ms, rep.MetricP99Ms = round3(h.quantile(.5)*1000), round3(h.quantile(.99)*1000)
	}
	line, _ := json.Marshal(rep)
	fmt.Fprintln(stdout, string(line))
	return nil
}

// bookingMsg is a room.create for roomID with the starttime extension, in binary mode.
func bookingMsg(body map[string]any, roomID string, start time.Time) (*nats.Msg, error) {
	body["room_id"] = roomID
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	ev, err := events.NewCreateRoomRequest(data, events.WithSource("roombench"), events.WithID(roomID), events.WithStartTime(start))
	if err != nil {
		return nil, err
	}
	h, b, err := events.EncodeBinary(ev)
	if err != nil {
		return nil, err
	}
	return &nats.Msg{Subject: "rooms.create", Header: h, Data: b}, nil
}

// loopbackAddr is a free loopback address for a worker's METRICS_ADDR.
func loopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// histogram is a Prometheus histogram read from the text exposition format, summed over scrapes.
type histogram struct {
	buckets    map[float64]float64 // upper bound -> cumulative count
	sum, count float64
}

// scrape adds the histogram name from the exposition at url.
func (h *histogram) scrape(ctx context.Context, url, name string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if h.buckets == nil {
		h.buckets = map[float64]float64{}
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		key, value, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(key, name) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch {
		case key == name+"_sum":
			h.sum += v
		case key == name+"_count":
			h.count += v
		case strings.HasPrefix(key, name+`_bucket{le="`):
			le, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(key, name+`_bucket{le="`), `"}`), 64)
			if err == nil {
				h.buckets[le] += v
			}
		}
	}
	return sc.Err()
}

// quantile interpolates the q-quantile within the buckets, as PromQL's histogram_quantile does.
func (h *histogram) quantile(q float64) float64 {
	bounds := make([]float64, 0, len(h.buckets))
	for le := range h.buckets {
		bounds = append(bounds, le)
	}
	slices.Sort(bounds)
	rank := q * h.count
	lower, below := 0.0, 0.0
	for _, le := range bounds {
		c := h.buckets[le]
		if c >= rank {
			if math.IsInf(le, 1) {
				return lower
			}
			if c == below {
				return le
			}
			return lower + (le-lower)*(rank-below)/(c-below)
		}
		lower, below = le, c
	}
	return lower
}
