package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Exit codes shared by every subcommand.
const (
	exitOK      = 0 // success
	exitFailure = 1 // the command ran and found a problem (e.g. an invalid request)
	exitUsage   = 2 // bad command line, or an I/O or configuration error
)

// env is everything a subcommand may use from outside the process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// command is one roomctl subcommand.
type command struct {
	name    string
	summary string // one line, shown by roomctl --help
	// run executes the command with the arguments after its name and
	// returns the exit code; it handles its own --help.
	run func(ctx context.Context, e env, args []string) int
}

// commands lists roomctl's subcommands in the order --help shows them.
// Adding one is a file with a constructor like validateCommand and one line here.
func commands() []command {
	return []command{
		validateCommand(),
		schemaCommand(),
		publishCommand(),
		endCommand(),
		cancelCommand(),
		schedulesCommand(),
		watchCommand(),
		statusCommand(),
		replayCommand(),
	}
}

// run is roomctl without the process around it: args are the command-line
// arguments after the program name; the result is the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	cmds := commands()
	if len(args) == 0 {
		usage(stderr, cmds)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help", "help":
		if name == "help" && len(rest) > 0 {
			// "roomctl help validate" is "roomctl validate --help".
			name, rest = rest[0], []string{"--help"}
			break
		}
		usage(stdout, cmds)
		return exitOK
	}
	i := slices.IndexFunc(cmds, func(c command) bool { return c.name == name })
	if i < 0 {
		if strings.HasPrefix(name, "-") {
			fmt.Fprintf(stderr, "roomctl: unknown flag %s\n\n", printable(name))
		} else {
			fmt.Fprintf(stderr, "roomctl: unknown command %q\n\n", name)
		}
		usage(stderr, cmds)
		return exitUsage
	}
	return cmds[i].run(ctx, e, rest)
}

func usage(w io.Writer, cmds []command) {
	fmt.Fprintln(w, "Usage: roomctl COMMAND [ARGS...]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "roomctl works with roomworker's room requests (room.create, room.end, room.cancel) and events.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "roomctl COMMAND --help" for a command's flags, output and exit codes.`)
}

// printable escapes control and other non-printable characters so that one
// output line stays one line whatever a file name or JSON key contains.
func printable(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return s
	}
	var sb strings.Builder
	for _, r := range s {
		if unicode.IsPrint(r) {
			sb.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r) // e.g. '\n' or '\u2028'
		sb.WriteString(q[1 : len(q)-1])
	}
	return sb.String()
}
