//go:build ignore

// gen_validator.go writes the generated validators (create_room_validate_gen.go
// from create-room.schema.json, and the one the tests use) with
// internal/validatorgen; go generate ./schema runs it. Run it after changing
// a schema: TestGeneratedValidatorIsUpToDate fails until you do.
package main

import (
	"log"
	"os"

	"github.com/roomworker/roomworker/schema/internal/validatorgen"
)

func main() {
	log.SetFlags(0)
	for _, t := range validatorgen.Targets {
		src, err := os.ReadFile(t.Schema)
		if err != nil {
			log.Fatal(err)
		}
		out, err := validatorgen.Generate(src, t.Options)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(t.Output, out, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
