package main

import (
	"context"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestSpreadOf(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []float64
		want spread
	}{
		{"none", nil, spread{}},
		{"one", []float64{5}, spread{Median: 5, Min: 5, Max: 5, Runs: []float64{5}}},
		{"odd count, runs kept in rotation order", []float64{3, 1, 2}, spread{Median: 2, Min: 1, Max: 3, Runs: []float64{3, 1, 2}}},
		{"even count: mean of the middle two", []float64{4, 1, 3, 2}, spread{Median: 2.5, Min: 1, Max: 4, Runs: []float64{4, 1, 3, 2}}},
		{"rounded to 3 decimals", []float64{0.12345}, spread{Median: 0.123, Min: 0.123, Max: 0.123, Runs: []float64{0.123}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := spreadOf(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("spreadOf(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

// Ratios pair roomworker and the baseline of the same rotation, not medians with medians.
func TestRatiosOfPairsRotations(t *testing.T) {
	rw := []sample{{rps: 1000, cpuUsPerMsg: 900, p50: 4, p99: 20}, {rps: 500, cpuUsPerMsg: 1000, p50: 6, p99: 30},
		{rps: 900, cpuUsPerMsg: 950, p50: 5, p99: 25}}
	base := []sample{{rps: 2000, cpuUsPerMsg: 300, p50: 2, p99: 10}, {rps: 2000, cpuUsPerMsg: 250, p50: 2, p99: 10},
		{rps: 1000, cpuUsPerMsg: 0, p50: 1, p99: 5}}
	r := ratiosOf(rw, base)
	if want := (spread{Median: 0.5, Min: 0.25, Max: 0.9, Runs: []float64{0.5, 0.25, 0.9}}); !reflect.DeepEqual(r.RPS, want) {
		t.Errorf("msgs/s ratio %+v, want %+v", r.RPS, want)
	}
	// The third rotation's baseline CPU is 0 (unmeasured): left out, not an infinite ratio.
	if want := (spread{Median: 3.5, Min: 3, Max: 4, Runs: []float64{3, 4}}); !reflect.DeepEqual(r.CPUUsPerMsg, want) {
		t.Errorf("CPU ratio %+v, want %+v", r.CPUUsPerMsg, want)
	}
	if r.P50Ms.Median != 3 || r.P99Ms.Median != 3 || r.P99Ms.Max != 5 {
		t.Errorf("latency ratios p50 %+v p99 %+v", r.P50Ms, r.P99Ms)
	}
	if got := ratiosOf(rw, nil); got.RPS.Runs != nil {
		t.Errorf("without a baseline: %+v", got)
	}
}

func TestMetricsOf(t *testing.T) {
	m := metricsOf([]sample{{rps: 10, cpuUsPerMsg: 100, p50: 1, p99: 9, peakRSSMiB: 30}, {rps: 30, cpuUsPerMsg: 300, p50: 3, p99: 7, peakRSSMiB: 31},
		{rps: 20, cpuUsPerMsg: 200, p50: 2, p99: 8, peakRSSMiB: 32}})
	if m.RPS.Median != 20 || m.CPUUsPerMsg.Median != 200 || m.P50Ms.Median != 2 || m.P99Ms.Median != 8 ||
		m.P99Ms.Min != 7 || m.PeakRSSMiB.Max != 32 {
		t.Errorf("%+v", m)
	}
}

func TestRotationOrderAlternates(t *testing.T) {
	for i, want := range [][]string{{"roomworker", "baseline"}, {"baseline", "roomworker"}, {"roomworker", "baseline"}} {
		if got := rotationOrder(i, true); !reflect.DeepEqual(got, want) {
			t.Errorf("rotation %d: %v, want %v", i, got, want)
		}
	}
	if got := rotationOrder(1, false); !reflect.DeepEqual(got, []string{"roomworker"}) {
		t.Errorf("without a baseline: %v", got)
	}
}

func TestParseProcStat(t *testing.T) {
	// A real line's shape; the command name holds a space and a ')'.
	const stat = "4242 (room worker) x) S 1 4242 4242 0 -1 4194560 2466 0 0 0 731 269 0 0 20 0 9 0 4873 1281806336 8966 " +
		"18446744073709551615 1 1 0 0 0 0 0 0 2143420159 0 0 0 17 1 0 0 0 0 0\n"
	for _, tt := range []struct {
		name, in string
		want     int64
		err      string
	}{
		{"utime+stime", stat, 731 + 269, ""},
		{"no command name", "4242 S 1", 0, "no command name"},
		{"truncated", "4242 (w) S 1 2 3", 0, "fields after the command name"},
		{"not a number", strings.Replace(stat, " 731 ", " x ", 1), 0, "utime"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestParseVmHWM(t *testing.T) {
	got, err := parseVmHWM("Name:\troomworker\nVmPeak:\t 1251768 kB\nVmHWM:\t   35864 kB\nVmRSS:\t   35000 kB\n")
	if err != nil || got != 35864*1024 {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := parseVmHWM("Name:\tx\n"); err == nil {
		t.Error("no VmHWM line: no error")
	}
}

func TestBaselineFlag(t *testing.T) {
	err := run(context.Background(), []string{"-baseline", "fast"}, func(string) (string, bool) { return "", false }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-baseline") {
		t.Errorf("unknown baseline: error %v", err)
	}
	for name, b := range baselines {
		if !strings.HasPrefix(b.role, "-role=") || b.what == "" {
			t.Errorf("baseline %s: role %q, description %q", name, b.role, b.what)
		}
	}
}
