package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// newFlags returns a flag set for command cmd that prints nothing itself.
func newFlags(cmd string) *flag.FlagSet {
	fs := flag.NewFlagSet("roomctl "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args for command cmd. With -h/--help it prints help
// (and the flags) to stdout; on a bad flag it reports a usage error. stop
// says whether the command should return code now.
func parseFlags(fs *flag.FlagSet, cmd, help string, e env, args []string) (code int, stop bool) {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, help)
		fmt.Fprintln(e.stdout, "\nFlags:")
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		return exitOK, true
	}
	if err != nil {
		return usageError(e.stderr, cmd, "%v", err), true
	}
	return exitOK, false
}

// parseInterspersed is parseFlags for a command whose flags may come before
// and after its arguments ("roomctl end ROOM_ID -wait"); it returns the
// arguments. After "--" the next argument is taken as it is.
func parseInterspersed(fs *flag.FlagSet, cmd, help string, e env, args []string) (positional []string, code int, stop bool) {
	for {
		if code, stop := parseFlags(fs, cmd, help, e, args); stop {
			return nil, code, true
		}
		if fs.NArg() == 0 {
			return positional, exitOK, false
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
