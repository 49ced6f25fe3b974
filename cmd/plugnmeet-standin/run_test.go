package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var goodEnv = env(map[string]string{"PLUGNMEET_API_KEY": "k", "PLUGNMEET_API_SECRET": "s3cret"})

// start runs the stand-in on a free port and returns its URL and a stop
// function that returns run's error.
func start(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), goodEnv, pw, &stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no URL printed: %v (%v)", err, <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	url := strings.TrimSpace(line[strings.LastIndex(line, " "):])
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("run did not return after cancel")
		}
	}
	return url, stop
}

func TestRunServesSignedCalls(t *testing.T) {
	url, stop := start(t, "-latency", "1ms")
	ctx := context.Background()
	c, err := plugnmeet.New(plugnmeet.Config{URL: url, APIKey: "k", APISecret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.CreateRoom(ctx, []byte(`{"room_id":"proc","metadata":{"room_title":"P","room_features":{}}}`))
	if err != nil || info.RoomID != "proc" {
		t.Fatalf("create: %v %+v", err, info)
	}

	// Open a 401 window at run time, then close it.
	put := func(body string) int {
		req, _ := http.NewRequest(http.MethodPut, url+"/_standin/faults", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put(`{"unauthorized":true}`); code != 200 {
		t.Fatalf("PUT faults: %d", code)
	}
	if _, err := c.IsRoomActive(ctx, "proc"); !errors.Is(err, plugnmeet.ErrSystemic) {
		t.Errorf("during the 401 window: %v", err)
	}
	if code := put(`{"error_rate":2}`); code != 400 {
		t.Errorf("invalid faults accepted: %d", code)
	}
	if code := put(`{}`); code != 200 {
		t.Fatalf("PUT faults: %d", code)
	}
	if active, err := c.IsRoomActive(ctx, "proc"); err != nil || !active {
		t.Errorf("after the window: %v %v", active, err)
	}

	resp, err := http.Get(url + "/_standin/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st plugnmeettest.Stats
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || st.CreateCalls != 1 || st.RoomsCreated != 1 || st.Injected.Unauthorized != 1 || st.Calls["/auth/room/isRoomActive"] != 2 {
		t.Errorf("stats %+v (%v)", st, err)
	}
	resp, err = http.Get(url + "/healthCheck")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthCheck %d", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Errorf("clean shutdown returned %v", err)
	}
}

// The faults of a wrong deployment, set by flag and at run time, reach the
// client as the errors an operator must fix.
func TestRunDeploymentFaults(t *testing.T) {
	url, stop := start(t, "-not-plugnmeet")
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("clean shutdown returned %v", err)
		}
	}()
	ctx := context.Background()
	c, err := plugnmeet.New(plugnmeet.Config{URL: url, APIKey: "k", APISecret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	create := func(room string) error {
		_, err := c.CreateRoom(ctx, []byte(`{"room_id":"`+room+`","metadata":{"room_title":"`+room+`","room_features":{}}}`))
		return err
	}
	if err := create("app"); !errors.Is(err, plugnmeet.ErrNotPlugNmeet) {
		t.Errorf("-not-plugnmeet: %v, want ErrNotPlugNmeet", err)
	}
	if _, err := c.IsRoomActive(ctx, "app"); !errors.Is(err, plugnmeet.ErrNotPlugNmeet) {
		t.Errorf("-not-plugnmeet, isRoomActive: %v, want ErrNotPlugNmeet", err)
	}

	req, _ := http.NewRequest(http.MethodPut, url+"/_standin/faults", strings.NewReader(`{"forbid_body_containing":"blocked"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var f plugnmeettest.Faults
	err = json.NewDecoder(resp.Body).Decode(&f)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || f.ForbidBodyContaining != "blocked" || f.NotPlugNmeet {
		t.Fatalf("PUT faults: %d %+v %v", resp.StatusCode, f, err)
	}
	if err := create("blocked"); !errors.Is(err, plugnmeet.ErrCredentials) {
		t.Errorf("forbidden body: %v, want ErrCredentials", err)
	}
	if err := create("open"); err != nil {
		t.Errorf("other body: %v", err)
	}
	if _, err := c.IsRoomActive(ctx, "blocked"); err != nil {
		t.Errorf("probe during the firewall fault: %v", err)
	}

	resp, err = http.Get(url + "/_standin/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st plugnmeettest.Stats
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || st.Injected.NotPlugNmeet != 2 || st.Injected.Forbidden != 1 || st.CreateCalls != 3 ||
		st.RoomsCreated != 1 || st.MaxConcurrentCreates != 1 {
		t.Errorf("stats %+v (%v)", st, err)
	}
}

func TestRunConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  func(string) string
		want string
	}{
		{"no key", nil, env(map[string]string{"PLUGNMEET_API_SECRET": "s"}), "PLUGNMEET_API_KEY is not set"},
		{"no secret", nil, env(map[string]string{"PLUGNMEET_API_KEY": "k"}), "PLUGNMEET_API_SECRET is not set"},
		{"bad rate", []string{"-error-rate", "1.5"}, goodEnv, "error_rate"},
		{"bad flag", []string{"-nope"}, goodEnv, "not defined"},
		{"stray argument", []string{"extra"}, goodEnv, "unexpected arguments"},
		{"bad address", []string{"-addr", "256.0.0.1:x"}, goodEnv, "256.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, tt.env, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(out.String()+errOut.String()+err.Error(), "s3cret") {
				t.Error("secret printed")
			}
		})
	}
}
