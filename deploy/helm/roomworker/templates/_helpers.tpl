{{/* The chart's name, or nameOverride: the label app.kubernetes.io/name. */}}
{{- define "roomworker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The objects' name: fullnameOverride, else the release name when it contains the chart's name,
else <release>-<name>. Truncated to leave room for the "-webhook", "-config" and "-secrets" suffixes.
*/}}
{{- define "roomworker.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 55 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 55 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 55 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "roomworker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* What selects the pods: the kustomize base's app.kubernetes.io/name, and the release. */}}
{{- define "roomworker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "roomworker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Every object's labels: the selector labels and Helm's standard ones. */}}
{{- define "roomworker.labels" -}}
{{ include "roomworker.selectorLabels" . }}
helm.sh/chart: {{ include "roomworker.chart" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "roomworker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "roomworker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret mounted at /etc/roomworker/secrets. */}}
{{- define "roomworker.secretName" -}}
{{- if .Values.existingSecret }}
{{- .Values.existingSecret }}
{{- else }}
{{- printf "%s-secrets" (include "roomworker.fullname" .) }}
{{- end }}
{{- end }}

{{/* The Secret's key holding the NATS credentials, or "" when there are none. */}}
{{- define "roomworker.natsCredsKey" -}}
{{- if .Values.existingSecret }}
{{- .Values.existingSecretKeys.natsCreds }}
{{- else if .Values.secret.natsCreds }}
{{- "nats.creds" }}
{{- end }}
{{- end }}

{{/* The Secret's key holding the plugNmeet API secret. */}}
{{- define "roomworker.apiSecretKey" -}}
{{- if .Values.existingSecret }}
{{- .Values.existingSecretKeys.plugnmeetApiSecret }}
{{- else }}
{{- "plugnmeet-api-secret" }}
{{- end }}
{{- end }}

{{- define "roomworker.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if $tag }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- else }}
{{- .Values.image.repository }}
{{- end }}
{{- end }}

{{/* One configuration value as an environment string: numbers without an exponent. */}}
{{- define "roomworker.envValue" -}}
{{- if or (kindIs "float64" .) (kindIs "int64" .) (kindIs "int" .) }}
{{- printf "%d" (int64 .) }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{/*
Checks across values that values.schema.json cannot express; each fails the install with the
value at fault, as the worker would at start-up.
*/}}
{{- define "roomworker.validate" -}}
{{- $c := .Values.config }}
{{- if and .Values.existingSecret .Values.secret.plugnmeetApiSecret }}
{{- fail "existingSecret and secret.plugnmeetApiSecret are both set: keep one" }}
{{- end }}
{{- if and .Values.existingSecret .Values.secret.natsCreds }}
{{- fail "existingSecret and secret.natsCreds are both set: put the credentials in the existing Secret (existingSecretKeys.natsCreds)" }}
{{- end }}
{{- if and (include "roomworker.natsCredsKey" .) $c.NATS_NKEY }}
{{- fail "config.NATS_NKEY and NATS credentials (secret.natsCreds or existingSecretKeys.natsCreds) are both set: keep one" }}
{{- end }}
{{- if ne (empty $c.NATS_CERT) (empty $c.NATS_KEY) }}
{{- fail "config.NATS_CERT and config.NATS_KEY must be set together" }}
{{- end }}
{{- if lt (int64 $c.MAX_ACK_PENDING) (int64 $c.CONCURRENCY) }}
{{- fail (printf "config.MAX_ACK_PENDING (%d) must not be less than config.CONCURRENCY (%d)" (int64 $c.MAX_ACK_PENDING) (int64 $c.CONCURRENCY)) }}
{{- end }}
{{- if and (ne (int64 $c.MAX_DELIVER) -1) (le (int64 $c.MAX_DELIVER) (int64 $c.MAX_ATTEMPTS)) }}
{{- fail (printf "config.MAX_DELIVER must be -1 (unlimited) or greater than config.MAX_ATTEMPTS (%d), got %d" (int64 $c.MAX_ATTEMPTS) (int64 $c.MAX_DELIVER)) }}
{{- end }}
{{- if and .Values.webhook.enabled (eq (int64 .Values.webhook.port) (int64 .Values.metrics.port)) }}
{{- fail "webhook.port and metrics.port must differ" }}
{{- end }}
{{- if and .Values.keda.enabled (lt (int64 .Values.keda.maxReplicaCount) (int64 .Values.keda.minReplicaCount)) }}
{{- fail "keda.maxReplicaCount must not be less than keda.minReplicaCount" }}
{{- end }}
{{- end }}
