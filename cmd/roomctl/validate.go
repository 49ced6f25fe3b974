package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/roomworker/roomworker/schema"
)

const defaultMaxBytes = 1 << 20 // 1 MiB

const validateHelp = `Usage: roomctl validate [-max-bytes N] [-v] FILE...

Checks create-room request files against roomworker's JSON Schema, offline.
FILE "-" reads standard input.

Each problem is one line on standard output:
  FILE: /json/pointer: message
The pointer (RFC 6901) names the offending value; for a missing property, the
place it belongs. Problems with the file as a whole (empty, not JSON, not
UTF-8, not a JSON object, too large) show "(root)" in place of the pointer:
  FILE: (root): message
A file that is not JSON is an invalid request (exit status 1), as it would be
for roomworker. Valid files print nothing, or "FILE: ok" with -v.

Exit status:
  0  every file is a valid request
  1  at least one file is not a valid request
  2  usage error, or a file could not be read (reported on standard error;
     the other files are still checked)

Flags:
`

func validateCommand() command {
	return command{
		name:    "validate",
		summary: "check create-room request files against the schema, offline",
		run:     runValidate,
	}
}

func runValidate(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("roomctl validate", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and help are printed below
	maxBytes := fs.Int64("max-bytes", defaultMaxBytes, "refuse files larger than `N` bytes without reading them whole")
	verbose := fs.Bool("v", false, `also print "FILE: ok" for each valid file`)
	help := func(w io.Writer) {
		fmt.Fprint(w, validateHelp)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	usageError := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "roomctl validate: "+format+"\n", a...)
		fmt.Fprintln(e.stderr, `Run "roomctl validate --help" for usage.`)
		return exitUsage
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		help(e.stdout)
		return exitOK
	} else if err != nil {
		return usageError("%v", err)
	}
	files := fs.Args()
	switch {
	case len(files) == 0:
		return usageError("no FILE given")
	case *maxBytes <= 0:
		return usageError("-max-bytes must be positive, got %d", *maxBytes)
	}
	stdinSeen := false
	for _, f := range files {
		if f == "-" {
			if stdinSeen {
				return usageError(`"-" (standard input) given more than once`)
			}
			stdinSeen = true
		}
	}

	code := exitOK
	for _, name := range files {
		if ctx.Err() != nil {
			fmt.Fprintln(e.stderr, "roomctl validate: interrupted")
			return exitUsage
		}
		data, tooLarge, err := readLimited(name, e.stdin, *maxBytes)
		if err != nil {
			fmt.Fprintf(e.stderr, "roomctl validate: %s\n", printable(err.Error()))
			code = exitUsage
			continue
		}
		shown := printable(name)
		if tooLarge {
			fmt.Fprintf(e.stdout, "%s: (root): is larger than %d bytes (the -max-bytes limit)\n", shown, *maxBytes)
			code = max(code, exitFailure)
			continue
		}
		var verr *schema.Error
		switch err := schema.Validate(data); {
		case err == nil:
			if *verbose {
				fmt.Fprintf(e.stdout, "%s: ok\n", shown)
			}
		case errors.As(err, &verr):
			for _, fe := range verr.Errors {
				fmt.Fprintf(e.stdout, "%s: %s\n", shown, printable(fe.String()))
			}
			code = max(code, exitFailure)
		default: // the schema itself could not be loaded: a bug, not the file's fault
			fmt.Fprintf(e.stderr, "roomctl validate: %s: %v\n", shown, err)
			code = exitUsage
		}
	}
	return code
}

// readLimited reads a file ("-" = stdin) but at most limit+1 bytes of it,
// so an oversized file is refused without being held in memory.
func readLimited(name string, stdin io.Reader, limit int64) (data []byte, tooLarge bool, err error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, false, err
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
			return nil, true, nil
		}
		r = f
	} else if stdin == nil {
		return nil, false, errors.New("-: no standard input")
	}
	data, err = io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		if name == "-" {
			return nil, false, fmt.Errorf("reading standard input: %w", err)
		}
		return nil, false, err // *fs.PathError names the file
	}
	return data, int64(len(data)) > limit, nil
}
