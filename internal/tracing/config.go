package tracing

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Environment variables read by Setup itself. The OTLP exporter
// (otlptracehttp) reads the other OTEL_EXPORTER_OTLP_* variables (headers,
// timeout, compression, certificates, insecure), the batch span processor
// reads OTEL_BSP_*, the SDK reads the OTEL_*_LIMIT variables, and the
// resource reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
const (
	envSDKDisabled    = "OTEL_SDK_DISABLED"
	envTracesExporter = "OTEL_TRACES_EXPORTER"
	envEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envSampler        = "OTEL_TRACES_SAMPLER"
	envSamplerArg     = "OTEL_TRACES_SAMPLER_ARG"
)

// config is what Setup decided from the environment.
type config struct {
	enabled bool
	// why says why tracing is off (for logs), when it is.
	why     string
	sampler sdktrace.Sampler
	// samplerDesc names the sampler in operator terms, e.g.
	// "parentbased_traceidratio(0.25)".
	samplerDesc string
}

// getenv returns the trimmed value of an environment variable.
func getenv(name string) string { return strings.TrimSpace(os.Getenv(name)) }

// readConfig reads the OTEL_* variables. Tracing is on only when an OTLP
// endpoint is set and neither OTEL_SDK_DISABLED=true nor
// OTEL_TRACES_EXPORTER=none; the other settings are checked only then, so
// that a setting meant for another service's SDK never stops roomworker
// from starting with tracing off. forceOn (an exporter given in code) turns
// tracing on without an endpoint.
func readConfig(forceOn bool) (config, error) {
	endpoint, tracesEndpoint := getenv(envEndpoint), getenv(envTracesEndpoint)
	if endpoint == "" && tracesEndpoint == "" && !forceOn {
		return config{why: "no " + envEndpoint + " or " + envTracesEndpoint}, nil
	}
	if v := getenv(envSDKDisabled); v != "" {
		switch strings.ToLower(v) {
		case "true":
			return config{why: envSDKDisabled + "=true"}, nil
		case "false":
		default:
			return config{}, fmt.Errorf("%s=%q: want true or false", envSDKDisabled, v)
		}
	}
	if v := getenv(envTracesExporter); v != "" {
		none, err := parseExporter(v)
		if err != nil {
			return config{}, err
		}
		if none {
			return config{why: envTracesExporter + "=none"}, nil
		}
	}
	var errs []error
	if !forceOn {
		// The per-signal variable wins over the generic one, as in the
		// exporter; both are checked, since the exporter would silently
		// ignore an unparsable one and fall back to localhost.
		if endpoint != "" {
			errs = append(errs, checkEndpoint(envEndpoint, endpoint))
		}
		if tracesEndpoint != "" {
			errs = append(errs, checkEndpoint(envTracesEndpoint, tracesEndpoint))
		}
		errs = append(errs, checkProtocol(envProtocol), checkProtocol(envTracesProtocol))
	}
	sampler, desc, err := SamplerFromEnv()
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return config{}, err
	}
	return config{enabled: true, sampler: sampler, samplerDesc: desc}, nil
}

// parseExporter checks OTEL_TRACES_EXPORTER: "otlp" (the default) or
// "none". It reports whether it is "none".
func parseExporter(v string) (none bool, err error) {
	var seen []string
	for _, part := range strings.Split(v, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		switch part {
		case "otlp", "none":
			if !contains(seen, part) {
				seen = append(seen, part)
			}
		default:
			return false, fmt.Errorf("%s=%q: roomworker supports only \"otlp\" (OTLP over HTTP, the default) and \"none\" (tracing off); %q is not supported", envTracesExporter, v, part)
		}
	}
	if len(seen) == 2 {
		return false, fmt.Errorf("%s=%q: \"none\" cannot be combined with another exporter", envTracesExporter, v)
	}
	return len(seen) == 1 && seen[0] == "none", nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkEndpoint checks an OTLP/HTTP endpoint URL.
func checkEndpoint(name, v string) error {
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("%s is not a valid URL: %w", name, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%s=%q: want an http:// or https:// URL with a host, e.g. http://otel-collector:4318", name, u.Redacted())
	}
	return nil
}

// checkProtocol checks an OTLP protocol variable: roomworker ships the
// OTLP/HTTP exporter only (the exporter itself would silently use
// http/protobuf for any other value, including grpc).
func checkProtocol(name string) error {
	switch v := getenv(name); v {
	case "", "http/protobuf", "http/json":
		return nil
	case "grpc":
		return fmt.Errorf("%s=grpc: roomworker exports traces over OTLP/HTTP only; use http/protobuf (port 4318 on a collector)", name)
	default:
		return fmt.Errorf("%s=%q: want http/protobuf or http/json", name, v)
	}
}

// Sampler names of OTEL_TRACES_SAMPLER (OpenTelemetry SDK environment
// variable specification).
const (
	SamplerAlwaysOn                = "always_on"
	SamplerAlwaysOff               = "always_off"
	SamplerTraceIDRatio            = "traceidratio"
	SamplerParentBasedAlwaysOn     = "parentbased_always_on"
	SamplerParentBasedAlwaysOff    = "parentbased_always_off"
	SamplerParentBasedTraceIDRatio = "parentbased_traceidratio"
)

// SamplerFromEnv returns the sampler that OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG name (default parentbased_always_on), with a
// description such as "parentbased_traceidratio(0.25)".
//
// The SDK reads these variables too, but only reports a bad value to the
// global error handler and carries on with another sampler (the default for
// an unknown name, ratio 1 for a bad ratio): here a bad value is an error,
// and Setup passes the sampler explicitly.
func SamplerFromEnv() (sdktrace.Sampler, string, error) {
	name := strings.ToLower(getenv(envSampler))
	arg := getenv(envSamplerArg)
	ratio := func() (float64, error) {
		if arg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r != r { // r != r: NaN
			return 0, fmt.Errorf("%s=%q: want a sampling probability between 0 and 1, e.g. 0.25", envSamplerArg, arg)
		}
		if r < 0 || r > 1 {
			return 0, fmt.Errorf("%s=%q: the sampling probability must be between 0 and 1", envSamplerArg, arg)
		}
		return r, nil
	}
	switch name {
	case "", SamplerParentBasedAlwaysOn:
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), SamplerParentBasedAlwaysOn, nil
	case SamplerAlwaysOn:
		return sdktrace.AlwaysSample(), name, nil
	case SamplerAlwaysOff:
		return sdktrace.NeverSample(), name, nil
	case SamplerParentBasedAlwaysOff:
		return sdktrace.ParentBased(sdktrace.NeverSample()), name, nil
	case SamplerTraceIDRatio, SamplerParentBasedTraceIDRatio:
		r, err := ratio()
		if err != nil {
			return nil, "", fmt.Errorf("%s=%s: %w", envSampler, name, err)
		}
		desc := name + "(" + strconv.FormatFloat(r, 'g', -1, 64) + ")"
		if name == SamplerTraceIDRatio {
			return sdktrace.TraceIDRatioBased(r), desc, nil
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), desc, nil
	default:
		return nil, "", fmt.Errorf("%s=%q is not a sampler roomworker supports; use one of %s, %s, %s, %s, %s, %s (the default)",
			envSampler, getenv(envSampler), SamplerAlwaysOn, SamplerAlwaysOff, SamplerTraceIDRatio,
			SamplerParentBasedAlwaysOff, SamplerParentBasedTraceIDRatio, SamplerParentBasedAlwaysOn)
	}
}
