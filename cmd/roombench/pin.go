package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// pinRig moves every thread of this process (nats-server, the stand-in and the publisher run
// in it) to all CPUs but the last, and returns the last for the consumer processes: each side
// of a measurement then has its own CPUs, so a latency figure is the latency the worker adds,
// not a fight for one CPU inside the rig. Threads started later inherit the mask.
func pinRig(log io.Writer) (workerCPU string, err error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return "", fmt.Errorf("read this process's CPUs: %w", err)
	}
	var cpus []int
	for i := range 1024 {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	if len(cpus) < 2 {
		return "", fmt.Errorf("needs at least 2 CPUs, this process may use %d", len(cpus))
	}
	last := cpus[len(cpus)-1]
	rig := ""
	for i, c := range cpus[:len(cpus)-1] {
		if i > 0 {
			rig += ","
		}
		rig += strconv.Itoa(c)
	}
	if out, err := exec.Command("taskset", "-a", "-p", "-c", rig, strconv.Itoa(os.Getpid())).CombinedOutput(); err != nil {
		return "", fmt.Errorf("taskset (util-linux) on this process: %v: %s", err, out)
	}
	runtime.GOMAXPROCS(len(cpus) - 1)
	fmt.Fprintf(log, "pinned: rig (nats-server, stand-in, publisher) on CPU %s, consumers on CPU %d\n", rig, last)
	return strconv.Itoa(last), nil
}
