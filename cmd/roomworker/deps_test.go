package main

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/roomworker/roomworker/internal/testenv"
)

// TestProductionBinaryLinksNoDevelopmentCode keeps the production image lean: the embedded NATS
// server and the plugNmeet stand-in belong to roomdev, never to roomworker.
func TestProductionBinaryLinksNoDevelopmentCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list -deps: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	var sawNATSClient bool
	for _, pkg := range deps {
		switch {
		case pkg == "github.com/nats-io/nats.go":
			sawNATSClient = true
		case pkg == "github.com/nats-io/nats-server/v2" || strings.HasPrefix(pkg, "github.com/nats-io/nats-server/v2/"):
			t.Errorf("roomworker links %s: the embedded NATS server belongs to cmd/roomdev", pkg)
		case pkg == "github.com/roomworker/roomworker/plugnmeet/plugnmeettest":
			t.Errorf("roomworker links %s: the plugNmeet stand-in belongs to cmd/roomdev", pkg)
		}
	}
	if !sawNATSClient {
		t.Fatalf("go list -deps lists no github.com/nats-io/nats.go among %d packages: the check would prove nothing", len(deps))
	}
}

func TestDevelopmentFlagsNameRoomdev(t *testing.T) {
	for _, args := range [][]string{
		{"-dev"},
		{"--dev"},
		{"-dev", "-demo", "examples"},
		{"-demo=examples"},
		{"-version", "-dev=true"},
	} {
		var stdout, stderr strings.Builder
		err := run(context.Background(), args, testenv.MapLookup(map[string]string{}), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), "roomdev") || !strings.Contains(err.Error(), "make demo") {
			t.Errorf("roomworker %s: %v, want an error naming roomdev and make demo", strings.Join(args, " "), err)
			continue
		}
		if strings.Contains(err.Error(), "\n") || stdout.Len()+stderr.Len() != 0 {
			t.Errorf("roomworker %s: want one line (the error), got %q and output %q %q", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
	}
}
