package worker

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/tracing"
	"github.com/roomworker/roomworker/plugnmeet"
)

// Metrics are the worker's Prometheus instruments. Labels take small fixed value sets only.
type Metrics struct {
	received         *prometheus.CounterVec   // mode
	results          *prometheus.CounterVec   // outcome, reason
	apiRequests      *prometheus.CounterVec   // route, class
	apiDuration      *prometheus.HistogramVec // route
	attempts         prometheus.Histogram
	processing       prometheus.Histogram
	requestAge       prometheus.Histogram
	inflight         prometheus.Gauge
	idempotencyHits  prometheus.Counter
	reconciled       prometheus.Counter
	bookingsPending  prometheus.Gauge
	fireLag          prometheus.Histogram
	warnings         prometheus.Counter
	systemicPause    prometheus.Gauge
	systemicErrors   prometheus.Counter
	endings          *prometheus.CounterVec // action: ack, nak, term
	consumerPending  prometheus.Gauge
	consumerAckPend  prometheus.Gauge
	consumerRedelivd prometheus.Gauge
	ready            prometheus.GaugeFunc
	readyFunc        atomic.Pointer[func() bool] // set by New: the worker's Ready() == nil
	pendingPublishes prometheus.GaugeFunc
	pendingFunc      atomic.Pointer[func() int] // set by New: publishes awaiting their PubAck
}

// Label values fixed in advance, so every series exists (at 0) from the first scrape and rate()
// and ratio queries work before the first event of a kind.
var (
	receivedModes = []string{string(events.ModeBinary), string(events.ModeStructured), "invalid"}
	resultLabels  = [][2]string{
		{"created", "created"}, {"created", "duplicate"}, {"ended", "ended"}, {"ended", "already_ended"},
		{"scheduled", "scheduled"}, {"cancelled", events.CancelCancelled}, {"cancelled", events.CancelCreated},
		{"cancelled", events.CancelNeverScheduled},
		{"failed", string(events.ReasonInvalidEvent)}, {"failed", string(events.ReasonInvalidRequest)},
		{"failed", string(events.ReasonRejected)}, {"failed", string(events.ReasonRetriesExhausted)},
	}
	apiClasses = []string{"ok", "transient", "permanent", "systemic"}
	apiRoutes  = []string{plugnmeet.RouteCreate, plugnmeet.RouteIsRoomActive, plugnmeet.RouteEndRoom}
)

