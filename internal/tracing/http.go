package tracing

import (
	"context"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
)

// Transport returns base (http.DefaultTransport when nil) wrapped so that
// each request is a CLIENT span, named "{method} {path}" (e.g. "POST
// /auth/room/create": the plugNmeet API's routes are fixed), with
// http.request.method, url.full, server.address, server.port and
// http.response.status_code, and status Error for a transport error or a
// status of 400 and above. The W3C traceparent header is added to the
// request. Off, it returns base itself.
//
// What is not recorded: request and response headers (otelhttp records
// none, so API-KEY and HASH-SIGNATURE stay out), bodies, URL user info
// (otelhttp strips it) and the query string (stripped here before otelhttp
// sees the request, and put back for base).
//
// The span is a child of the span in the request's context: build requests
// with http.NewRequestWithContext(ctx, ...) where ctx holds the delivery
// span. It ends when the response body is read to EOF or closed (and at
// once on a transport error), so always close the body.
//
// otelhttp's HTTP client metrics go to a no-op MeterProvider: roomworker's
// metrics are its own Prometheus ones.
func (t *Tracing) Transport(base http.RoundTripper) http.RoundTripper {
	if !t.Enabled() {
		return base
	}
	if base == nil {
		base = http.DefaultTransport
	}
	inner := otelhttp.NewTransport(restoreQuery{base},
		otelhttp.WithTracerProvider(t.sdk),
		otelhttp.WithPropagators(propagator),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(spanName),
	)
	return stripQuery{inner}
}

func spanName(_ string, r *http.Request) string {
	if r.URL == nil || r.URL.Path == "" {
		return r.Method
	}
	return r.Method + " " + r.URL.Path
}

// queryKey carries a stripped query string from stripQuery to restoreQuery.
type queryKey struct{}

// stripQuery removes the query string (and fragment) from the request that
// otelhttp sees, so url.full never carries query parameters (signatures,
// tokens). Requests without either pass through as they are.
type stripQuery struct{ next http.RoundTripper }

type strippedURL struct {
	rawQuery, fragment, rawFragment string
	forceQuery                      bool
}

func (s stripQuery) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL == nil || (r.URL.RawQuery == "" && r.URL.Fragment == "" && !r.URL.ForceQuery) {
		return s.next.RoundTrip(r)
	}
	saved := strippedURL{r.URL.RawQuery, r.URL.Fragment, r.URL.RawFragment, r.URL.ForceQuery}
	r2 := r.Clone(context.WithValue(r.Context(), queryKey{}, saved)) // Clone copies URL
	r2.URL.RawQuery, r2.URL.ForceQuery, r2.URL.Fragment, r2.URL.RawFragment = "", false, "", ""
	return s.next.RoundTrip(r2)
}

// restoreQuery puts back what stripQuery removed, under otelhttp, before
// the request reaches the real transport.
type restoreQuery struct{ base http.RoundTripper }

func (s restoreQuery) RoundTrip(r *http.Request) (*http.Response, error) {
	saved, ok := r.Context().Value(queryKey{}).(strippedURL)
	if !ok {
		return s.base.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery, r2.URL.Fragment, r2.URL.RawFragment = saved.rawQuery, saved.fragment, saved.rawFragment
	r2.URL.ForceQuery = saved.forceQuery
	return s.base.RoundTrip(r2)
}
