//go:build pprof

package main

// Built only with -tags pprof (roombench -worker-cpuprofile does): a CPU profile of the whole
// process from start-up to SIGUSR2, written to $CPUPROFILE_FILE. Production builds carry none of it.

import "github.com/roomworker/roomworker/internal/cpuprofile"

func init() { cpuprofile.StartFromEnv() }
