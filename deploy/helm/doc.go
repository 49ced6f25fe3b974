// Package helm holds no Go code: its test checks the Helm chart in roomworker/ with the helm
// binary ($HELM, else helm on PATH). It lints the chart, renders it with the least values an
// install needs, with every value set (testdata/full-values.yaml) and with an existing Secret,
// decodes every object strictly, shows that values.schema.json and the chart's own checks refuse
// bad values, compares the rendering field by field with the kustomize base (deploy/k8s/base,
// rendered by kubectl) and keeps the chart's copies of the alert rules and the Grafana dashboard
// (roomworker/files/) equal to deploy/prometheus/alerts.yml and deploy/grafana/roomworker.json
// (go test ./deploy/helm -run TestCopiesMatchSources -update rewrites them).
//
// Without helm (or kubectl, for the comparison) the tests that need it skip, except under
// CI=true, where that is a failure.
package helm
