{{/* The chart's name for every object: parley-<component>. */}}
{{- define "parley.name" -}}
parley-{{ . }}
{{- end -}}

{{/* Labels of every object; `component` says which part of Parley. */}}
{{- define "parley.labels" -}}
app.kubernetes.io/name: parley
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
app.kubernetes.io/name: parley
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* A service's image. */}}
{{- define "parley.image" -}}
{{ .root.Values.image.registry }}/parley-{{ .component }}:{{ .root.Values.image.tag | default .root.Chart.AppVersion }}
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
{{- end -}}
