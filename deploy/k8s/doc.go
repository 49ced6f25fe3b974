// Package k8s holds no Go code: its test renders the kustomize overlay in overlays/example with
// kubectl, decodes every object strictly and checks what an operator relies on (probes, grace
// period, security context, secrets as files, autoscaling), and keeps the copies of the alert
// rules (base/prometheusrule.yaml) and the Grafana dashboard (base/dashboards/) equal to their
// sources in deploy/prometheus and deploy/grafana (go test ./deploy/k8s -update rewrites them).
package k8s
