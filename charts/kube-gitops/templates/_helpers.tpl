{{/*
The server's objects have fixed names, not release-derived ones: the APIService and the internal
CRDs exist once per cluster, and the server's own certificate names and every namespace's opt-in
(kubectl gitops init-namespace) expect gitops-apiserver.
*/}}
{{- define "kube-gitops.name" -}}gitops-apiserver{{- end -}}

{{/* Checked because it is written into the admission policy's CEL expression. */}}
{{- define "kube-gitops.serviceAccount" -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" .Values.serviceAccount.name) -}}
{{- fail (printf "serviceAccount.name %q is not a valid ServiceAccount name: use lower-case letters, digits and '-'" .Values.serviceAccount.name) -}}
{{- end -}}
{{ .Values.serviceAccount.name }}
{{- end -}}

{{/* The server's user name, as the admission policy and RBAC subjects see it. */}}
{{- define "kube-gitops.serverUser" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ include "kube-gitops.serviceAccount" . }}
{{- end -}}

{{/* Selector labels: stable across upgrades (a Deployment's selector cannot change). */}}
{{- define "kube-gitops.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kube-gitops.name" . }}
app.kubernetes.io/part-of: kube-gitops
{{- end -}}

{{- define "kube-gitops.labels" -}}
app.kubernetes.io/part-of: kube-gitops
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "kube-gitops.serverLabels" -}}
{{ include "kube-gitops.labels" . }}
app.kubernetes.io/name: {{ include "kube-gitops.name" . }}
{{- end -}}

{{- define "kube-gitops.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* The name the aggregator checks the serving certificate against. */}}
{{- define "kube-gitops.serviceHost" -}}
{{ include "kube-gitops.name" . }}.{{ .Release.Namespace }}.svc
{{- end -}}

{{/*
The container's resources: the memory limit, unless set by hand, is the server's own memory plus
every render worker's budget, since the workers run in the same container.
*/}}
{{- define "kube-gitops.resources" -}}
{{- $resources := deepCopy .Values.resources -}}
{{- $limits := default dict $resources.limits -}}
{{- if not $limits.memory -}}
{{- $_ := set $limits "memory" (printf "%dMi" (add (int .Values.serverMemoryMi) (mul (int .Values.render.workers) (int .Values.render.memoryLimitMi)))) -}}
{{- end -}}
{{- $_ := set $resources "limits" $limits -}}
{{- toYaml $resources -}}
{{- end -}}
