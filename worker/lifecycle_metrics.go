package worker

import (
	"github.com/prometheus/client_golang/prometheus"
)

// LifecycleMetrics are the webhook receiver's Prometheus instruments. Labels take small fixed
// value sets only: a delivery's event name is counted under its own label only when it is one of
// lifecycleEvents, else under "other".
type LifecycleMetrics struct {
	webhooks   *prometheus.CounterVec // verdict
	unverified *prometheus.CounterVec // reason
	published  *prometheus.CounterVec // event
}

// Webhook verdicts: how the receiver answered a delivery.
const (
	verdictPublished     = "published"      // stored in the lifecycle stream (or already there): 204
	verdictUnverified    = "unverified"     // signature, issuer, time or body hash refused: 401
	verdictMalformed     = "malformed"      // verified, but not a usable delivery: 400
	verdictTooLarge      = "too_large"      // body over WEBHOOK_MAX_BYTES: 413
	verdictPublishFailed = "publish_failed" // not stored within WEBHOOK_PUBLISH_WAIT: 503
)

var (
	webhookVerdicts = []string{verdictPublished, verdictUnverified, verdictMalformed, verdictTooLarge, verdictPublishFailed}
	// lifecycleEvents are the event names plugNmeet v2.4.0 was seen sending (see
	// PLUGNMEET_API.md); any other well-formed name is published too, and counted as "other".
	lifecycleEvents = []string{
		"room_created", "room_started", "participant_joined", "track_published", "track_unpublished",
		"participant_left", "room_finished", "session_ended", "artifact_created", "analytics_proceeded",
	}
)

// NewLifecycleMetrics creates the receiver's instruments and registers them with reg.
func NewLifecycleMetrics(reg prometheus.Registerer) *LifecycleMetrics {
	m := &LifecycleMetrics{
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roomworker_webhooks_received_total",
			Help: "plugNmeet webhook deliveries received on WEBHOOK_ADDR, by verdict: published (stored, or already stored: 204), " +
				"unverified (401), malformed (400), too_large (413), publish_failed (not stored within WEBHOOK_PUBLISH_WAIT: 503).",
		}, []string{"verdict"}),
		unverified: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roomworker_webhooks_unverified_total",
			Help: "plugNmeet webhook deliveries refused with 401, by why the signature was not accepted.",
		}, []string{"reason"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roomworker_lifecycle_events_published_total",
			Help: "Lifecycle CloudEvents stored in LIFECYCLE_STREAM (copies and retries of a delivery already stored are not counted), " +
				"by plugNmeet event name (the names plugNmeet v2.4.0 sends, or other).",
		}, []string{"event"}),
	}
	reg.MustRegister(m.webhooks, m.unverified, m.published)
	for _, v := range webhookVerdicts {
		m.webhooks.WithLabelValues(v)
	}
	for _, r := range unverifiedReasons {
		m.unverified.WithLabelValues(r)
	}
	for _, e := range lifecycleEvents {
		m.published.WithLabelValues(e)
	}
	m.published.WithLabelValues("other")
	return m
}

func (m *LifecycleMetrics) verdict(v string) { m.webhooks.WithLabelValues(v).Inc() }

func (m *LifecycleMetrics) refused(reason string) {
	m.webhooks.WithLabelValues(verdictUnverified).Inc()
	m.unverified.WithLabelValues(reason).Inc()
}

// stored counts one lifecycle event stored in the stream.
func (m *LifecycleMetrics) stored(event string) { m.published.WithLabelValues(eventLabel(event)).Inc() }

// eventLabel is the metric label of an event name: itself when known, else "other".
func eventLabel(event string) string {
	for _, e := range lifecycleEvents {
		if e == event {
			return e
		}
	}
	return "other"
}
