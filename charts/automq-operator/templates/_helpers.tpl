{{- define "automq-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "automq-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "automq-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "automq-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "automq-operator.labels" -}}
{{ include "automq-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: automq
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "automq-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "automq-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The operator's permissions on the resources it manages (least privilege). */}}
{{- define "automq-operator.rules" -}}
- apiGroups: [automq.io]
  resources: [automqclusters, tabletopics]
  verbs: [get, list, watch, patch, update]
- apiGroups: [automq.io]
  resources: [automqclusters/status, tabletopics/status]
  verbs: [get, patch, update]
- apiGroups: [automq.io]
  # owner references with blockOwnerDeletion need update on the owner's finalizers
  resources: [automqclusters/finalizers, tabletopics/finalizers]
  verbs: [update]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [""]
  resources: [services, configmaps, serviceaccounts]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [coordination.k8s.io]
  # the brokers' Role grants these; Kubernetes only lets the operator grant what it holds
  resources: [leases]
  verbs: [get, list, watch, create, update, patch]
{{- end -}}
