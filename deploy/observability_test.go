// Package deploy_test checks the operator surface shipped in deploy/: the Grafana dashboard and
// the Prometheus alerting rules are run against a real Prometheus scraping a real roomworker
// process, and the rules' unit tests run under promtool.
//
// The tests need the prometheus and promtool binaries (Debian package prometheus). Without them
// the parts that need them are skipped, except under CI (CI set), where that is a failure.
package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/plugnmeet"
)

const (
	alertsFile     = "prometheus/alerts.yml"
	alertsTestFile = "prometheus/alerts_test.yml"
	dashboardFile  = "grafana/roomworker.json"
	runbookFile    = "../docs/runbook.md"

	apiKey    = "plugnmeet"
	apiSecret = "observability-test-secret-0f1e2d"
	// payloadMarker is in every request's room title: it must never reach an info log line.
	payloadMarker = "payload-marker-5c7a"
)

// tool returns the path of an external program, skipping the test when it is missing outside CI.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found in PATH, and CI is set: install the Debian package prometheus (apt-get install -y prometheus)", name)
	}
	t.Skipf("%s not found in PATH: install the Debian package prometheus to run this test", name)
	return ""
}

// alertNames lists the alerts defined in alerts.yml, in order.
func alertNames(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^\s*-\s*alert:\s*(\S+)\s*$`).FindAllSubmatch(b, -1) {
		names = append(names, string(m[1]))
	}
	if len(names) == 0 {
		t.Fatalf("%s defines no alert", alertsFile)
	}
	return names
}

// githubSlug is the anchor GitHub gives a Markdown heading.
func githubSlug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

func TestEveryAlertHasUnitTestsAndARunbookSection(t *testing.T) {
	rules, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(alertsTestFile)
	if err != nil {
		t.Fatal(err)
	}
	runbook, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#{1,6}\s+(.+)$`).FindAllSubmatch(runbook, -1) {
		anchors[githubSlug(string(m[1]))] = true
	}
	// Each alert's evaluation blocks in alerts_test.yml: "alertname: X" then its exp_alerts.
	evals := regexp.MustCompile(`(?m)^\s*alertname:\s*(\S+)\s*\n\s*exp_alerts:\s*(\[\])?`).FindAllSubmatch(tests, -1)
	firing, quiet := map[string]int{}, map[string]int{}
	for _, m := range evals {
		if len(m[2]) > 0 {
			quiet[string(m[1])]++
		} else {
			firing[string(m[1])]++
		}
	}
	urls := regexp.MustCompile(`runbook_url:\s*"([^"]+)"`).FindAllSubmatch(rules, -1)
	names := alertNames(t)
	if len(urls) != len(names) {
		t.Errorf("%d alerts but %d runbook_url annotations", len(names), len(urls))
	}
	for i, name := range names {
		if firing[name] == 0 {
			t.Errorf("alert %s has no promtool test where it fires", name)
		}
		if quiet[name] == 0 {
			t.Errorf("alert %s has no promtool test where it stays quiet", name)
		}
		if i >= len(urls) {
			continue
		}
		u, err := url.Parse(string(urls[i][1]))
		if err != nil {
			t.Errorf("alert %s: runbook_url: %v", name, err)
			continue
		}
		if !strings.HasSuffix(u.Path, "/docs/runbook.md") || u.Fragment != strings.ToLower(name) {
			t.Errorf("alert %s: runbook_url %s should point at docs/runbook.md#%s", name, u, strings.ToLower(name))
		}
		if !anchors[u.Fragment] {
			t.Errorf("alert %s: docs/runbook.md has no section with anchor #%s", name, u.Fragment)
		}
	}
}

