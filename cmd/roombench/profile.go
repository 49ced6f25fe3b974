package main

// The baseline role (roombench -role=bare), under roombench -worker-cpuprofile: a CPU profile
// of the whole process from start-up to SIGUSR2, written to $CPUPROFILE_FILE.

import "github.com/roomworker/roomworker/internal/cpuprofile"

func init() { cpuprofile.StartFromEnv() }
