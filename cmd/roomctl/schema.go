package main

import (
	"context"
	"fmt"

	"github.com/roomworker/roomworker/schema"
)

func schemaCommand() command {
	return command{
		name:    "schema",
		summary: "print the create-room JSON Schema (draft 2020-12) for other tools",
		run:     runSchema,
	}
}

func runSchema(_ context.Context, e env, args []string) int {
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		fmt.Fprintln(e.stdout, "Usage: roomctl schema")
		fmt.Fprintln(e.stdout)
		fmt.Fprintln(e.stdout, "Prints the JSON Schema roomctl validate and roomworker check requests against,")
		fmt.Fprintln(e.stdout, "e.g. for an editor: roomctl schema > create-room.schema.json")
		return exitOK
	case len(args) > 0:
		fmt.Fprintf(e.stderr, "roomctl schema: unexpected argument %q\n", args[0])
		return exitUsage
	}
	if _, err := e.stdout.Write(schema.JSON()); err != nil {
		fmt.Fprintf(e.stderr, "roomctl schema: %v\n", err)
		return exitUsage
	}
	return exitOK
}
