{{/*
The chart's name (nameOverride): the app.kubernetes.io/name label.
*/}}
{{- define "parley.chartName" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The release's prefix for every object's name: fullnameOverride, else the
release's name when it contains the chart's (`parley`, as in the install
guide), else <release>-<chart>. At most 36 characters: a CronJob's name
(<fullname>-integrity-check) must fit in 52.
*/}}
{{- define "parley.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 36 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "parley.chartName" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 36 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 36 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* An object's name, <fullname>-<component>: parley-gateway for the release `parley`. */}}
{{- define "parley.name" -}}
{{ include "parley.fullname" .root }}-{{ .component }}
{{- end -}}

{{/* Labels of every object; `component` says which part of Parley. */}}
{{- define "parley.labels" -}}
app.kubernetes.io/name: {{ include "parley.chartName" .root }}
app.kubernetes.io/part-of: parley
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/component: {{ .component }}
helm.sh/chart: {{ .root.Chart.Name }}-{{ .root.Chart.Version }}
parley.dev/region: {{ .root.Values.region }}
{{- end -}}

{{/* The labels that select a component's pods. */}}
{{- define "parley.selector" -}}
app.kubernetes.io/name: {{ include "parley.chartName" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* A service's image: by digest when image.digests has one for it, else by tag. */}}
{{- define "parley.image" -}}
{{- $digest := get (.root.Values.image.digests | default dict) .component -}}
{{ .root.Values.image.registry }}/parley-{{ .component }}
{{- if $digest }}@{{ $digest }}{{ else }}:{{ .root.Values.image.tag | default .root.Chart.AppVersion }}{{ end }}
{{- end -}}

{{/* Whether this region runs the workloads that write (migrations, backups). */}}
{{- define "parley.writes" -}}
{{- if eq .Values.role "primary" }}true{{ end -}}
{{- end -}}

{{/* The pods' security context: non-root (distroless `nonroot`, uid 65532), default seccomp. */}}
{{- define "parley.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile: { type: RuntimeDefault }
{{- end -}}

{{/* Every container's security context: read-only root, no privilege, no capabilities. */}}
{{- define "parley.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: { drop: [ALL] }
{{- end -}}

{{/* Environment from the Secret, by key; optional keys may be absent. */}}
{{- define "parley.secretEnv" -}}
{{- range .svc.secretEnv }}
- name: {{ . }}
  valueFrom: { secretKeyRef: { name: {{ $.root.Values.secrets.name }}, key: {{ . }} } }
{{- end }}
{{- range .svc.optionalSecretEnv }}
- name: {{ . }}
  valueFrom: { secretKeyRef: { name: {{ $.root.Values.secrets.name }}, key: {{ . }}, optional: true } }
{{- end }}
{{- /* SASL to Kafka, when the Secret has it (docs/operators/managed-services.md). */}}
- name: PARLEY_KAFKA_SASL_PASSWORD
  valueFrom: { secretKeyRef: { name: {{ $.root.Values.secrets.name }}, key: PARLEY_KAFKA_SASL_PASSWORD, optional: true } }
{{- include "parley.caEnv" .root }}
{{- end -}}

{{/*
Private CAs (`tls.caSecret`): the variables naming the files the clients
trust, the mount and the volume. Postgres names its CA in the URLs
(sslrootcert=/etc/parley/ca/<key>).
*/}}
{{- define "parley.caEnv" -}}
{{- with .Values.tls.kafkaCaKey }}
- { name: PARLEY_KAFKA_CA_FILE, value: {{ printf "/etc/parley/ca/%s" . | quote }} }
{{- end }}
{{- with .Values.tls.redisCaKey }}
- { name: PARLEY_REDIS_CA_FILE, value: {{ printf "/etc/parley/ca/%s" . | quote }} }
{{- end }}
{{- end -}}

{{- define "parley.caMount" -}}
{{- if .Values.tls.caSecret }}
- { name: ca, mountPath: /etc/parley/ca, readOnly: true }
{{- end }}
{{- end -}}

{{- define "parley.caVolume" -}}
{{- with .Values.tls.caSecret }}
- name: ca
  # 292 is 0444 (read-only for all): decimal, which every YAML reader agrees on.
  secret: { secretName: {{ . }}, defaultMode: 292 }
{{- end }}
{{- end -}}

{{/*
A pod's scheduling: the service's own nodeSelector, tolerations, affinity and
priorityClassName (`svc`, absent for the chart's other pods), else the chart's.
*/}}
{{- define "parley.scheduling" -}}
{{- $svc := .svc | default dict }}
{{- $v := .root.Values }}
{{- with ($svc.nodeSelector | default $v.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with ($svc.tolerations | default $v.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with ($svc.affinity | default $v.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with ($svc.priorityClassName | default $v.priorityClassName) }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/*
A pod template's labels: the chart's, then podLabels (the service's over the
chart-wide ones). The chart's own labels win: the selectors depend on them.
*/}}
{{- define "parley.podLabels" -}}
{{- $own := include "parley.labels" . | fromYaml }}
{{- include "parley.labels" . }}
{{- range $k, $v := merge (dict) ((.svc | default dict).podLabels | default dict) (.root.Values.podLabels | default dict) }}
{{- if not (hasKey $own $k) }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* podAnnotations for a pod template: the service's over the chart-wide ones (may be empty). */}}
{{- define "parley.podAnnotations" -}}
{{- range $k, $v := merge (dict) ((.svc | default dict).podAnnotations | default dict) (.root.Values.podAnnotations | default dict) }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/* A ServiceAccount's annotations (IRSA, workload identity): the service's over the chart-wide ones. */}}
{{- define "parley.serviceAccountAnnotations" -}}
{{- $own := ((.svc | default dict).serviceAccount | default dict).annotations | default dict }}
{{- with merge (dict) $own (.root.Values.serviceAccount.annotations | default dict) }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The TCP port of a URL: its own, else 443 for https and 80 otherwise. */}}
{{- define "parley.urlPort" -}}
{{- $url := urlParse . -}}
{{- $hostPort := splitList ":" $url.host -}}
{{- if gt (len $hostPort) 1 }}{{ last $hostPort }}{{ else if eq $url.scheme "https" }}443{{ else }}80{{ end -}}
{{- end -}}
