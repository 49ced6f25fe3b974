package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// baselines are the pipelines roomworker can be compared with (-baseline), by name.
var baselines = map[string]struct{ role, what string }{
	"bare": {"-role=bare", "bare pipeline: Consume with prefetch, signed POST with net/http (status only), " +
		"publish the answer body with Nats-Msg-Id and await the PubAck, ack"},
	"client-pipeline": {"-role=client-pipeline", "pipeline with roomworker's client: Fetch per free slots, " +
		"POST through roomworker's plugnmeet client (answer decoded), publish with PubAck, ack"},
}

// spread is one metric over the rotations: median, min, max, and every value in rotation order.
type spread struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Runs   []float64 `json:"runs"`
}

// spreadOf summarises values; the median of an even count is the mean of the middle two.
func spreadOf(values []float64) spread {
	if len(values) == 0 {
		return spread{}
	}
	s := slices.Clone(values)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	runs := make([]float64, len(values))
	for i, v := range values {
		runs[i] = round3(v)
	}
	return spread{Median: round3(m), Min: round3(s[0]), Max: round3(s[len(s)-1]), Runs: runs}
}

// sample is what one pipeline gave in one rotation.
type sample struct {
	rps            float64 // drain throughput, messages/s
	cpuUsPerMsg    float64 // worker utime+stime during the drain, µs per message
	rigCPUUsPerMsg float64 // the rig's (this process: nats-server, stand-in, publisher) during the drain
	p50, p99       float64 // paced publish-to-result latency, ms
	peakRSSMiB     float64
	natsMsgsPerReq float64
	createCalls    float64
}

// metrics is one pipeline's samples summarised over the rotations.
type metrics struct {
	RPS            spread `json:"msgs_per_s"`
	CPUUsPerMsg    spread `json:"cpu_us_per_msg"`
	RigCPUUsPerMsg spread `json:"rig_cpu_us_per_msg"`
	P50Ms          spread `json:"p50_ms"`
	P99Ms          spread `json:"p99_ms"`
	PeakRSSMiB     spread `json:"peak_rss_mib"`
	NATSMsgsPerReq spread `json:"nats_msgs_in_per_req"`
	CreateCalls    spread `json:"create_calls_per_req"`
}

func metricsOf(samples []sample) metrics {
	pick := func(f func(sample) float64) spread {
		v := make([]float64, len(samples))
		for i, s := range samples {
			v[i] = f(s)
		}
		return spreadOf(v)
	}
	return metrics{
		RPS:            pick(func(s sample) float64 { return s.rps }),
		CPUUsPerMsg:    pick(func(s sample) float64 { return s.cpuUsPerMsg }),
		RigCPUUsPerMsg: pick(func(s sample) float64 { return s.rigCPUUsPerMsg }),
		P50Ms:          pick(func(s sample) float64 { return s.p50 }),
		P99Ms:          pick(func(s sample) float64 { return s.p99 }),
		PeakRSSMiB:     pick(func(s sample) float64 { return s.peakRSSMiB }),
		NATSMsgsPerReq: pick(func(s sample) float64 { return s.natsMsgsPerReq }),
		CreateCalls:    pick(func(s sample) float64 { return s.createCalls }),
	}
}

// ratios are roomworker / baseline, computed within each rotation and then summarised.
type ratios struct {
	RPS         spread `json:"msgs_per_s"`
	CPUUsPerMsg spread `json:"cpu_us_per_msg"`
	P50Ms       spread `json:"p50_ms"`
	P99Ms       spread `json:"p99_ms"`
}

// ratiosOf pairs rw[i] with base[i] (the same rotation); a pair whose baseline value is 0 is
// left out of that metric.
func ratiosOf(rw, base []sample) ratios {
	pick := func(f func(sample) float64) spread {
		var v []float64
		for i := range min(len(rw), len(base)) {
			if b := f(base[i]); b != 0 {
				v = append(v, f(rw[i])/b)
			}
		}
		return spreadOf(v)
	}
	return ratios{
		RPS:         pick(func(s sample) float64 { return s.rps }),
		CPUUsPerMsg: pick(func(s sample) float64 { return s.cpuUsPerMsg }),
		P50Ms:       pick(func(s sample) float64 { return s.p50 }),
		P99Ms:       pick(func(s sample) float64 { return s.p99 }),
	}
}

// rotationOrder is who runs first in rotation i: they alternate, so neither side always gets the
// machine first (a soak, a cache, a CPU frequency step).
func rotationOrder(i int, withBaseline bool) []string {
	switch {
	case !withBaseline:
		return []string{"roomworker"}
	case i%2 == 0:
		return []string{"roomworker", "baseline"}
	default:
		return []string{"baseline", "roomworker"}
	}
}

// parseProcStat returns utime+stime, in clock ticks, from the text of /proc/<pid>/stat. The
// command name (field 2) is in parentheses and may hold spaces and parentheses itself, so the
// fields are counted from the last ')'.
func parseProcStat(stat string) (ticks int64, err error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("/proc stat: no command name")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the command name, want at least 13", len(f))
	}
	ut, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc stat utime: %w", err)
	}
	st, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc stat stime: %w", err)
	}
	return ut + st, nil
}

// parseVmHWM returns the peak resident set size in bytes from the text of /proc/<pid>/status.
func parseVmHWM(status string) (float64, error) {
	for line := range strings.SplitSeq(status, "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				return 0, fmt.Errorf("/proc status VmHWM: %w", err)
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("/proc status: no VmHWM")
}
