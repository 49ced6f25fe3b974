package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The workers' fire-lag histogram is read from /metrics and summed over workers; its quantiles
// are interpolated within the buckets as PromQL's histogram_quantile does.
func TestHistogramScrapeAndQuantile(t *testing.T) {
	const exposition = `# HELP roomworker_booking_fire_lag_seconds Time from a booking's creation time ...
# TYPE roomworker_booking_fire_lag_seconds histogram
roomworker_booking_fire_lag_seconds_bucket{le="0.1"} 10
roomworker_booking_fire_lag_seconds_bucket{le="0.5"} 50
roomworker_booking_fire_lag_seconds_bucket{le="1"} 100
roomworker_booking_fire_lag_seconds_bucket{le="+Inf"} 100
roomworker_booking_fire_lag_seconds_sum 40
roomworker_booking_fire_lag_seconds_count 100
roomworker_bookings_pending 3
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, exposition) }))
	defer srv.Close()
	var h histogram
	for range 2 { // two workers
		if err := h.scrape(context.Background(), srv.URL, "roomworker_booking_fire_lag_seconds"); err != nil {
			t.Fatal(err)
		}
	}
	if h.count != 200 || h.sum != 80 || h.buckets[math.Inf(1)] != 200 {
		t.Fatalf("count %v sum %v buckets %v", h.count, h.sum, h.buckets)
	}
	for _, c := range []struct{ q, want float64 }{{0.05, 0.05}, {0.5, 0.5}, {0.75, 0.75}, {0.99, 0.99}} {
		if got := h.quantile(c.q); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
}

func TestBookingsFlags(t *testing.T) {
	for _, args := range [][]string{{"-bookings", "-1"}, {"-bookings", "10", "-create-lead", "-1s"}} {
		err := run(context.Background(), args, func(string) (string, bool) { return "", false }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "must not be negative") {
			t.Errorf("%q: error %v", args, err)
		}
	}
}