func TestPromtoolRulesAndConfig(t *testing.T) {
	promtool := tool(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
		{"check", "config", "prometheus.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	SchemaVersion int    `json:"schemaVersion"`
	UID           string `json:"uid"`
	Title         string `json:"title"`
	Panels        []struct {
		ID         int             `json:"id"`
		Type       string          `json:"type"`
		Title      string          `json:"title"`
		Datasource json.RawMessage `json:"datasource"`
		Targets    []struct {
			RefID      string          `json:"refId"`
			Expr       string          `json:"expr"`
			Datasource json.RawMessage `json:"datasource"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      any             `json:"query"`
			Datasource json.RawMessage `json:"datasource"`
			IncludeAll bool            `json:"includeAll"`
			AllValue   string          `json:"allValue"`
		} `json:"list"`
	} `json:"templating"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

func TestDashboardImportsIntoStockGrafana(t *testing.T) {
	d := loadDashboard(t)
	if d.SchemaVersion < 36 || d.Title == "" || d.UID == "" {
		t.Errorf("schemaVersion %d, title %q, uid %q: want a schemaVersion of a current Grafana (>= 36), a title and a uid",
			d.SchemaVersion, d.Title, d.UID)
	}
	vars := map[string]int{}
	for i, v := range d.Templating.List {
		vars[v.Name] = i
	}
	for _, name := range []string{"datasource", "job", "instance"} {
		if _, ok := vars[name]; !ok {
			t.Fatalf("no $%s variable", name)
		}
	}
	if v := d.Templating.List[vars["datasource"]]; v.Type != "datasource" || v.Query != "prometheus" {
		t.Errorf("$datasource is %s %v, want a datasource variable over prometheus data sources", v.Type, v.Query)
	}
	if v := d.Templating.List[vars["instance"]]; !v.IncludeAll || v.AllValue != ".*" {
		t.Errorf("$instance: includeAll %t allValue %q, want an All option matching every instance", v.IncludeAll, v.AllValue)
	}
	wantDS := func(what string, raw json.RawMessage) {
		var ds struct{ Type, UID string }
		if err := json.Unmarshal(raw, &ds); err != nil || ds.Type != "prometheus" || ds.UID != "${datasource}" {
			t.Errorf("%s: datasource %s, want {type: prometheus, uid: ${datasource}} (no hard-coded uid)", what, raw)
		}
	}
	for _, name := range []string{"job", "instance"} {
		wantDS("$"+name, d.Templating.List[vars[name]].Datasource)
	}
	ids := map[int]bool{}
	exprs := ""
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		wantDS("panel "+p.Title, p.Datasource)
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			wantDS(fmt.Sprintf("panel %q query %s", p.Title, tg.RefID), tg.Datasource)
			if tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %q: refId %q empty or repeated", p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			if !strings.Contains(tg.Expr, `job=~"$job"`) || !strings.Contains(tg.Expr, `instance=~"$instance"`) {
				t.Errorf("panel %q query %s ignores the job/instance filter: %s", p.Title, tg.RefID, tg.Expr)
			}
			exprs += tg.Expr + "\n"
		}
	}
	// What the issue asks the dashboard to show.
	for what, re := range map[string]string{
		"throughput by outcome":   `by \(outcome, reason\) \(rate\(roomworker_results_total`,
		"latency percentiles":     `histogram_quantile\(0\.99, sum by \(le\) \(rate\(roomworker_processing_duration_seconds_bucket`,
		"backlog":                 `roomworker_consumer_pending`,
		"ack pending":             `roomworker_consumer_ack_pending`,
		"attempts":                `roomworker_attempts_bucket`,
		"plugNmeet error classes": `by \(route, class\) \(rate\(roomworker_plugnmeet_requests_total`,
		"in-flight per replica":   `by \(instance\) \(roomworker_inflight`,
		"live rooms":              `roomworker_lifecycle_events_published_total\{[^}]*event="room_created"\}\) - sum\(roomworker_lifecycle_events_published_total\{[^}]*event="session_ended"`,
		"participants per minute": `rate\(roomworker_lifecycle_events_published_total\{[^}]*event="participant_joined"\}\[\$__rate_interval\]\)\) \* 60`,
		"webhooks by verdict":     `by \(verdict\) \(rate\(roomworker_webhooks_received_total`,
	} {
		if !regexp.MustCompile(re).MatchString(exprs) {
			t.Errorf("no panel shows %s (no query matching %s)", what, re)
		}
	}
}

// substitute fills in Grafana's variables the way Grafana would before sending a query.
func substitute(expr, job, instance string) string {
	return strings.NewReplacer(
		"${datasource}", "", "$datasource", "",
		"${job}", job, "$job", job,
		"${instance}", instance, "$instance", instance,
		"$__rate_interval", "1m", "${__rate_interval}", "1m",
		"$__interval", "15s", "${__interval}", "15s",
		"$__range", "5m", "${__range}", "5m",
	).Replace(expr)
}

// TestOperatorSurfaceAgainstPrometheus runs roomdev (roomworker with an embedded NATS server)
// against the plugNmeet stand-in process, with a real Prometheus scraping it and loading
// alerts.yml, while valid, invalid, duplicate and transiently failing requests flow, and through
// a credentials outage.
// It checks /readyz, the ready and pause gauges, the logs, `promtool check metrics` on a scrape,
// and runs every dashboard query and alert expression through Prometheus's query API.
func TestOperatorSurfaceAgainstPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and waits for scrapes; skipped with -short")
	}
	promPath, promErr := exec.LookPath("prometheus")
	if promErr != nil && os.Getenv("CI") != "" {
		t.Fatal("prometheus not found in PATH, and CI is set: install the Debian package prometheus")
	}
	bin := buildBinaries(t)
	tmp := t.TempDir()

	// The plugNmeet stand-in as its own process, so faults can be switched over its admin API.
	// Its webhooks (plugNmeet's global webhook_conf.url) go to the worker's receiver.
	standinAddr, webhookAddr := freeAddr(t), freeAddr(t)
	webhookURL := "http://" + webhookAddr + "/webhook"
	standin := startProcess(t, "plugnmeet-standin", filepath.Join(bin, "plugnmeet-standin"),
		[]string{"-addr", standinAddr, "-webhook-url", webhookURL, "-departure-timeout", "1s"},
		[]string{"PLUGNMEET_API_KEY=" + apiKey, "PLUGNMEET_API_SECRET=" + apiSecret})
	standinURL := "http://" + standinAddr
	waitHTTP(t, standinURL+"/_standin/stats", 200, 15*time.Second, standin)

	metricsAddr := freeAddr(t)
	worker := startProcess(t, "roomdev", filepath.Join(bin, "roomdev"), nil, []string{
		"PLUGNMEET_URL=" + standinURL, "PLUGNMEET_API_KEY=" + apiKey, "PLUGNMEET_API_SECRET=" + apiSecret,
		"METRICS_ADDR=" + metricsAddr, "WEBHOOK_ADDR=" + webhookAddr, "LOG_FORMAT=json", "LOG_LEVEL=info",
		"MAX_ATTEMPTS=2", "RETRY_BASE_DELAY=20ms", "RETRY_MAX_DELAY=100ms", "REQUEST_TIMEOUT=2s",
	})
	natsURL := worker.waitStdout(t, regexp.MustCompile(`embedded NATS JetStream at (nats://\S+)`), 20*time.Second)
	metricsURL := "http://" + metricsAddr
	waitHTTP(t, metricsURL+"/readyz", 200, 20*time.Second, worker)
	waitHTTP(t, metricsURL+"/healthz", 200, time.Second, worker)

	var prom *process
	promURL := ""
	if promErr == nil {
		promAddr := freeAddr(t)
		alerts, err := filepath.Abs(alertsFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: roomworker
    static_configs:
      - targets: [%q]
`, alerts, metricsAddr)
		cfgPath := filepath.Join(tmp, "prometheus.yml")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		prom = startProcess(t, "prometheus", promPath, []string{
			"--config.file=" + cfgPath, "--storage.tsdb.path=" + filepath.Join(tmp, "tsdb"),
			"--web.listen-address=" + promAddr,
		}, nil)
		promURL = "http://" + promAddr
		waitHTTP(t, promURL+"/-/ready", 200, 30*time.Second, prom)
		// Let Prometheus see the counters at 0 before traffic, as it would in production.
		waitQuery(t, promURL, `roomworker_results_total{job="roomworker"} == 0`, 20*time.Second)
	}

	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	pub := publisher{t: t, js: js}

	// Phase 1: valid requests in both content modes, then duplicates and invalid ones.
	var firstBody []byte
	for i := 1; i <= 8; i++ {
		body := requestBody(t, fmt.Sprintf("ops-%02d", i))
		if i == 1 {
			firstBody = body
		}
		pub.send(body, i > 6)
	}
	waitResults(t, js, 8, 30*time.Second, worker)
	pub.send(firstBody, false)                                             // duplicate (binary)
	pub.send(firstBody, true)                                              // duplicate (structured)
	pub.send([]byte(`{"room_id":"not a valid id!","metadata":{}}`), false) // invalid_request
	pub.send([]byte(`{"room_id":"ops-missing-metadata"}`), false)          // invalid_request
	pub.raw(nats.Header{"Content-Type": []string{"text/plain"}}, []byte("not a CloudEvent"))
	waitResults(t, js, 13, 30*time.Second, worker)

	// Phase 2: every create call fails transiently (503) for two requests, which run out of
	// attempts (MAX_ATTEMPTS=2); then half of them fail, so some requests need a retry.
	setFaults(t, standinURL, `{"error_rate":1}`)
	pub.send(requestBody(t, "ops-down-1"), false)
	pub.send(requestBody(t, "ops-down-2"), true)
	waitResults(t, js, 15, 30*time.Second, worker)
	setFaults(t, standinURL, `{"error_rate":0.5,"latency":"10ms"}`)
	for i := 1; i <= 10; i++ {
		pub.send(requestBody(t, fmt.Sprintf("ops-flaky-%02d", i)), i%2 == 0)
	}
	waitResults(t, js, 25, 60*time.Second, worker)
	if prom != nil {
		// A request ran out of retries: that alert fires at once; the failure ratio (at least
		// 7 of 25) is over 10%, so that alert is pending its 10 minutes.
		waitAlertState(t, promURL, "RoomworkerRetriesExhausted", "firing", 20*time.Second)
		waitAlertState(t, promURL, "RoomworkerFailureRatioHigh", "pending", 20*time.Second)
	}

	// Phase 3: plugNmeet rejects the key: the worker pauses and reports not ready, then recovers.
	setFaults(t, standinURL, `{"unauthorized":true}`)
	pub.send(requestBody(t, "ops-paused"), false)
	body := waitHTTP(t, metricsURL+"/readyz", http.StatusServiceUnavailable, 20*time.Second, worker)
	if !strings.Contains(body, "credentials") {
		t.Errorf("/readyz while paused says %q, want the reason (credentials rejected)", body)
	}
	scrape := get(t, metricsURL+"/metrics")
	for _, want := range []string{"roomworker_ready 0\n", "roomworker_systemic_pause 1\n"} {
		if !strings.Contains(scrape, want) {
			t.Errorf("while paused, /metrics lacks %q", strings.TrimSpace(want))
		}
	}
	if prom != nil {
		waitAlertState(t, promURL, "RoomworkerSystemicPause", "pending", 20*time.Second)
		waitAlertState(t, promURL, "RoomworkerNoReadyReplicas", "pending", 20*time.Second)
	}
	setFaults(t, standinURL, `{}`)
	waitHTTP(t, metricsURL+"/readyz", 200, 40*time.Second, worker)
	// The request put back while paused is created once the worker resumes; phase 4 compares
	// the rooms open at the stand-in with the dashboard, so it must be open by then.
	waitResults(t, js, 26, 30*time.Second, worker)
	scrape = get(t, metricsURL+"/metrics")
	for _, want := range []string{"roomworker_ready 1\n", "roomworker_systemic_pause 0\n"} {
		if !strings.Contains(scrape, want) {
			t.Errorf("after recovery, /metrics lacks %q", strings.TrimSpace(want))
		}
	}

	// Phase 4: the room lifecycle. A participant joins and leaves ops-01, which closes; and someone
	// posts forged webhooks (signed with another secret) to the receiver.
	for _, action := range []string{"join", "leave"} {
		controlPost(t, standinURL+"/_standin/rooms/ops-01/"+action+"?user=alice")
	}
	forged := `{"event":"room_finished","room":{"sid":"forged","room_id":"ops-02"},"id":"EV_forged","created_at":"1796058315"}`
	token, err := plugnmeet.SignWebhook(apiKey, "not-"+apiSecret, []byte(forged), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if code := postWebhook(t, webhookURL, token, forged); code != http.StatusUnauthorized {
			t.Errorf("forged webhook answered %d, want 401", code)
		}
	}
	waitScrape(t, metricsURL, `roomworker_lifecycle_events_published_total{event="session_ended"} 1`, 20*time.Second, worker)
	scrape = get(t, metricsURL+"/metrics")
	for _, want := range []string{
		`roomworker_lifecycle_events_published_total{event="participant_joined"} 1`,
		`roomworker_lifecycle_events_published_total{event="room_finished"} 1`,
		`roomworker_webhooks_received_total{verdict="unverified"} 3`,
		`roomworker_webhooks_unverified_total{reason="bad_signature"} 3`,
	} {
		if !strings.Contains(scrape, want+"\n") {
			t.Errorf("after the lifecycle phase, /metrics lacks %s", want)
		}
	}
	if prom != nil {
		waitAlertState(t, promURL, "RoomworkerWebhooksUnverified", "pending", 20*time.Second)
		// The dashboard's live rooms are the rooms the stand-in has open (every webhook was stored).
		var st struct {
			ActiveRooms int `json:"active_rooms"`
		}
		if err := json.Unmarshal([]byte(get(t, standinURL+"/_standin/stats")), &st); err != nil {
			t.Fatal(err)
		}
		live := substitute(panelExpr(t, "Live rooms"), "roomworker", ".*")
		waitQuery(t, promURL, fmt.Sprintf("(%s) == %d", live, st.ActiveRooms), 20*time.Second)
		waitQuery(t, promURL, substitute(panelExpr(t, "Participants joined per minute"), "roomworker", ".*")+" > 0", 20*time.Second)
	}

	t.Run("promtool check metrics", func(t *testing.T) {
		promtool := tool(t, "promtool")
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(scrape)
		out, err := cmd.CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})

	t.Run("dashboard queries return data", func(t *testing.T) {
		if prom == nil {
			t.Skip("prometheus not found in PATH: install the Debian package prometheus to run this test")
		}
		waitQuery(t, promURL, `roomworker_systemic_pause{job="roomworker"} == 0`, 20*time.Second)
		waitAlertState(t, promURL, "RoomworkerSystemicPause", "inactive", 20*time.Second)
		waitAlertState(t, promURL, "RoomworkerNoReadyReplicas", "inactive", 20*time.Second)
		waitQuery(t, promURL, `sum(roomworker_results_total{job="roomworker"}) >= 25`, 20*time.Second)
		d := loadDashboard(t)
		for _, v := range d.Templating.List {
			q, _ := v.Query.(string)
			m := regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`).FindStringSubmatch(q)
			if v.Type != "query" || m == nil {
				continue
			}
			res, err := query(promURL, substitute(m[1], "roomworker", metricsAddr))
			if err != nil || len(res) == 0 {
				t.Errorf("variable $%s: %s: %d series, err %v", v.Name, q, len(res), err)
				continue
			}
			if res[0].Metric[m[2]] == "" {
				t.Errorf("variable $%s: %s: series without label %s", v.Name, q, m[2])
			}
		}
		n := 0
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				n++
				for _, instance := range []string{metricsAddr, ".*"} {
					q := substitute(tg.Expr, "roomworker", instance)
					res, err := query(promURL, q)
					if err != nil {
						t.Errorf("panel %q query %s: %v\n%s", p.Title, tg.RefID, err, q)
					} else if len(res) == 0 {
						t.Errorf("panel %q query %s (instance %s) returns no data:\n%s", p.Title, tg.RefID, instance, q)
					}
				}
			}
		}
		t.Logf("%d dashboard queries returned data", n)
	})

	t.Run("alert expressions parse and evaluate", func(t *testing.T) {
		if prom == nil {
			t.Skip("prometheus not found in PATH: install the Debian package prometheus to run this test")
		}
		names := alertNames(t)
		var rules map[string]promRule
		deadline := time.Now().Add(15 * time.Second)
		for {
			rules = loadedRules(t, promURL)
			healthy := len(rules) == len(names)
			for _, r := range rules {
				healthy = healthy && r.Health == "ok"
			}
			if healthy || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		for _, name := range names {
			r, ok := rules[name]
			if !ok {
				t.Errorf("Prometheus did not load alert %s", name)
				continue
			}
			if r.Health != "ok" || r.LastError != "" {
				t.Errorf("alert %s: health %q, last error %q", name, r.Health, r.LastError)
			}
			if _, err := query(promURL, r.Query); err != nil {
				t.Errorf("alert %s: %v\n%s", name, err, r.Query)
			}
			t.Logf("alert %s: %s", name, r.State)
		}
		t.Logf("%d alert expressions evaluated", len(names))
	})

	// Stop the worker as Kubernetes would, then read its logs.
	if err := worker.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := worker.wait(30 * time.Second); err != nil {
		t.Errorf("roomworker after SIGTERM: %v, want exit status 0", err)
	}
	checkLogs(t, worker.stderr.String(), 25)
}

