{{/* Names and labels shared by every template. */}}
{{- define "pinwarden.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pinwarden.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "pinwarden.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pinwarden.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "pinwarden.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "pinwarden.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "pinwarden.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "pinwarden.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "pinwarden.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "pinwarden.tlsSecretName" -}}
{{- printf "%s-tls" (include "pinwarden.fullname" .) -}}
{{- end -}}

{{/* Namespaces neither webhook is called for: the release namespace (always) and webhooks.excludeNamespaces. */}}
{{- define "pinwarden.excludedNamespaces" -}}
{{- $list := list .Release.Namespace -}}
{{- range .Values.webhooks.excludeNamespaces -}}
{{- if not (has . $list) -}}{{- $list = append $list . -}}{{- end -}}
{{- end -}}
{{- toJson $list -}}
{{- end -}}

{{/* The one matchCondition every webhook has, plus webhooks.matchConditions. */}}
{{- define "pinwarden.matchConditions" -}}
- name: not-being-deleted
  # An object with a deletionTimestamp is only losing finalizers: never block that.
  expression: "!has(object.metadata.deletionTimestamp)"
{{- with .Values.webhooks.matchConditions }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* clientConfig of a webhook: the Service, or webhooks.url for a webhook outside the cluster. Args: (list $ path caBundle). */}}
{{- define "pinwarden.clientConfig" -}}
{{- $root := index . 0 -}}{{- $path := index . 1 -}}{{- $caBundle := index . 2 -}}
{{- if $root.Values.webhooks.url }}
url: {{ printf "%s%s" (trimSuffix "/" $root.Values.webhooks.url) $path | quote }}
{{- else }}
service:
  name: {{ include "pinwarden.fullname" $root }}
  namespace: {{ $root.Release.Namespace }}
  path: {{ $path }}
  port: {{ $root.Values.service.port }}
{{- end }}
{{- if $caBundle }}
caBundle: {{ $caBundle }}
{{- end }}
{{- end -}}

{{/* Namespace of the leader-election Leases: leaderElection.namespace, or the release namespace. */}}
{{- define "pinwarden.leaseNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace -}}
{{- end -}}

{{/* The Leases this release campaigns for (JSON list): the controller's and the audit's, when enabled. */}}
{{- define "pinwarden.leaseNames" -}}
{{- $names := list -}}
{{- if .Values.controller.enabled -}}{{- $names = append $names .Values.controller.leaderElection.leaseName -}}{{- end -}}
{{- if .Values.audit.enabled -}}{{- $names = append $names .Values.audit.leaseName -}}{{- end -}}
{{- toJson $names -}}
{{- end -}}

{{/* Value combinations the schema cannot express; rendering fails with the field to fix. */}}
{{- define "pinwarden.checks" -}}
{{- $elected := or .Values.controller.enabled .Values.audit.enabled -}}
{{- if and $elected (not .Values.leaderElection.enabled) (gt (int .Values.replicaCount) 1) -}}
{{- fail "leaderElection.enabled=false with the controller or the audit needs replicaCount: 1 (every replica would reconcile and audit)" -}}
{{- end -}}
{{- if and $elected .Values.leaderElection.enabled -}}
{{- $le := .Values.leaderElection -}}
{{- if not (and (gt (int $le.leaseDuration) (int $le.renewDeadline)) (gt (int $le.renewDeadline) (int $le.retryPeriod))) -}}
{{- fail (printf "leaderElection: leaseDuration (%v) > renewDeadline (%v) > retryPeriod (%v) is required" $le.leaseDuration $le.renewDeadline $le.retryPeriod) -}}
{{- end -}}
{{- if and .Values.controller.enabled .Values.audit.enabled (eq .Values.controller.leaderElection.leaseName .Values.audit.leaseName) -}}
{{- fail "controller.leaderElection.leaseName and audit.leaseName must differ (each duty has its own Lease)" -}}
{{- end -}}
{{- end -}}
{{- if .Values.controller.enabled -}}
{{- $storage := .Values.controller.storage -}}
{{- $limit := int (trimSuffix "Gi" (trimSuffix "Mi" $storage.sizeLimit)) -}}
{{- if hasSuffix "Gi" $storage.sizeLimit -}}{{- $limit = mul $limit 1024 -}}{{- end -}}
{{- if ge (int $storage.maxSizeMiB) $limit -}}
{{- fail (printf "controller.storage.sizeLimit (%s) must exceed controller.storage.maxSizeMiB (%vMi): an artifact is extracted beside the store, and the kubelet evicts a Pod past its volume limit" $storage.sizeLimit $storage.maxSizeMiB) -}}
{{- end -}}
{{- end -}}
{{- end -}}
