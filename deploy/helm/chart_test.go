package helm

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/roomworker/roomworker/deploy/internal/k8stest"
	"github.com/roomworker/roomworker/worker"
)

var update = flag.Bool("update", false, "rewrite roomworker/files/ from deploy/prometheus/alerts.yml and deploy/grafana/roomworker.json")

const (
	chartDir             = "roomworker"
	release              = "roomworker" // gives the kustomize base's object names
	kustomizeBase        = "../k8s/base"
	alertsFile           = "../prometheus/alerts.yml"
	dashboardFile        = "../grafana/roomworker.json"
	minimalValues        = "testdata/minimal-values.yaml"
	fullValues           = "testdata/full-values.yaml"
	existingSecretValues = "testdata/existing-secret-values.yaml"
	secretsMountPath     = "/etc/roomworker/secrets"
)

// copies are the files Helm needs inside the chart (it cannot read outside it), and their sources.
var copies = []struct{ src, dst string }{
	{alertsFile, chartDir + "/files/alerts.yml"},
	{dashboardFile, chartDir + "/files/roomworker.json"},
}

// The chart's copies of the alert rules and the dashboard are the files they come from.
func TestCopiesMatchSources(t *testing.T) {
	for _, c := range copies {
		want, err := os.ReadFile(c.src)
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.WriteFile(c.dst, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(c.dst)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("deploy/helm/%s differs from deploy/%s: run go test ./deploy/helm -run TestCopiesMatchSources -update",
				c.dst, strings.TrimPrefix(c.src, "../"))
		}
	}
}

func helmBin(t *testing.T) string {
	t.Helper()
	return k8stest.Tool(t, "HELM", "helm", "go install helm.sh/helm/v3/cmd/helm@v3.22.0")
}

// runHelm runs helm with args in this directory.
func runHelm(t *testing.T, args ...string) (stdout []byte, stderr string, err error) {
	t.Helper()
	var errb bytes.Buffer
	cmd := exec.Command(helmBin(t), args...)
	cmd.Stderr = &errb
	start := time.Now()
	out, err := cmd.Output()
	t.Logf("helm %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return out, errb.String(), err
}

// template renders the chart as release roomworker with the given options.
func template(t *testing.T, args ...string) []byte {
	t.Helper()
	return templateAs(t, release, args...)
}

// templateAs renders the chart as the release name.
func templateAs(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, stderr, err := runHelm(t, append([]string{"template", name, chartDir}, args...)...)
	if err != nil {
		t.Fatalf("helm template %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// decodeAll decodes a rendering strictly (k8stest.DecodeAll). Neither the chart nor the kustomize
// base it is compared with renders a Namespace: the release's namespace is helm's --namespace.
func decodeAll(t *testing.T, rendered []byte) k8stest.Objects {
	t.Helper()
	objs := k8stest.DecodeAll(t, rendered)
	if len(objs.Namespaces) > 0 {
		t.Fatalf("unexpected object v1 Namespace %s", objs.Namespaces[0].Metadata.Name)
	}
	return objs
}

// environment is the container's environment: the ConfigMaps it reads (envFrom) and its env.
func environment(t *testing.T, o k8stest.Objects, c k8stest.Container) map[string]k8stest.EnvVar {
	t.Helper()
	env := map[string]k8stest.EnvVar{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			t.Fatalf("envFrom %+v: want a configMapRef", ef)
		}
		for k, v := range o.ConfigMap(t, ef.ConfigMapRef.Name).Data {
			env[k] = k8stest.EnvVar{Name: k, Value: v}
		}
	}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("%s is set twice (ConfigMap and env)", e.Name)
		}
		env[e.Name] = e
	}
	return env
}

// workerSettings are the worker's variables and their defaults ("" for none), from its Config.
func workerSettings(t *testing.T) map[string]string {
	t.Helper()
	settings := map[string]string{}
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			tag, ok := f.Tag.Lookup("env")
			if !ok {
				if f.Type.Kind() == reflect.Struct {
					walk(f.Type)
				}
				continue
			}
			parts := strings.Split(tag, ",")
			def := ""
			for _, p := range parts[1:] {
				if v, ok := strings.CutPrefix(strings.TrimSpace(p), "default="); ok {
					def = v
				}
			}
			settings[strings.TrimSpace(parts[0])] = def
		}
	}
	walk(reflect.TypeFor[worker.Config]())
	if len(settings) < 40 {
		t.Fatalf("found only %d variables in worker.Config", len(settings))
	}
	return settings
}

// setByChart are the worker's variables the chart derives from other values (not in config).
var setByChart = map[string]string{
	"PLUGNMEET_API_SECRET_FILE": "the Secret, as a file",
	"NATS_CREDS":                "the Secret, as a file",
	"METRICS_ADDR":              "metrics.port",
	"WEBHOOK_ADDR":              "webhook.enabled and webhook.port",
}

// neverSet is never an environment value: the secret is a file.
const neverSet = "PLUGNMEET_API_SECRET"

// kubernetesDefaults are the settings whose chart default is the kustomize base's rather than the
// worker's (TestAgreesWithKustomize checks they equal the base's); PLUGNMEET_URL has none.
var kubernetesDefaults = []string{"NATS_URL", "STREAM_REPLICAS", "PLUGNMEET_API_KEY", "PLUGNMEET_URL"}