// checkLogs checks the worker's JSON logs: every line is a JSON object, every result has one info
// line with its request id, room id, outcome, reason, attempts and duration, and neither the API
// secret nor a request payload appears.
func checkLogs(t *testing.T, logs string, minResults int) {
	t.Helper()
	if strings.Contains(logs, apiSecret) {
		t.Error("the plugNmeet API secret appears in the logs")
	}
	results := 0
	reasons := map[string]int{}
	for i, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line %d is not JSON (LOG_FORMAT=json): %q", i+1, line)
			continue
		}
		if rec["level"] == "INFO" && strings.Contains(line, payloadMarker) {
			t.Errorf("an info line carries the request payload: %s", line)
		}
		msg, _ := rec["msg"].(string)
		if msg != "room created" && msg != "room failed" {
			continue
		}
		results++
		reason, _ := rec["reason"].(string)
		reasons[reason]++
		want := []string{"outcome", "reason", "attempts", "duration"}
		if reason != string(events.ReasonInvalidEvent) {
			want = append(want, "request_id", "room_id")
		}
		for _, k := range want {
			if _, ok := rec[k]; !ok {
				t.Errorf("result log line without %s: %s", k, line)
			}
		}
		if rec["level"] != "INFO" {
			t.Errorf("result log line at level %v, want INFO: %s", rec["level"], line)
		}
	}
	if results < minResults {
		t.Errorf("%d result log lines, want at least %d", results, minResults)
	}
	for _, r := range []string{"created", "duplicate", "invalid_request", "invalid_event", "retries_exhausted"} {
		if reasons[r] == 0 {
			t.Errorf("no result log line with reason %s (got %v)", r, reasons)
		}
	}
	t.Logf("result log lines by reason: %v", reasons)
}

