// Package cpuprofile writes a CPU profile of the whole process, from the call to StartFromEnv
// until the process receives SIGUSR2, to the file $CPUPROFILE_FILE. roombench uses it to
// profile the consumer processes it measures (-worker-cpuprofile): roomworker only when built
// with -tags pprof, and its own baseline role.
package cpuprofile

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// EnvVar names the file the profile is written to; nothing happens when it is empty.
const EnvVar = "CPUPROFILE_FILE"

// StartFromEnv starts the profile when $CPUPROFILE_FILE is set; SIGUSR2 ends it and closes the
// file. Failures are reported on stderr: a profile is never worth stopping the process for.
func StartFromEnv() {
	name := os.Getenv(EnvVar)
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
		_ = f.Close()
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
