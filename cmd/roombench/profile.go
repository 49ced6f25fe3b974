//go:build !windows

package main

// roombench -role=bare (the baseline) under roombench -worker-cpuprofile: a CPU profile of the whole
// process from start-up to SIGUSR2, written to $CPUPROFILE_FILE.

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func init() {
	name := os.Getenv("CPUPROFILE_FILE")
	if name == "" {
		return
	}
	f, err := os.Create(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpu profile:", err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "cpu profile:", err)
		return
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGUSR2)
	go func() {
		<-stop
		pprof.StopCPUProfile()
		_ = f.Close()
	}()
}
