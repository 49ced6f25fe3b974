package main

import _ "embed"

// seedExample is examples/create-room.json (the plugNmeet docs' full example); a test keeps
// the two copies equal.
//
//go:embed seed.json
var seedExample []byte
