{{/* What `helm install` and `helm upgrade` print (templates/NOTES.txt). */}}
{{- define "parley.notes" -}}
{{- $fullname := include "parley.fullname" . -}}
Parley {{ .Chart.AppVersion }}: region {{ .Values.region }} ({{ .Values.role }}), release {{ .Release.Name }} in namespace {{ .Release.Namespace }}.
{{- if eq .Values.role "standby" }}

Cold standby: every Deployment stays at 0 pods until failover
(docs/runbooks/regional-failover.md: helm upgrade with role=primary).
{{- else }}

Watch the pods come up, then check the gateway answers:
  kubectl -n {{ .Release.Namespace }} get deploy,hpa -l app.kubernetes.io/instance={{ .Release.Name }}
  helm test {{ .Release.Name }} -n {{ .Release.Namespace }}
{{- if .Values.ingress.enabled }}

Widget and status page: https://{{ .Values.ingress.chatHost }}/
Agents' console:        https://{{ .Values.ingress.agentsHost }}/console/
{{- if .Values.services.voice.enabled }}
Twilio webhooks:        https://{{ .Values.ingress.voiceHost }}/v1/voice/
{{- end }}
{{- end }}
{{- end }}

Every secret comes from the Secret {{ .Values.secrets.name }}, which you create
(docs/operators/install.md); the pods do not start without it.
{{- if and (include "parley.writes" .) .Values.backups.enabled (not .Values.backups.storageUrl) }}

WARNING: no backups run. Set backups.storageUrl to a bucket in another region
(s3://bucket/prefix) and give the Secret PARLEY_PG_REPLICATION_URL
(docs/operators/backups-and-failover.md), or set backups.enabled=false.
{{- end }}
{{- if .Values.monitoring.adapterRules }}

The HPAs read custom and external metrics: point prometheus-adapter at the
ConfigMap {{ $fullname }}-prometheus-adapter (rules.existing, in this namespace)
and give it a non-empty rules.external, or hitl's HPA finds no metric.
{{- end }}
{{- if and (or .Values.monitoring.serviceMonitors .Values.monitoring.prometheusRules) (not .Values.monitoring.labels) }}

WARNING: monitoring.labels is empty. kube-prometheus-stack's Prometheus selects
ServiceMonitors and PrometheusRules labelled release=<its release> only; without
it nothing is scraped and the HPAs never scale on their metrics. For example:
  --set monitoring.labels.release=kube-prometheus-stack
{{- end }}
{{- end -}}
