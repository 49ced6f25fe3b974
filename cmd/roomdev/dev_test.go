package main

import "testing"

func TestDevReceiverURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8090": "http://127.0.0.1:8090/webhook",
		":8090":          "http://127.0.0.1:8090/webhook",
		"0.0.0.0:8090":   "http://127.0.0.1:8090/webhook",
		"[::]:8090":      "http://127.0.0.1:8090/webhook",
		"[::1]:8090":     "http://[::1]:8090/webhook",
		"hooks:8090":     "http://hooks:8090/webhook",
		"127.0.0.1:0":    "", // a port chosen at listen time cannot be told to the stand-in
		"8090":           "",
	} {
		if got := receiverURL(addr); got != want {
			t.Errorf("receiverURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
