package service

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/plugnmeet"
)

// listeners returns the HTTP listeners Run opened, in order: METRICS_ADDR, then WEBHOOK_ADDR.
func (b *background) listeners(t *testing.T) (metrics, webhook net.Listener) {
	t.Helper()
	return b.listener(t), b.listener(t)
}

func postWebhook(t *testing.T, url, token, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", token)
	req.Header.Set("Hash-Token", token)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestWebhookReceiverServesOnItsOwnListener(t *testing.T) {
	e := testenv.New(t)
	b := startRun(t, e, nil, "WEBHOOK_ADDR=127.0.0.1:0")
	mln, hln := b.listeners(t)
	hook := "http://" + hln.Addr().String()
	e.Eventually(15*time.Second, "the start-up log naming the receiver's address", func() bool {
		return strings.Contains(b.logs.String(), `"msg":"webhook receiver listening","addr":"`+hln.Addr().String()+`"`)
	})

	body := `{"event":"room_started","room":{"sid":"s-1","room_id":"run-room","metadata":"{\"room_title\":\"t\"}"},"id":"EV_run1","created_at":"1796058315"}`
	token, err := plugnmeet.SignWebhook(testenv.APIKey, testenv.APISecret, []byte(body), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if code := postWebhook(t, hook+"/webhook", token, body); code != http.StatusNoContent {
		t.Fatalf("signed delivery: %d, want 204", code)
	}
	if code := postWebhook(t, hook+"/webhook", token+"x", body); code != http.StatusUnauthorized {
		t.Fatalf("delivery with a bad signature: %d, want 401", code)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := e.JS.Stream(ctx, e.Cfg.Webhook.Stream)
	if err != nil {
		t.Fatalf("lifecycle stream: %v", err)
	}
	m, err := s.GetLastMsgForSubject(ctx, e.Cfg.Webhook.SubjectPrefix+".room_started")
	if err != nil {
		t.Fatalf("no event on %s.room_started: %v", e.Cfg.Webhook.SubjectPrefix, err)
	}
	if m.Header.Get("ce-id") != "EV_run1" || m.Header.Get("ce-type") != "plugnmeet.room_started" || m.Header.Get("ce-subject") != "run-room" {
		t.Errorf("stored event headers %v", m.Header)
	}

	for _, c := range []struct {
		url  string
		want int
	}{
		{hook + "/webhook", http.StatusMethodNotAllowed}, // GET
		{hook + "/metrics", http.StatusNotFound},         // the ops endpoints are not on the webhook listener
		{hook + "/healthz", http.StatusNotFound},
		{"http://" + mln.Addr().String() + "/webhook", http.StatusNotFound}, // nor the receiver on the ops listener
	} {
		if code, err := get(c.url); code != c.want {
			t.Errorf("GET %s: %d %v, want %d", c.url, code, err, c.want)
		}
	}
	resp, err := http.Get("http://" + mln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, want := range []string{
		`roomworker_webhooks_received_total{verdict="published"} 1`,
		`roomworker_webhooks_received_total{verdict="unverified"} 1`,
		`roomworker_webhooks_unverified_total{reason="bad_signature"} 1`,
		`roomworker_lifecycle_events_published_total{event="room_started"} 1`,
		`roomworker_lifecycle_events_published_total{event="other"} 0`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(b.logs.String(), testenv.APISecret) || strings.Contains(b.logs.String(), token) {
		t.Error("the log shows the secret or a token")
	}
}

func TestWebhookServerFailureFailsTheProcess(t *testing.T) {
	e := testenv.New(t)
	b := startRun(t, e, nil, "WEBHOOK_ADDR=127.0.0.1:0")
	_, hln := b.listeners(t)
	e.Eventually(15*time.Second, "the worker consuming", func() bool {
		return strings.Contains(b.logs.String(), `"msg":"consuming"`)
	})
	_ = hln.Close() // Accept fails: plugNmeet's deliveries would be refused from now on
	err := b.returned(t, 10*time.Second, "its webhook listener failed")
	if err == nil || !strings.Contains(err.Error(), "WEBHOOK_ADDR") {
		t.Fatalf("Run returned %v, want an error naming WEBHOOK_ADDR", err)
	}
}

func TestWebhookAddrInUseStopsStartUp(t *testing.T) {
	e := testenv.New(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	b := startRun(t, e, nil, "WEBHOOK_ADDR="+taken.Addr().String())
	err = b.returned(t, 10*time.Second, "WEBHOOK_ADDR was in use")
	if err == nil || !strings.Contains(err.Error(), "WEBHOOK_ADDR "+taken.Addr().String()) {
		t.Fatalf("Run returned %v, want an error naming WEBHOOK_ADDR and the address", err)
	}
}
