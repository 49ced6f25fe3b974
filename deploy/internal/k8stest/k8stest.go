// Package k8stest holds test helpers for the manifest tests (deploy/k8s and deploy/helm): the
// lookup of the tools that render the manifests (kubectl, helm), the rendering of a kustomize
// directory, the strict decoding of a rendering into the types of types.go, and the checks both
// tests make of what they render.
package k8stest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// Tool finds the command name for a test: $envVar names another binary. Without it the test
// skips, or fails with CI=true; install says how to get it.
func Tool(t testing.TB, envVar, name, install string) string {
	t.Helper()
	if v := os.Getenv(envVar); v != "" {
		name = v
	}
	p, err := exec.LookPath(name)
	if err != nil {
		msg := fmt.Sprintf("%s not found: %s (or name it with $%s)", name, install, envVar)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// Kustomize renders the kustomization in dir with kubectl kustomize ($KUBECTL names another
// kubectl; see Tool).
func Kustomize(t testing.TB, dir string) []byte {
	t.Helper()
	kubectl := Tool(t, "KUBECTL", "kubectl", "install it (Debian: apt-get install kubernetes-client)")
	var stderr bytes.Buffer
	cmd := exec.Command(kubectl, "kustomize", dir)
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
	}
	t.Logf("kubectl kustomize %s: %d bytes in %s", dir, len(out), time.Since(start).Round(time.Millisecond))
	return out
}

// Document is one rendered object: its kind and name, and its content as a tree.
type Document struct {
	Kind, Name string
	Tree       map[string]any
}

// ID is the document's kind/name.
func (d Document) ID() string { return d.Kind + "/" + d.Name }

// Objects is a rendering, decoded: every document as a tree, and as the type of its kind.
type Objects struct {
	Docs            []Document
	Namespaces      []Namespace
	ServiceAccounts []ServiceAccount
	ConfigMaps      []ConfigMap
	Secrets         []Secret
	Services        []Service
	Deployments     []Deployment
	PDBs            []PodDisruptionBudget
	ServiceMonitors []ServiceMonitor
	Rules           []PrometheusRule
	ScaledObjects   []ScaledObject
}

// DecodeAll decodes every document of a rendering strictly into the type of its kind; any other
// kind fails the test. A document of comments only is skipped.
func DecodeAll(t testing.TB, rendered []byte) Objects {
	t.Helper()
	var objs Objects
	dec := yaml.NewDecoder(bytes.NewReader(rendered))
	for i := 0; ; i++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if len(node.Content) == 0 || node.Content[0].Kind == 0 {
			continue // a document of comments only
		}
		var h Header
		if err := node.Decode(&h); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var tree map[string]any
		if err := node.Decode(&tree); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		objs.Docs = append(objs.Docs, Document{Kind: h.Kind, Name: h.Metadata.Name, Tree: tree})
		var err2 error
		switch gk := h.APIVersion + " " + h.Kind; gk {
		case "v1 Namespace":
			objs.Namespaces, err2 = decodeInto(&node, objs.Namespaces)
		case "v1 ServiceAccount":
			objs.ServiceAccounts, err2 = decodeInto(&node, objs.ServiceAccounts)
		case "v1 ConfigMap":
			objs.ConfigMaps, err2 = decodeInto(&node, objs.ConfigMaps)
		case "v1 Secret":
			objs.Secrets, err2 = decodeInto(&node, objs.Secrets)
		case "v1 Service":
			objs.Services, err2 = decodeInto(&node, objs.Services)
		case "apps/v1 Deployment":
			objs.Deployments, err2 = decodeInto(&node, objs.Deployments)
		case "policy/v1 PodDisruptionBudget":
			objs.PDBs, err2 = decodeInto(&node, objs.PDBs)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			objs.ServiceMonitors, err2 = decodeInto(&node, objs.ServiceMonitors)
		case "monitoring.coreos.com/v1 PrometheusRule":
			objs.Rules, err2 = decodeInto(&node, objs.Rules)
		case "keda.sh/v1alpha1 ScaledObject":
			objs.ScaledObjects, err2 = decodeInto(&node, objs.ScaledObjects)
		default:
			t.Fatalf("document %d: unexpected object %s", i, gk)
		}
		if err2 != nil {
			t.Fatalf("document %d (%s %s): %v", i, h.APIVersion, h.Kind, err2)
		}
	}
	return objs
}

// decodeInto decodes node strictly (unknown fields are errors) and appends it to list.
func decodeInto[T any](node *yaml.Node, list []T) ([]T, error) {
	var buf bytes.Buffer
	if err := yaml.NewEncoder(&buf).Encode(node); err != nil {
		return list, err
	}
	var v T
	if err := decodeStrict(&buf, &v); err != nil {
		return list, err
	}
	return append(list, v), nil
}

// decodeStrict decodes one YAML document from r into v; a field v does not know is an error.
func decodeStrict(r io.Reader, v any) error {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	return dec.Decode(v)
}

// IDs are the documents' kind/name, sorted.
func (o Objects) IDs() []string {
	var ids []string
	for _, d := range o.Docs {
		ids = append(ids, d.ID())
	}
	slices.Sort(ids)
	return ids
}

// ConfigMap returns the ConfigMap name; there being none fails the test.
func (o Objects) ConfigMap(t testing.TB, name string) ConfigMap {
	t.Helper()
	for _, cm := range o.ConfigMaps {
		if cm.Metadata.Name == name {
			return cm
		}
	}
	t.Fatalf("no ConfigMap %s", name)
	return ConfigMap{}
}

// One returns the only element of list; any other number of them (of kind) fails the test.
func One[T any](t testing.TB, kind string, list []T) T {
	t.Helper()
	if len(list) != 1 {
		t.Fatalf("want exactly one %s, got %d", kind, len(list))
	}
	return list[0]
}

// Selects reports whether the selector selects the labels: it is not empty, and each of its
// labels is among them.
func Selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// CheckRules checks that the rendered PrometheusRule holds the groups of the Prometheus rule
// file alertsFile (decoded strictly), and that there are some.
func CheckRules(t testing.TB, rule PrometheusRule, alertsFile string) {
	t.Helper()
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var want RuleGroups
	if err := decodeStrict(bytes.NewReader(b), &want); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	if len(want.Groups) == 0 || !reflect.DeepEqual(rule.Spec, want) {
		t.Errorf("the PrometheusRule's groups differ from %s", alertsFile)
	}
}