// envString is a value from a values file as the ConfigMap holds it.
func envString(v any) string {
	switch v := v.(type) {
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

func readYAML(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v
}

// get follows a dotted path of map keys in a values tree.
func get(t *testing.T, v any, dotted string) any {
	t.Helper()
	for _, k := range strings.Split(dotted, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: %T is not a map at %q", dotted, v, k)
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("%s: no key %q", dotted, k)
		}
	}
	return v
}

// Every worker setting has a value (values.yaml config, or one the chart derives), every value is
// a setting, and values.schema.json knows each one.
func TestValuesCoverEveryWorkerSetting(t *testing.T) {
	settings := workerSettings(t)
	config, ok := readYAML(t, chartDir+"/values.yaml")["config"].(map[string]any)
	if !ok {
		t.Fatal("values.yaml has no config map")
	}
	b, err := os.ReadFile(chartDir + "/values.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			Config struct {
				AdditionalProperties *bool          `json:"additionalProperties"`
				Required             []string       `json:"required"`
				Properties           map[string]any `json:"properties"`
			} `json:"config"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	sc := schema.Properties.Config
	if sc.AdditionalProperties == nil || *sc.AdditionalProperties {
		t.Error("values.schema.json: config must refuse unknown keys (additionalProperties: false)")
	}
	for name := range settings {
		_, inValues := config[name]
		_, derived := setByChart[name]
		switch {
		case name == neverSet || derived:
			if inValues {
				t.Errorf("values.yaml config.%s: the chart sets it (or never does); it must not be a value", name)
			}
			if _, ok := sc.Properties[name]; ok {
				t.Errorf("values.schema.json accepts config.%s, which the chart sets (or never does)", name)
			}
		case !inValues:
			t.Errorf("worker setting %s has no value in values.yaml config", name)
		}
	}
	for name := range config {
		if _, ok := settings[name]; !ok {
			t.Errorf("values.yaml config.%s is not a worker setting", name)
		}
	}
	if extra, missing := keyDiff(slices.Collect(maps.Keys(sc.Properties)), config); len(extra)+len(missing) > 0 {
		t.Errorf("values.schema.json config properties: %v not in values.yaml config, %v missing", extra, missing)
	}
	if extra, missing := keyDiff(sc.Required, config); len(extra)+len(missing) > 0 {
		t.Errorf("values.schema.json config requires %v, not in values.yaml config, and not %v", extra, missing)
	}
}

// keyDiff: the names not keys of m, and the keys of m not among names.
func keyDiff(names []string, m map[string]any) (extra, missing []string) {
	for _, n := range names {
		if _, ok := m[n]; !ok {
			extra = append(extra, n)
		}
	}
	for k := range m {
		if !slices.Contains(names, k) {
			missing = append(missing, k)
		}
	}
	slices.Sort(extra)
	slices.Sort(missing)
	return extra, missing
}

func TestLint(t *testing.T) {
	helmBin(t)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"required values", []string{"-f", minimalValues}},
		{"required values strict", []string{"--strict", "-f", minimalValues}},
		{"full values strict", []string{"--strict", "-f", fullValues}},
		{"existing secret strict", []string{"--strict", "-f", existingSecretValues}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, stderr, err := runHelm(t, append([]string{"lint", chartDir}, c.args...)...)
			if err != nil || !bytes.Contains(out, []byte("0 chart(s) failed")) {
				t.Errorf("helm lint %s: %v\n%s%s", strings.Join(c.args, " "), err, out, stderr)
			}
		})
	}
	// The chart's defaults alone lack the two values only the user has.
	t.Run("defaults alone", func(t *testing.T) {
		t.Parallel()
		out, stderr, err := runHelm(t, "lint", "--strict", chartDir)
		msg := string(out) + stderr
		if err == nil || !strings.Contains(msg, "/config/PLUGNMEET_URL") || !strings.Contains(msg, "/secret/plugnmeetApiSecret") {
			t.Errorf("helm lint with the defaults alone: %v, want it to fail on PLUGNMEET_URL and the API secret\n%s", err, msg)
		}
	})
}

// With only the required values: the objects that need nothing but Kubernetes, the worker's
// defaults (or the kustomize base's, for the few in kubernetesDefaults) and the secret as a file.
func TestTemplateRequiredValues(t *testing.T) {
	objs := decodeAll(t, template(t, "-f", minimalValues))
	want := []string{"ConfigMap/roomworker-config", "Deployment/roomworker", "PodDisruptionBudget/roomworker",
		"Secret/roomworker-secrets", "Service/roomworker", "Service/roomworker-webhook", "ServiceAccount/roomworker"}
	if got := objs.IDs(); !slices.Equal(got, want) {
		t.Errorf("objects %v, want %v (no CRD without its toggle)", got, want)
	}
	dep := k8stest.One(t, "Deployment", objs.Deployments)
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 3 {
		t.Errorf("replicas %v, want 3", dep.Spec.Replicas)
	}
	pod := dep.Spec.Template.Spec
	c := k8stest.One(t, "container", pod.Containers)
	if c.Image != "roomworker" || c.ImagePullPolicy != "IfNotPresent" {
		t.Errorf("image %q (%s), want the kustomize base's roomworker (IfNotPresent)", c.Image, c.ImagePullPolicy)
	}
	for _, a := range []string{"checksum/config", "checksum/secret"} {
		if dep.Spec.Template.Metadata.Annotations[a] == "" {
			t.Errorf("pod template has no %s annotation: a changed value would not roll the pods", a)
		}
	}

	settings := workerSettings(t)
	env := environment(t, objs, c)
	for name, e := range env {
		if _, ok := settings[name]; !ok && name != "GOMEMLIMIT" {
			t.Errorf("env %s is not a worker setting", name)
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			t.Errorf("env %s comes from a Secret: secrets are mounted as files", name)
		}
	}
	for name, def := range settings {
		e, set := env[name]
		switch {
		case name == neverSet:
			if set {
				t.Errorf("%s is an environment value; the chart mounts it as a file", name)
			}
		case name == "PLUGNMEET_API_SECRET_FILE":
			if e.Value != secretsMountPath+"/plugnmeet-api-secret" {
				t.Errorf("%s=%q, want %s/plugnmeet-api-secret", name, e.Value, secretsMountPath)
			}
		case name == "NATS_CREDS":
			if set {
				t.Errorf("NATS_CREDS=%q without secret.natsCreds: the file would not exist", e.Value)
			}
		case name == "WEBHOOK_ADDR":
			if e.Value != ":8090" {
				t.Errorf("WEBHOOK_ADDR=%q, want :8090 (webhook.enabled, as in the kustomize base)", e.Value)
			}
		case slices.Contains(kubernetesDefaults, name):
			if !set || e.Value == "" {
				t.Errorf("%s is not set", name)
			}
		case def == "":
			if set {
				t.Errorf("%s=%q; the worker's default is unset", name, e.Value)
			}
		case e.Value != def:
			t.Errorf("%s=%q (set %v), want the worker's default %q", name, e.Value, set, def)
		}
	}

	s := k8stest.One(t, "Secret", objs.Secrets)
	if got := decodeSecret(t, s, "plugnmeet-api-secret"); got != "test-api-secret" {
		t.Errorf("Secret plugnmeet-api-secret = %q, want the value of secret.plugnmeetApiSecret", got)
	}
	if _, ok := s.Data["nats.creds"]; ok || len(s.Data) != 1 {
		t.Errorf("Secret keys %v, want plugnmeet-api-secret alone", slices.Sorted(maps.Keys(s.Data)))
	}
	checkSecretFiles(t, objs, env, s.Metadata.Name, map[string]string{"plugnmeet-api-secret": "plugnmeet-api-secret"})
	checkGracePeriod(t, pod.TerminationGracePeriodSeconds, env)
}

func decodeSecret(t *testing.T, s k8stest.Secret, key string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s.Data[key])
	if err != nil {
		t.Errorf("Secret %s key %s: %v", s.Metadata.Name, key, err)
	}
	return string(b)
}

// checkSecretFiles: the Secret secretName is mounted read-only at /etc/roomworker/secrets with
// exactly the items want (key -> file), and every *_FILE / NATS_CREDS variable names one of them.
func checkSecretFiles(t *testing.T, o k8stest.Objects, env map[string]k8stest.EnvVar, secretName string, want map[string]string) {
	t.Helper()
	dep := k8stest.One(t, "Deployment", o.Deployments)
	c := k8stest.One(t, "container", dep.Spec.Template.Spec.Containers)
	mounted := false
	for _, m := range c.VolumeMounts {
		if m.MountPath != secretsMountPath {
			continue
		}
		if !m.ReadOnly {
			t.Errorf("%s is mounted writable", m.MountPath)
		}
		for _, v := range dep.Spec.Template.Spec.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			mounted = true
			if v.Secret.SecretName != secretName {
				t.Errorf("%s mounts Secret %s, want %s", secretsMountPath, v.Secret.SecretName, secretName)
			}
			got := map[string]string{}
			for _, it := range v.Secret.Items {
				got[it.Key] = it.Path
			}
			if !maps.Equal(got, want) {
				t.Errorf("secret volume items %v, want %v", got, want)
			}
			files := slices.Collect(maps.Values(got))
			for _, name := range []string{"PLUGNMEET_API_SECRET_FILE", "NATS_CREDS"} {
				e, ok := env[name]
				if !ok {
					continue
				}
				if path.Dir(e.Value) != secretsMountPath || !slices.Contains(files, path.Base(e.Value)) {
					t.Errorf("%s=%q is not one of the mounted files %v", name, e.Value, files)
				}
			}
		}
	}
	if !mounted {
		t.Errorf("no Secret volume is mounted at %s", secretsMountPath)
	}
}

// checkGracePeriod: the pod gets longer to stop than the worker's shutdown and one AckWait.
func checkGracePeriod(t *testing.T, seconds int, env map[string]k8stest.EnvVar) {
	t.Helper()
	shutdown, err1 := time.ParseDuration(env["SHUTDOWN_TIMEOUT"].Value)
	timeout, err2 := time.ParseDuration(env["REQUEST_TIMEOUT"].Value)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	grace := time.Duration(seconds) * time.Second
	if grace <= shutdown || grace <= timeout+5*time.Second {
		t.Errorf("terminationGracePeriodSeconds %s must exceed SHUTDOWN_TIMEOUT %s and AckWait %s", grace, shutdown, timeout+5*time.Second)
	}
}

// Every toggle on and every value set: each value reaches the objects.
func TestTemplateFullValues(t *testing.T) {
	vals := readYAML(t, fullValues)
	objs := decodeAll(t, template(t, "-f", fullValues))
	want := []string{"ConfigMap/roomworker-config", "ConfigMap/roomworker-grafana-dashboard", "Deployment/roomworker",
		"PodDisruptionBudget/roomworker", "PrometheusRule/roomworker", "ScaledObject/roomworker", "Secret/roomworker-secrets",
		"Service/roomworker", "Service/roomworker-webhook", "ServiceAccount/roomworker-sa", "ServiceMonitor/roomworker"}
	if got := objs.IDs(); !slices.Equal(got, want) {
		t.Errorf("objects %v, want %v", got, want)
	}
	str := func(p string) string { return envString(get(t, vals, p)) }
	num := func(p string) int {
		n, err := strconv.Atoi(str(p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return n
	}

	// Every setting differs from its default here, so each one below proves it reaches the pod.
	defaults := readYAML(t, chartDir+"/values.yaml")["config"].(map[string]any)
	config := get(t, vals, "config").(map[string]any)
	for name, v := range config {
		if name != "NATS_NKEY" && envString(v) == envString(defaults[name]) { // NATS_NKEY excludes NATS credentials
			t.Errorf("%s: config.%s is its default; set it to another value", fullValues, name)
		}
	}
	dep := k8stest.One(t, "Deployment", objs.Deployments)
	pod := dep.Spec.Template.Spec
	c := k8stest.One(t, "container", pod.Containers)
	env := environment(t, objs, c)
	cm := objs.ConfigMap(t, "roomworker-config")
	wantData := map[string]string{
		"METRICS_ADDR": ":" + str("metrics.port"),
		"WEBHOOK_ADDR": ":" + str("webhook.port"),
	}
	for name, v := range config {
		if s := envString(v); s != "" {
			wantData[name] = s
		}
	}
	if !maps.Equal(cm.Data, wantData) {
		for _, k := range slices.Sorted(maps.Keys(wantData)) {
			if cm.Data[k] != wantData[k] {
				t.Errorf("ConfigMap %s=%q, want %q", k, cm.Data[k], wantData[k])
			}
		}
		for k, v := range cm.Data {
			if _, ok := wantData[k]; !ok {
				t.Errorf("ConfigMap has %s=%q, which no value sets", k, v)
			}
		}
	}
	checkGracePeriod(t, pod.TerminationGracePeriodSeconds, env)

	if dep.Spec.Replicas != nil {
		t.Errorf("replicas %d with keda.enabled: the ScaledObject owns the replica count", *dep.Spec.Replicas)
	}
	if want := str("image.repository") + ":" + str("image.tag"); c.Image != want || c.ImagePullPolicy != str("image.pullPolicy") {
		t.Errorf("image %q (%s), want %q (%s)", c.Image, c.ImagePullPolicy, want, str("image.pullPolicy"))
	}
	if len(pod.ImagePullSecrets) != 1 || pod.ImagePullSecrets[0].Name != "pull-secret" {
		t.Errorf("imagePullSecrets %+v", pod.ImagePullSecrets)
	}
	sa := k8stest.One(t, "ServiceAccount", objs.ServiceAccounts)
	if pod.ServiceAccountName != str("serviceAccount.name") || sa.Metadata.Name != pod.ServiceAccountName ||
		sa.Metadata.Annotations["example.com/role"] != "roomworker" {
		t.Errorf("service account %q, object %+v: want serviceAccount.name with its annotations", pod.ServiceAccountName, sa.Metadata)
	}
	if pod.TerminationGracePeriodSeconds != num("terminationGracePeriodSeconds") {
		t.Errorf("terminationGracePeriodSeconds %d", pod.TerminationGracePeriodSeconds)
	}
	if pod.SecurityContext.RunAsUser != num("podSecurityContext.runAsUser") || pod.SecurityContext.FSGroup != num("podSecurityContext.fsGroup") {
		t.Errorf("pod securityContext %+v, want podSecurityContext", pod.SecurityContext)
	}
	if c.Resources.Limits["cpu"] != str("resources.limits.cpu") || c.Resources.Requests["memory"] != str("resources.requests.memory") {
		t.Errorf("resources %+v, want the values'", c.Resources)
	}
	meta := dep.Spec.Template.Metadata
	if meta.Labels["team"] != "rooms" || meta.Annotations["example.com/scrape"] != "false" {
		t.Errorf("pod labels %v annotations %v: want podLabels and podAnnotations", meta.Labels, meta.Annotations)
	}
	if pod.NodeSelector["kubernetes.io/os"] != "linux" || len(pod.Tolerations) != 1 || pod.Tolerations[0].Key != "dedicated" ||
		pod.Affinity["nodeAffinity"] == nil {
		t.Errorf("nodeSelector %v, tolerations %+v, affinity %v: want the values'", pod.NodeSelector, pod.Tolerations, pod.Affinity)
	}
	extraEnv := map[string]bool{}
	for _, e := range c.Env {
		extraEnv[e.Name] = extraEnv[e.Name] || (e.Name == "OTEL_EXPORTER_OTLP_ENDPOINT" && e.Value == "http://otel-collector.observability:4318") ||
			(e.Name == "OTEL_EXPORTER_OTLP_HEADERS" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil)
	}
	if !extraEnv["OTEL_EXPORTER_OTLP_ENDPOINT"] || !extraEnv["OTEL_EXPORTER_OTLP_HEADERS"] {
		t.Errorf("extraEnv: container env %+v, want the values' OTEL_* variables", c.Env)
	}
	extraMounted := false
	for _, m := range c.VolumeMounts {
		extraMounted = extraMounted || (m.Name == "tls" && m.MountPath == "/etc/roomworker/tls")
	}
	extraVolume := slices.ContainsFunc(pod.Volumes, func(v k8stest.Volume) bool {
		return v.Name == "tls" && v.Secret != nil && v.Secret.SecretName == "roomworker-tls"
	})
	if !extraMounted || !extraVolume {
		t.Errorf("extraVolumes/extraVolumeMounts: volume %v, mount %v", extraVolume, extraMounted)
	}

	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["metrics"] != num("metrics.port") || ports["webhook"] != num("webhook.port") || len(ports) != 2 {
		t.Errorf("container ports %v, want metrics.port and webhook.port", ports)
	}
	services := map[string]k8stest.Service{}
	for _, s := range objs.Services {
		services[s.Metadata.Name] = s
	}
	if s := services["roomworker"]; len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != num("metrics.port") {
		t.Errorf("metrics Service ports %+v, want metrics.port", s.Spec.Ports)
	}
	if s := services["roomworker-webhook"]; len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != num("webhook.port") {
		t.Errorf("webhook Service ports %+v, want webhook.port", s.Spec.Ports)
	}

	s := k8stest.One(t, "Secret", objs.Secrets)
	for key, value := range map[string]string{"plugnmeet-api-secret": str("secret.plugnmeetApiSecret"), "nats.creds": str("secret.natsCreds")} {
		if got := decodeSecret(t, s, key); got != value {
			t.Errorf("Secret %s = %q, want %q", key, got, value)
		}
	}
	if env["NATS_CREDS"].Value != secretsMountPath+"/nats.creds" {
		t.Errorf("NATS_CREDS=%q, want %s/nats.creds", env["NATS_CREDS"].Value, secretsMountPath)
	}
	checkSecretFiles(t, objs, env, s.Metadata.Name, map[string]string{"plugnmeet-api-secret": "plugnmeet-api-secret", "nats.creds": "nats.creds"})

	if pdb := k8stest.One(t, "PodDisruptionBudget", objs.PDBs); fmt.Sprint(pdb.Spec.MaxUnavailable) != str("podDisruptionBudget.maxUnavailable") {
		t.Errorf("PodDisruptionBudget maxUnavailable %v", pdb.Spec.MaxUnavailable)
	}

	sm := k8stest.One(t, "ServiceMonitor", objs.ServiceMonitors)
	if sm.Metadata.Labels["release"] != "prometheus" || len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Interval != str("serviceMonitor.interval") {
		t.Errorf("ServiceMonitor %+v: want serviceMonitor.labels and .interval", sm)
	}
	// The alert rules select job="roomworker": the job is the Service's label app.kubernetes.io/name.
	if sm.Spec.JobLabel != "app.kubernetes.io/name" || services["roomworker"].Metadata.Labels[sm.Spec.JobLabel] != "roomworker" {
		t.Errorf("ServiceMonitor jobLabel %q: want the Service label whose value is the job the alerts select (roomworker)", sm.Spec.JobLabel)
	}
	if !k8stest.Selects(sm.Spec.Selector.MatchLabels, services["roomworker"].Metadata.Labels) ||
		k8stest.Selects(sm.Spec.Selector.MatchLabels, services["roomworker-webhook"].Metadata.Labels) {
		t.Errorf("ServiceMonitor selector %v: want the metrics Service only", sm.Spec.Selector.MatchLabels)
	}

	rule := k8stest.One(t, "PrometheusRule", objs.Rules)
	k8stest.CheckRules(t, rule, alertsFile)
	if rule.Metadata.Labels["release"] != "prometheus" {
		t.Errorf("PrometheusRule labels %v: want prometheusRule.labels", rule.Metadata.Labels)
	}
	dashboard, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	dash := objs.ConfigMap(t, "roomworker-grafana-dashboard")
	if dash.Data["roomworker.json"] != string(dashboard) || len(dash.Data) != 1 {
		t.Errorf("ConfigMap roomworker-grafana-dashboard does not hold %s as it is", dashboardFile)
	}
	if dash.Metadata.Labels["grafana_dashboard"] != "1" || dash.Metadata.Labels["grafana_folder"] != "rooms" {
		t.Errorf("dashboard labels %v: want grafana_dashboard=1 and grafanaDashboard.labels", dash.Metadata.Labels)
	}

	so := k8stest.One(t, "ScaledObject", objs.ScaledObjects)
	sp := so.Spec
	policies := sp.Advanced.HorizontalPodAutoscalerConfig.Behavior.ScaleDown.Policies
	if sp.ScaleTargetRef.Name != dep.Metadata.Name || sp.MinReplicaCount == nil || *sp.MinReplicaCount != num("keda.minReplicaCount") ||
		sp.MaxReplicaCount == nil || *sp.MaxReplicaCount != num("keda.maxReplicaCount") ||
		sp.PollingInterval != num("keda.pollingInterval") || sp.CooldownPeriod != num("keda.cooldownPeriod") ||
		sp.Fallback == nil || sp.Fallback.FailureThreshold != num("keda.fallback.failureThreshold") || sp.Fallback.Replicas != num("keda.fallback.replicas") ||
		sp.Advanced.HorizontalPodAutoscalerConfig.Behavior.ScaleDown.StabilizationWindowSeconds != num("keda.scaleDown.stabilizationWindowSeconds") ||
		len(policies) != 1 || policies[0].Value != num("keda.scaleDown.podsPerPeriod") || policies[0].PeriodSeconds != num("keda.scaleDown.periodSeconds") {
		t.Errorf("ScaledObject spec %+v: want the keda values", sp)
	}
	trig := k8stest.One(t, "ScaledObject trigger", sp.Triggers)
	wantMeta := map[string]string{
		"natsServerMonitoringEndpoint": str("keda.natsServerMonitoringEndpoint"),
		"account":                      str("keda.account"),
		"stream":                       str("config.REQUEST_STREAM"),
		"consumer":                     str("config.CONSUMER"),
		"lagThreshold":                 str("keda.lagThreshold"),
		"activationLagThreshold":       str("keda.activationLagThreshold"),
		"useHttps":                     str("keda.useHttps"),
	}
	if trig.Type != "nats-jetstream" || !maps.Equal(trig.Metadata, wantMeta) {
		t.Errorf("ScaledObject trigger %s %v, want nats-jetstream %v", trig.Type, trig.Metadata, wantMeta)
	}
}

// existingSecret: no Secret is made; the named one is mounted with its own key names.
func TestTemplateExistingSecret(t *testing.T) {
	for _, c := range []struct {
		name  string
		args  []string
		items map[string]string
	}{
		{"with NATS credentials", nil, map[string]string{"api-secret": "plugnmeet-api-secret", "creds": "nats.creds"}},
		{"without NATS credentials", []string{"--set", "existingSecretKeys.natsCreds="}, map[string]string{"api-secret": "plugnmeet-api-secret"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			objs := decodeAll(t, template(t, append([]string{"-f", existingSecretValues}, c.args...)...))
			if len(objs.Secrets) != 0 {
				t.Errorf("%d Secrets rendered with existingSecret", len(objs.Secrets))
			}
			dep := k8stest.One(t, "Deployment", objs.Deployments)
			if a, ok := dep.Spec.Template.Metadata.Annotations["checksum/secret"]; ok {
				t.Errorf("checksum/secret %q of a Secret the chart does not make", a)
			}
			env := environment(t, objs, k8stest.One(t, "container", dep.Spec.Template.Spec.Containers))
			if _, ok := env["NATS_CREDS"]; ok != (len(c.items) == 2) {
				t.Errorf("NATS_CREDS set: %v, want %v", ok, len(c.items) == 2)
			}
			checkSecretFiles(t, objs, env, "external-secrets", c.items)
		})
	}
}

// Another release name prefixes the objects' names but keeps the job the alert rules select; without
// the webhook receiver there is no webhook Service, port or WEBHOOK_ADDR.
func TestTemplateOtherReleaseWithoutWebhook(t *testing.T) {
	objs := decodeAll(t, templateAs(t, "rooms", "-f", minimalValues, "--set", "webhook.enabled=false,serviceMonitor.enabled=true"))
	want := []string{"ConfigMap/rooms-roomworker-config", "Deployment/rooms-roomworker", "PodDisruptionBudget/rooms-roomworker",
		"Secret/rooms-roomworker-secrets", "Service/rooms-roomworker", "ServiceAccount/rooms-roomworker", "ServiceMonitor/rooms-roomworker"}
	if got := objs.IDs(); !slices.Equal(got, want) {
		t.Errorf("objects %v, want %v", got, want)
	}
	dep := k8stest.One(t, "Deployment", objs.Deployments)
	c := k8stest.One(t, "container", dep.Spec.Template.Spec.Containers)
	if env := environment(t, objs, c); env["WEBHOOK_ADDR"].Value != "" {
		t.Errorf("WEBHOOK_ADDR=%q with webhook.enabled=false", env["WEBHOOK_ADDR"].Value)
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "metrics" {
		t.Errorf("container ports %+v, want metrics alone", c.Ports)
	}
	svc := k8stest.One(t, "Service", objs.Services)
	sm := k8stest.One(t, "ServiceMonitor", objs.ServiceMonitors)
	if job := svc.Metadata.Labels[sm.Spec.JobLabel]; job != "roomworker" {
		t.Errorf("Prometheus job %q (label %q of Service %s), want roomworker: the alert rules select it", job, sm.Spec.JobLabel, svc.Metadata.Name)
	}
	if !k8stest.Selects(sm.Spec.Selector.MatchLabels, svc.Metadata.Labels) || !k8stest.Selects(dep.Spec.Selector.MatchLabels, dep.Spec.Template.Metadata.Labels) ||
		dep.Spec.Selector.MatchLabels["app.kubernetes.io/instance"] != "rooms" {
		t.Errorf("selectors: ServiceMonitor %v, Deployment %v: want this release's objects", sm.Spec.Selector.MatchLabels, dep.Spec.Selector.MatchLabels)
	}
}

// Bad values fail at install: values.schema.json, or the chart's checks across values.
func TestBadValuesFail(t *testing.T) {
	helmBin(t)
	for _, c := range []struct {
		name string
		args []string
		want string // in helm's error
	}{
		{"replicas not a number", []string{"--set-string", "replicas=three"}, "'/replicas'"},
		{"unknown log level", []string{"--set", "config.LOG_LEVEL=loud"}, "'/config/LOG_LEVEL'"},
		{"extraEnv overriding the secret's file", []string{"--set", "extraEnv[0].name=PLUGNMEET_API_SECRET_FILE", "--set", "extraEnv[0].value=/tmp/x"}, "'/extraEnv/0/name'"},
		{"unknown log format", []string{"--set", "config.LOG_FORMAT=xml"}, "'/config/LOG_FORMAT'"},
		{"missing secret", []string{"--set", "secret.plugnmeetApiSecret="}, "'/secret/plugnmeetApiSecret'"},
		{"missing plugNmeet URL", []string{"--set", "config.PLUGNMEET_URL="}, "'/config/PLUGNMEET_URL'"},
		{"plugNmeet URL without scheme", []string{"--set", "config.PLUGNMEET_URL=meet.example.com"}, "'/config/PLUGNMEET_URL'"},
		{"unknown setting", []string{"--set", "config.LOGLEVEL=debug"}, "LOGLEVEL"},
		{"secret as a setting", []string{"--set", "config.PLUGNMEET_API_SECRET=s3cret"}, "PLUGNMEET_API_SECRET"},
		{"bad duration", []string{"--set", "config.REQUEST_TIMEOUT=10 seconds"}, "'/config/REQUEST_TIMEOUT'"},
		{"integer as string", []string{"--set-string", "config.CONCURRENCY=64"}, "'/config/CONCURRENCY'"},
		{"concurrency out of range", []string{"--set", "config.CONCURRENCY=0"}, "'/config/CONCURRENCY'"},
		{"stream replicas out of range", []string{"--set", "config.STREAM_REPLICAS=7"}, "'/config/STREAM_REPLICAS'"},
		{"retention", []string{"--set", "config.REQUEST_RETENTION=interest"}, "'/config/REQUEST_RETENTION'"},
		{"subject with a wildcard", []string{"--set", "config.REQUEST_SUBJECT=rooms.*"}, "'/config/REQUEST_SUBJECT'"},
		{"relative CA file", []string{"--set", "config.NATS_CA=ca.crt"}, "'/config/NATS_CA'"},
		{"toggle not a boolean", []string{"--set-string", "keda.enabled=yes"}, "'/keda/enabled'"},
		{"pull policy", []string{"--set", "image.pullPolicy=Sometimes"}, "'/image/pullPolicy'"},
		{"port out of range", []string{"--set", "webhook.port=70000"}, "'/webhook/port'"},
		{"unknown top-level value", []string{"--set", "replica=2"}, "replica"},
		{"label not a string", []string{"--set", "podLabels.tier=1"}, "'/podLabels/tier'"},
		{"ack pending below concurrency", []string{"--set", "config.MAX_ACK_PENDING=32"}, "config.MAX_ACK_PENDING (32) must not be less than config.CONCURRENCY (64)"},
		{"max deliver not above max attempts", []string{"--set", "config.MAX_DELIVER=10"}, "config.MAX_DELIVER must be -1"},
		{"existing secret and secret", []string{"--set", "existingSecret=mine"}, "existingSecret and secret.plugnmeetApiSecret are both set"},
		{"nkey and credentials", []string{"--set", "secret.natsCreds=creds", "--set", "config.NATS_NKEY=/etc/nkey/seed"}, "config.NATS_NKEY and NATS credentials"},
		{"cert without key", []string{"--set", "config.NATS_CERT=/etc/tls/tls.crt"}, "config.NATS_CERT and config.NATS_KEY"},
		{"same port twice", []string{"--set", "webhook.port=9090"}, "webhook.port and metrics.port must differ"},
		{"keda max below min", []string{"--set", "keda.enabled=true", "--set", "keda.maxReplicaCount=2"}, "keda.maxReplicaCount must not be less than keda.minReplicaCount"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"template", release, chartDir, "-f", minimalValues}, c.args...)
			_, stderr, err := runHelm(t, args...)
			if err == nil {
				t.Fatalf("helm template with %v succeeded; want it refused", c.args)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("helm template with %v failed without naming %q:\n%s", c.args, c.want, stderr)
			}
		})
	}
}

// standardLabels are the labels Helm adds to the kustomize base's. Selectors add the instance alone.
var standardLabels = []string{"app.kubernetes.io/instance", "helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"}

// The chart renders what the kustomize base does, field by field, except where Helm differs on
// purpose: its standard labels (and the release in selectors), the config ConfigMap's name
// (kustomize adds a hash; the chart rolls the pods with checksum annotations instead), a Deployment
// without replicas under KEDA, the secret volume's items (existingSecret's key names), the
// ServiceMonitor's jobLabel, and the Secret itself (the base leaves it to overlays). The
// environment is compared as the container sees it: every variable of the base with its value,
// and any other one of the chart at the worker's default.
func TestAgreesWithKustomize(t *testing.T) {
	kust := decodeAll(t, k8stest.Kustomize(t, kustomizeBase))
	kdep := k8stest.One(t, "kustomize Deployment", kust.Deployments)
	kc := k8stest.One(t, "kustomize container", kdep.Spec.Template.Spec.Containers)
	kcfg := k8stest.One(t, "kustomize envFrom", kc.EnvFrom).ConfigMapRef.Name
	kenv := environment(t, kust, kc)

	// The values the base leaves to overlays: the plugNmeet address and the two secret files.
	// Every toggle on, as the base has every object.
	helm := decodeAll(t, template(t,
		"--set-string", "config.PLUGNMEET_URL="+kust.ConfigMap(t, kcfg).Data["PLUGNMEET_URL"],
		"--set-string", "secret.plugnmeetApiSecret=api-secret",
		"--set-string", "secret.natsCreds=creds",
		"--set", "serviceMonitor.enabled=true,prometheusRule.enabled=true,grafanaDashboard.enabled=true,keda.enabled=true",
	))
	hdep := k8stest.One(t, "Deployment", helm.Deployments)
	hc := k8stest.One(t, "container", hdep.Spec.Template.Spec.Containers)
	hcfg := k8stest.One(t, "envFrom", hc.EnvFrom).ConfigMapRef.Name
	henv := environment(t, helm, hc)

	// The same objects, but for the Secret and the config ConfigMap's name.
	kdocs, hdocs := map[string]k8stest.Document{}, map[string]k8stest.Document{}
	for _, d := range kust.Docs {
		if d.Kind == "ConfigMap" && d.Name == kcfg {
			continue
		}
		kdocs[d.ID()] = d
	}
	for _, d := range helm.Docs {
		if (d.Kind == "ConfigMap" && d.Name == hcfg) || (d.Kind == "Secret" && d.Name == "roomworker-secrets") {
			continue
		}
		hdocs[d.ID()] = d
	}
	if k, h := slices.Sorted(maps.Keys(kdocs)), slices.Sorted(maps.Keys(hdocs)); !slices.Equal(k, h) {
		t.Errorf("objects differ besides the config ConfigMap and the Secret:\nkustomize %v\nhelm      %v", k, h)
	}

	// Environment: names and values as the container sees them.
	settings := workerSettings(t)
	for _, name := range slices.Sorted(maps.Keys(kenv)) {
		if h, ok := henv[name]; !ok {
			t.Errorf("env %s: kustomize %+v, helm unset", name, kenv[name])
		} else if !reflect.DeepEqual(h, kenv[name]) {
			t.Errorf("env %s: kustomize %s, helm %s", name, show(kenv[name]), show(h))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(henv)) {
		if _, ok := kenv[name]; ok {
			continue
		}
		def, ok := settings[name]
		if e := henv[name]; !ok || e.ValueFrom != nil || e.Value != def {
			t.Errorf("env %s=%s only in helm: want a worker setting at its default (%q)", name, show(e), def)
		}
	}
	for _, name := range kubernetesDefaults {
		if _, ok := kenv[name]; !ok {
			t.Errorf("%s is in kubernetesDefaults but the kustomize base does not set it", name)
		}
	}

	// Every other field, object by object.
	values := readYAML(t, chartDir+"/values.yaml")
	for _, id := range slices.Sorted(maps.Keys(kdocs)) {
		h, ok := hdocs[id]
		if !ok {
			continue
		}
		k := kdocs[id]
		normalize(t, id, h.Tree, true)
		normalize(t, id, k.Tree, false)
		if k.Kind == "Deployment" {
			// Under KEDA the chart leaves the replica count to the ScaledObject; without, it is replicas.
			spec := k.Tree["spec"].(map[string]any)
			if fmt.Sprint(spec["replicas"]) != envString(values["replicas"]) {
				t.Errorf("Deployment replicas: kustomize %v, values.yaml %v", spec["replicas"], values["replicas"])
			}
			delete(spec, "replicas")
		}
		var diffs []string
		diff("", k.Tree, h.Tree, &diffs)
		for _, d := range diffs {
			t.Errorf("%s: %s", id, d)
		}
	}
}

func show(e k8stest.EnvVar) string {
	if e.ValueFrom != nil {
		b, _ := json.Marshal(e.ValueFrom)
		return "valueFrom " + string(b)
	}
	return strconv.Quote(e.Value)
}

// normalize removes from an object's tree what differs between Helm and kustomize on purpose,
// after checking it: Helm's standard labels, the release in selectors, the checksum annotations,
// the secret volume's items, the ServiceMonitor's jobLabel. The environment and the config
// ConfigMap's name go from both (the environment is compared as the container sees it).
func normalize(t *testing.T, id string, obj map[string]any, isHelm bool) {
	t.Helper()
	m := func(v any, keys ...string) map[string]any {
		for _, k := range keys {
			mm, _ := v.(map[string]any)
			v = mm[k]
		}
		mm, _ := v.(map[string]any)
		return mm
	}
	labels := func(where string, l map[string]any) {
		if !isHelm {
			return
		}
		if l["app.kubernetes.io/instance"] != release || l["app.kubernetes.io/managed-by"] != "Helm" || l["helm.sh/chart"] == nil {
			t.Errorf("%s: %s %v lack Helm's standard labels", id, where, l)
		}
		for _, k := range standardLabels {
			delete(l, k)
		}
	}
	selector := func(where string, s map[string]any) {
		if !isHelm {
			return
		}
		if s["app.kubernetes.io/instance"] != release {
			t.Errorf("%s: %s %v does not select the release", id, where, s)
		}
		delete(s, "app.kubernetes.io/instance")
	}
	labels("labels", m(obj, "metadata", "labels"))
	spec := m(obj, "spec")
	switch kind, _, _ := strings.Cut(id, "/"); kind {
	case "Service":
		selector("selector", m(spec, "selector"))
	case "PodDisruptionBudget":
		selector("selector", m(spec, "selector", "matchLabels"))
	case "ServiceMonitor":
		selector("selector", m(spec, "selector", "matchLabels"))
		if isHelm {
			if spec["jobLabel"] != "app.kubernetes.io/name" {
				t.Errorf("%s: jobLabel %v, want app.kubernetes.io/name", id, spec["jobLabel"])
			}
			delete(spec, "jobLabel")
		}
	case "Deployment":
		selector("selector", m(spec, "selector", "matchLabels"))
		tmeta := m(spec, "template", "metadata")
		labels("pod labels", m(tmeta, "labels"))
		if isHelm {
			ann := m(tmeta, "annotations")
			for _, a := range []string{"checksum/config", "checksum/secret"} {
				if ann[a] == nil {
					t.Errorf("%s: no %s annotation", id, a)
				}
				delete(ann, a)
			}
			if len(ann) == 0 {
				delete(tmeta, "annotations")
			}
		}
		pod := m(spec, "template", "spec")
		for _, tsc := range pod["topologySpreadConstraints"].([]any) {
			selector("topologySpreadConstraints selector", m(tsc, "labelSelector", "matchLabels"))
		}
		for _, c := range pod["containers"].([]any) {
			c := c.(map[string]any)
			delete(c, "env")
			for _, ef := range c["envFrom"].([]any) {
				m(ef, "configMapRef")["name"] = "(config)"
			}
		}
		if isHelm {
			for _, v := range pod["volumes"].([]any) {
				if s := m(v, "secret"); s != nil {
					delete(s, "items") // checked by checkSecretFiles
				}
			}
		}
	}
}

// diff lists every difference between the kustomize tree k and the Helm tree h.
func diff(at string, k, h any, out *[]string) {
	switch kv := k.(type) {
	case map[string]any:
		hv, ok := h.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: kustomize %v, helm %v", at, k, h))
			return
		}
		for _, key := range slices.Sorted(maps.Keys(kv)) {
			if _, ok := hv[key]; !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: kustomize %v, helm unset", at, key, kv[key]))
				continue
			}
			diff(at+"."+key, kv[key], hv[key], out)
		}
		for _, key := range slices.Sorted(maps.Keys(hv)) {
			if _, ok := kv[key]; !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: kustomize unset, helm %v", at, key, hv[key]))
			}
		}
	case []any:
		hv, ok := h.([]any)
		if !ok || len(hv) != len(kv) {
			*out = append(*out, fmt.Sprintf("%s: kustomize %v, helm %v", at, k, h))
			return
		}
		for i := range kv {
			diff(fmt.Sprintf("%s[%d]", at, i), kv[i], hv[i], out)
		}
	default:
		if !reflect.DeepEqual(k, h) {
			*out = append(*out, fmt.Sprintf("%s: kustomize %#v, helm %#v", at, k, h))
		}
	}
}