// --- processes ------------------------------------------------------------------------------

var build struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// buildBinaries builds roomdev (roomworker's development mode) and plugnmeet-standin once per test run.
func buildBinaries(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "roomworker-deploy-test-")
		if build.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", build.dir+string(filepath.Separator), "./cmd/roomdev", "./cmd/plugnmeet-standin")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.dir
}

// process is a program started by a test, stopped when the test ends.
type process struct {
	name   string
	cmd    *exec.Cmd
	stderr *syncBuffer
	stdout *syncBuffer
	done   chan struct{}
	err    error
}

func startProcess(t *testing.T, name, path string, args, env []string) *process {
	t.Helper()
	p := &process{name: name, cmd: exec.Command(path, args...), stderr: &syncBuffer{}, stdout: &syncBuffer{},
		done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		if p.wait(20*time.Second) == errStillRunning {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s stderr (tail):\n%s", name, tail(p.stderr.String(), 30))
		}
	})
	return p
}

var errStillRunning = fmt.Errorf("still running")

func (p *process) wait(d time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		return errStillRunning
	}
}

func (p *process) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited: %v\n%s", p.name, p.err, tail(p.stderr.String(), 20))
	default:
		return nil
	}
}

func (p *process) waitStdout(t *testing.T, re *regexp.Regexp, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if m := re.FindStringSubmatch(p.stdout.String()); m != nil {
			return m[1]
		}
		if err := p.exited(); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %s within %s; stdout:\n%s", p.name, re, within, p.stdout.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var client = &http.Client{Timeout: 5 * time.Second}

// waitHTTP polls url until it answers status, and returns the body.
func waitHTTP(t *testing.T, u string, status int, within time.Duration, p *process) string {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for {
		resp, err := client.Get(u)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == status {
				return string(b)
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		if err := p.exited(); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: want %d within %s, last answer: %s", u, status, within, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	return string(b)
}

func setFaults(t *testing.T, standinURL, faults string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, standinURL+"/_standin/faults", strings.NewReader(faults))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT /_standin/faults %s: %d %s", faults, resp.StatusCode, b)
	}
}

// controlPost calls one of the stand-in's control endpoints (POST, no body), which must answer 200.
func controlPost(t *testing.T, u string) {
	t.Helper()
	resp, err := client.Post(u, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", u, resp.StatusCode, b)
	}
}

// postWebhook posts a webhook delivery with token in Authorization and Hash-Token, as plugNmeet
// does, and returns the status.
func postWebhook(t *testing.T, u, token, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", token)
	req.Header.Set("Hash-Token", token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitScrape polls /metrics until it holds the line want.
func waitScrape(t *testing.T, metricsURL, want string, within time.Duration, p *process) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(get(t, metricsURL+"/metrics"), want+"\n") {
		if err := p.exited(); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics did not show %s within %s", want, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// panelExpr is the first query of the dashboard panel titled title.
func panelExpr(t *testing.T, title string) string {
	t.Helper()
	for _, p := range loadDashboard(t).Panels {
		if p.Title == title && len(p.Targets) > 0 {
			return p.Targets[0].Expr
		}
	}
	t.Fatalf("the dashboard has no panel %q", title)
	return ""
}

// --- requests and results -------------------------------------------------------------------

// requestBody is examples/create-room.json with another room_id and the payload marker as title.
func requestBody(t *testing.T, roomID string) []byte {
	t.Helper()
	b, err := os.ReadFile("../examples/create-room.json")
	if err != nil {
		t.Fatal(err)
	}
	var req map[string]any
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	req["room_id"] = roomID
	req["metadata"].(map[string]any)["room_title"] = "Room " + roomID + " " + payloadMarker
	out, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type publisher struct {
	t  *testing.T
	js jetstream.JetStream
}

// send publishes data as a room.create CloudEvent with a fresh id, binary or structured.
func (p publisher) send(data []byte, structured bool) {
	p.t.Helper()
	ev := event.New()
	ev.SetID(uuid.NewString())
	ev.SetSource("deploy-test")
	ev.SetType(events.TypeCreateRoom)
	if err := ev.SetData(event.ApplicationJSON, data); err != nil {
		p.t.Fatal(err)
	}
	encode := events.EncodeBinary
	if structured {
		encode = events.EncodeStructured
	}
	h, body, err := encode(&ev)
	if err != nil {
		p.t.Fatal(err)
	}
	p.raw(h, body)
}

func (p publisher) raw(h nats.Header, body []byte) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.js.PublishMsg(ctx, &nats.Msg{Subject: "rooms.create", Header: h, Data: body}); err != nil {
		p.t.Fatal(err)
	}
}

// waitResults waits until the events stream holds n results.
func waitResults(t *testing.T, js jetstream.JetStream, n uint64, within time.Duration, p *process) {
	t.Helper()
	deadline := time.Now().Add(within)
	var got uint64
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := js.Stream(ctx, "ROOM_EVENTS")
		if err == nil {
			var info *jetstream.StreamInfo
			if info, err = s.Info(ctx); err == nil {
				got = info.State.Msgs
			}
		}
		cancel()
		if got >= n {
			return
		}
		if err := p.exited(); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d results in ROOM_EVENTS after %s, want %d (last error %v)\nworker logs (tail):\n%s",
				got, within, n, err, tail(p.stderr.String(), 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// --- Prometheus HTTP API --------------------------------------------------------------------

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
}

// query runs an instant query; an error means Prometheus refused it (for example a parse error).
func query(promURL, q string) ([]sample, error) {
	resp, err := client.PostForm(promURL+"/api/v1/query", url.Values{"query": {q}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query refused: %s", r.Error)
	}
	if r.Data.ResultType == "scalar" {
		return []sample{{}}, nil
	}
	var res []sample
	if err := json.Unmarshal(r.Data.Result, &res); err != nil {
		return nil, err
	}
	return res, nil
}

func waitQuery(t *testing.T, promURL, q string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		res, err := query(promURL, q)
		if err == nil && len(res) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus: %s returned nothing within %s (err %v)", q, within, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

type promRule struct {
	Name      string `json:"name"`
	Query     string `json:"query"`
	Health    string `json:"health"`
	LastError string `json:"lastError"`
	State     string `json:"state"`
}

// waitAlertState waits until Prometheus reports the alert in state (inactive, pending, firing).
func waitAlertState(t *testing.T, promURL, name, state string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, ok := loadedRules(t, promURL)[name]
		if ok && r.State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("alert %s: state %q after %s, want %q", name, r.State, within, state)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// loadedRules returns the alerting rules Prometheus loaded, by name.
func loadedRules(t *testing.T, promURL string) map[string]promRule {
	t.Helper()
	var r struct {
		Data struct {
			Groups []struct {
				Rules []promRule `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(get(t, promURL+"/api/v1/rules?type=alert")), &r); err != nil {
		t.Fatal(err)
	}
	out := map[string]promRule{}
	for _, g := range r.Data.Groups {
		for _, rule := range g.Rules {
			out[rule.Name] = rule
		}
	}
	return out
}

// --- helpers --------------------------------------------------------------------------------

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tail(s string, n int) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
