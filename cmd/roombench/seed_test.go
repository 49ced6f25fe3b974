package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/roomworker/roomworker/schema"
)

func TestSeedIsTheExampleAndValid(t *testing.T) {
	example, err := os.ReadFile("../../examples/create-room.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(example, seedExample) {
		t.Error("cmd/roombench/seed.json differs from examples/create-room.json: copy it again")
	}
	if err := schema.Validate(seedExample); err != nil {
		t.Errorf("the benchmark payload is not a valid request: %v", err)
	}
	if n := len(seedExample); n < 1500 || n > 4096 {
		t.Errorf("benchmark payload is %d bytes, want about 2 KB", n)
	}
}