// NewMetrics creates the instruments and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roomworker_requests_received_total",
			Help: "Requests received (first deliveries; redeliveries are not counted again), by CloudEvents content mode (binary, structured, invalid).",
		}, []string{"mode"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roomworker_results_total",
			Help: "Result events published, by outcome (created, ended, scheduled, cancelled, failed) and reason.",
		}, []string{"outcome", "reason"}),
		apiRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roomworker_plugnmeet_requests_total",
			Help: "Calls to the plugNmeet API, by route and outcome class (ok, transient, permanent, systemic).",
		}, []string{"route", "class"}),
		apiDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "roomworker_plugnmeet_request_duration_seconds",
			Help:    "Duration of calls to the plugNmeet API.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		attempts: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "roomworker_attempts",
			Help:    "Create attempts a request needed before its result.",
			Buckets: []float64{0, 1, 2, 3, 5, 8, 13, 21},
		}),
		processing: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "roomworker_processing_duration_seconds",
			Help:    "Time from receiving a delivery to acking, naking or terminating it.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		requestAge: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "roomworker_request_age_seconds",
			Help:    "Age of a request (stream timestamp) when its delivery starts being processed.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 900, 3600},
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roomworker_inflight",
			Help: "Deliveries being processed right now by this worker.",
		}),
		idempotencyHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roomworker_idempotency_hits_total",
			Help: "Requests answered, once their result was stored, with the live session an earlier request recorded, without a create call.",
		}),
		reconciled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roomworker_rooms_reconciled_total",
			Help: "Rooms recorded as live that plugNmeet no longer had and no webhook said had ended: each got a plugnmeet.session_ended event flagged reconciled.",
		}),
		bookingsPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roomworker_bookings_pending",
			Help: "Rooms with a pending booking: a room.create scheduled for CREATE_LEAD before its starttime (from the request stream, polled every 5s).",
		}),
		fireLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "roomworker_booking_fire_lag_seconds",
			Help:    "Time from a booking's creation time (starttime - CREATE_LEAD) to the start of its processing, for bookings fired by their schedule.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2, 5, 10, 30, 60},
		}),
		warnings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roomworker_applied_settings_warnings_total",
			Help: "Requested settings that plugNmeet did not apply as asked (one per warning in room.created).",
		}),
		systemicPause: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roomworker_systemic_pause",
			Help: "1 while consumption is paused because plugNmeet rejects the credentials (401/403 confirmed by a probe) or PLUGNMEET_URL does not lead to its API.",
		}),
		systemicErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roomworker_systemic_errors_total",
			Help: "Deliveries put back because plugNmeet rejected the credentials or was not at PLUGNMEET_URL (never counted as attempts).",
		}),
		endings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roomworker_deliveries_total",
			Help: "Deliveries by how they ended: ack, nak (redelivered later) or term.",
		}, []string{"action"}),
		consumerPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roomworker_consumer_pending",
			Help: "Requests in the stream not yet delivered to the consumer (from consumer info).",
		}),
		consumerAckPend: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roomworker_consumer_ack_pending",
			Help: "Requests delivered and not yet acked, across all replicas (from consumer info).",
		}),
		consumerRedelivd: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roomworker_consumer_redelivered",
			Help: "Requests currently redelivered at least once and not yet acked (from consumer info).",
		}),
	}
	m.ready = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "roomworker_ready",
		Help: "1 while this worker is ready to take work (what /readyz answers 200 for), else 0.",
	}, func() float64 {
		if f := m.readyFunc.Load(); f != nil && (*f)() {
			return 1
		}
		return 0
	})
	m.pendingPublishes = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "roomworker_publishes_pending",
		Help: "Publishes (results and records) waiting for their PubAck; each is forgotten after 10s without one.",
	}, func() float64 {
		if f := m.pendingFunc.Load(); f != nil {
			return float64((*f)())
		}
		return 0
	})
	reg.MustRegister(m.pendingPublishes, m.received, m.results, m.apiRequests, m.apiDuration, m.attempts, m.processing,
		m.requestAge, m.inflight, m.idempotencyHits, m.reconciled, m.bookingsPending, m.fireLag, m.warnings, m.systemicPause, m.systemicErrors,
		m.endings, m.consumerPending, m.consumerAckPend, m.consumerRedelivd, m.ready)
	for _, a := range []string{"ack", "nak", "term"} {
		m.endings.WithLabelValues(a)
	}
	for _, mode := range receivedModes {
		m.received.WithLabelValues(mode)
	}
	for _, l := range resultLabels {
		m.results.WithLabelValues(l[0], l[1])
	}
	for _, route := range apiRoutes {
		m.apiDuration.WithLabelValues(route)
		for _, class := range apiClasses {
			m.apiRequests.WithLabelValues(route, class)
		}
	}
	return m
}

// observeAPI records one plugNmeet call: its duration and its outcome class.
func (m *Metrics) observeAPI(ctx context.Context, route string, start time.Time, err error) {
	tracing.Observe(ctx, m.apiDuration.WithLabelValues(route), time.Since(start).Seconds())
	class := "ok"
	if err != nil {
		class = classLabel(err)
	}
	m.apiRequests.WithLabelValues(route, class).Inc()
}

// reportPendingPublishes makes roomworker_publishes_pending follow pending.
func (m *Metrics) reportPendingPublishes(pending func() int) { m.pendingFunc.Store(&pending) }

// reportReady makes roomworker_ready follow ready.
func (m *Metrics) reportReady(ready func() bool) { m.readyFunc.Store(&ready) }
