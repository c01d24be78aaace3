{{/* Names */}}
{{- define "mail-worker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mail-worker.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "<fullname>-<component>", for the parts of the release. */}}
{{- define "mail-worker.componentName" -}}
{{- printf "%s-%s" (include "mail-worker.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels: every object gets these; selectors use name + instance + component only. */}}
{{- define "mail-worker.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "mail-worker.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: mail-worker
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- /* The user's labels, but never one of the chart's own (a key twice is invalid YAML). */}}
{{- with omit .root.Values.commonLabels "helm.sh/chart" "app.kubernetes.io/name" "app.kubernetes.io/instance" "app.kubernetes.io/component" "app.kubernetes.io/version" "app.kubernetes.io/part-of" "app.kubernetes.io/managed-by" }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "mail-worker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mail-worker.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "mail-worker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mail-worker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "mail-worker.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The chart's Secrets (secret.yaml): credentials given as values, and what the chart generates. */}}
{{- define "mail-worker.secretName" -}}
{{- include "mail-worker.componentName" (dict "root" . "component" "credentials") }}
{{- end }}

{{- define "mail-worker.generatedSecretName" -}}
{{- include "mail-worker.componentName" (dict "root" . "component" "generated") }}
{{- end }}

{{/* The Secret holding DATABASE_URL: the user's, the generated one (in-chart PostgreSQL) or the chart's credentials. */}}
{{- define "mail-worker.databaseSecretName" -}}
{{- if .Values.postgresql.enabled }}
{{- include "mail-worker.generatedSecretName" . }}
{{- else }}
{{- .Values.postgresql.external.existingSecret | default (include "mail-worker.secretName" .) }}
{{- end }}
{{- end }}

{{- define "mail-worker.databaseSecretKey" -}}
{{- if .Values.postgresql.enabled }}DATABASE_URL{{ else }}{{ include "mail-worker.secretKey" (dict "values" .Values.postgresql.external "key" "url" "name" "DATABASE_URL") }}{{ end }}
{{- end }}

{{/*
A generated secret value that survives upgrades: the value stored under the
same key of the release's live Secret, or .new (a random string of 32 when
not given) when there is no such Secret yet. A live Secret without the key
stops the upgrade: a database or Unleash still expects the value it lost,
and a new one would lock the app out without a word.
*/}}
{{- define "mail-worker.persistentSecret" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret }}
{{- if not $existing }}
{{- .new | default (randAlphaNum 32) }}
{{- else if index ($existing.data | default dict) .key }}
{{- index $existing.data .key | b64dec }}
{{- else }}
{{- fail (printf "Secret %s/%s exists but has no key %s, which the chart generated at install and the release still needs. Put the value back (kubectl -n %s edit secret %s), or delete the Secret together with the data that uses it (the database's volume) to start afresh." .root.Release.Namespace .secret .key .root.Release.Namespace .secret) }}
{{- end }}
{{- end }}

{{/* Percent-encodes a URL part (user, password, database): urlquery writes spaces as "+", which a URL's user info would keep. */}}
{{- define "mail-worker.urlEscape" -}}
{{- urlquery . | replace "+" "%20" }}
{{- end }}

{{/*
Argo CD sync waves. Argo CD applies a wave only when every earlier one is
healthy, so everything a pod reads must come in a wave before the pod:
  -3  the Secrets, the ConfigMap and the ServiceAccount (what pods read)
  -2  PostgreSQL, Redis and Mailpit (what the app talks to)
  -1  Unleash, and the migrate hook
   0  web, worker and everything else
Helm applies all but hooks at once; its hooks are ordered in migrate-job.yaml.
*/}}
{{- define "mail-worker.configSyncWave" -}}
argocd.argoproj.io/sync-wave: "-3"
{{- end }}

{{/* Web pods are a Rollout or a Deployment: what the HPA and docs point at. */}}
{{- define "mail-worker.webWorkloadKind" -}}
{{- if .Values.rollout.enabled }}Rollout{{ else }}Deployment{{ end }}
{{- end }}

{{- define "mail-worker.webWorkloadApiVersion" -}}
{{- if .Values.rollout.enabled }}argoproj.io/v1alpha1{{ else }}apps/v1{{ end }}
{{- end }}

{{/* Security context for every container. */}}
{{- define "mail-worker.containerSecurityContext" -}}
{{- toYaml .Values.securityContext }}
{{- end }}

{{/*
Environment of the app's containers: plain settings from the ConfigMap,
credentials from Secrets (the chart's own, or the ones named by
existingSecret values). Secret values never land in the ConfigMap.
*/}}
{{- define "mail-worker.appEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- /* In the pod template, not the shared ConfigMap: a pod a ReplicaSet starts
  after a rollback or abort must say the version its image is, not the last
  one Helm wrote. */}}
- name: APP_VERSION
  value: {{ default .Chart.AppVersion .Values.image.tag | quote }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "mail-worker.databaseSecretName" . }}
      key: {{ include "mail-worker.databaseSecretKey" . }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.external.existingSecret | default (include "mail-worker.secretName" .) }}
      key: {{ include "mail-worker.secretKey" (dict "values" .Values.redis.external "key" "url" "name" "REDIS_URL") }}
{{- if and (not .Values.mailcatcher.enabled) (or .Values.smtp.user .Values.smtp.existingSecret) }}
{{- range $key, $name := dict "user" "SMTP_USER" "password" "SMTP_PASSWORD" }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.smtp.existingSecret | default (include "mail-worker.secretName" $) }}
      key: {{ include "mail-worker.secretKey" (dict "values" $.Values.smtp "key" $key "name" $name) }}
{{- end }}
{{- end }}
{{- if or .Values.unleash.enabled .Values.unleash.external.url }}
- name: UNLEASH_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "mail-worker.unleashSecretName" . }}
      key: {{ include "mail-worker.secretKey" (dict "values" (ternary .Values.unleash .Values.unleash.external .Values.unleash.enabled) "key" "apiToken" "name" "UNLEASH_API_TOKEN") }}
{{- end }}
{{- if or .Values.admin.user .Values.admin.existingSecret }}
{{- range $key, $name := dict "user" "ADMIN_USER" "password" "ADMIN_PASSWORD" }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.admin.existingSecret | default (include "mail-worker.secretName" $) }}
      key: {{ include "mail-worker.secretKey" (dict "values" $.Values.admin "key" $key "name" $name) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The key a credential has in the Secret that holds it: with an
existingSecret, the one its secretKeys name (Bitnami's convention, for a
Secret made by another tool); in the chart's own Secrets, the chart's name,
which is also secretKeys' default. Takes values (the block holding
existingSecret and secretKeys), key (in secretKeys) and name (the chart's).
*/}}
{{- define "mail-worker.secretKey" -}}
{{- if .values.existingSecret }}{{ index .values.secretKeys .key }}{{ else }}{{ .name }}{{ end }}
{{- end }}

{{- define "mail-worker.unleashSecretName" -}}
{{- if .Values.unleash.enabled }}
{{- .Values.unleash.existingSecret | default (include "mail-worker.componentName" (dict "root" . "component" "unleash")) }}
{{- else }}
{{- .Values.unleash.external.existingSecret }}
{{- end }}
{{- end }}

{{/*
The data volume of a StatefulSet (Redis, PostgreSQL, Unleash's database)
from its persistence values: one claim per pod, which the StatefulSet
deletes with itself (on helm uninstall) only when whenDeleted is Delete.
*/}}
{{- define "mail-worker.dataVolumeClaim" -}}
{{- if .enabled }}
persistentVolumeClaimRetentionPolicy:
  whenDeleted: {{ .whenDeleted }}
  whenScaled: Retain
volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      {{- with .storageClass }}
      storageClassName: {{ . }}
      {{- end }}
      resources:
        requests:
          storage: {{ .size }}
{{- end }}
{{- end }}

{{/* Volumes every app pod needs with a read-only root filesystem. */}}
{{- define "mail-worker.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end }}

{{- define "mail-worker.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* Fails rendering on combinations that cannot work, naming the values to change. */}}
{{- define "mail-worker.validate" -}}
{{- if and (not .Values.postgresql.enabled) (not .Values.postgresql.external.url) (not .Values.postgresql.external.existingSecret) }}
{{- fail "postgresql.enabled is false: set postgresql.external.url or postgresql.external.existingSecret (web and worker pods share data, so SQLite cannot be used in the chart)" }}
{{- end }}
{{- if and (not .Values.redis.enabled) (not .Values.redis.external.url) (not .Values.redis.external.existingSecret) }}
{{- fail "redis.enabled is false: set redis.external.url or redis.external.existingSecret" }}
{{- end }}
{{- if and (not .Values.mailcatcher.enabled) (not .Values.smtp.host) }}
{{- fail "mailcatcher.enabled is false: set smtp.host (and smtp.port, credentials) of the SMTP server to use" }}
{{- end }}
{{- if and .Values.unleash.enabled .Values.unleash.external.url }}
{{- fail "unleash.enabled and unleash.external.url are both set: choose the in-chart Unleash or an external one" }}
{{- end }}
{{- if and .Values.unleash.external.url (not .Values.unleash.external.existingSecret) }}
{{- fail "unleash.external.url needs unleash.external.existingSecret: a Secret with key UNLEASH_API_TOKEN (a client token)" }}
{{- end }}
{{- if and .Values.rollout.enabled .Values.rollout.canary.trafficRouting.enabled (eq .Values.rollout.strategy "canary") }}
{{- if and (eq .Values.rollout.canary.trafficRouting.provider "gatewayAPI") (not .Values.httpRoute.enabled) }}
{{- fail "rollout.canary.trafficRouting.provider gatewayAPI needs httpRoute.enabled: the canary weights are set on the HTTPRoute" }}
{{- end }}
{{- end }}
{{- if and .Values.rollout.analysis.enabled (not .Values.rollout.enabled) }}
{{- fail "rollout.analysis.enabled needs rollout.enabled: analysis judges Argo Rollouts revisions" }}
{{- end }}
{{- if and (eq .Values.worker.autoscaling.mode "keda") (not .Values.redis.enabled) (not .Values.redis.external.url) }}
{{- fail "worker.autoscaling.mode keda needs a Redis address KEDA can read: redis.enabled, or redis.external.url" }}
{{- end }}
{{- end }}

{{/* The queues the app uses (service/src/queue/queues.ts); KEDA and the dashboard read their Redis keys. */}}
{{- define "mail-worker.queueNames" -}}
{{- list "mail-default" "mail-priority" | toJson }}
{{- end }}

{{/*
The Redis the app uses, as KEDA's redis scaler needs it (it cannot read a
URL): address (host:port), databaseIndex, tls, and where its credentials
are (secret, passwordKey, usernameKey; none when Redis asks for none).
From the chart's own Secret, which holds the user and password of the
URL's user info, percent-decoded (password, username): each %XX becomes a
JSON \u00XX escape and fromJsonArray reads the string back; user info keeps
quotes and backslashes percent-encoded, so the JSON stays well formed. Only
ASCII escapes decode that way, so others are refused with a message. With
redis.external.existingSecret, from that Secret's secretKeys, and the
address from a url without credentials.
*/}}
{{- define "mail-worker.kedaRedis" -}}
{{- if .Values.redis.enabled }}
{{- dict "address" (printf "%s.%s.svc:6379" (include "mail-worker.componentName" (dict "root" . "component" "redis")) .Release.Namespace) "databaseIndex" "0" "tls" false | toJson }}
{{- else }}
{{- $external := .Values.redis.external }}
{{- if and $external.existingSecret (not $external.url) }}
{{- fail "redis.external.existingSecret with worker.autoscaling.mode keda: KEDA cannot read the URL in a Secret; also set redis.external.url to Redis's address without credentials (e.g. rediss://redis.example:6380/0), and redis.external.secretKeys.password to the Secret's key holding the password" }}
{{- end }}
{{- $url := urlParse $external.url }}
{{- $userinfo := $url.userinfo | default "" }}
{{- $redis := dict "address" (ternary $url.host (printf "%s:6379" $url.host) (contains ":" $url.host)) "databaseIndex" (trimPrefix "/" $url.path | default "0") "tls" (eq $url.scheme "rediss") }}
{{- if $external.existingSecret }}
{{- if $userinfo }}
{{- fail "redis.external.url carries credentials while redis.external.existingSecret holds the URL: keep them in the Secret only (KEDA reads the password from its key redis.external.secretKeys.password)" }}
{{- end }}
{{- $_ := set $redis "secret" $external.existingSecret }}
{{- with $external.secretKeys.password }}{{ $_ := set $redis "passwordKey" . }}{{ end }}
{{- with $external.secretKeys.username }}{{ $_ := set $redis "usernameKey" . }}{{ end }}
{{- else }}
{{- if regexMatch "%[89a-fA-F][0-9a-fA-F]" $userinfo }}
{{- fail "redis.external.url: KEDA needs the Redis password without percent-encoded non-ASCII characters; use an ASCII password" }}
{{- end }}
{{- $decoded := regexReplaceAll "%([0-9a-fA-F]{2})" $userinfo "\\u00${1}" | printf "[%q]" | replace "\\\\u00" "\\u00" | fromJsonArray | first }}
{{- $user := "" }}{{- $password := $decoded }}
{{- if contains ":" $decoded }}
{{- $user = (splitn ":" 2 $decoded)._0 }}{{- $password = (splitn ":" 2 $decoded)._1 }}
{{- end }}
{{- $_ := set $redis "secret" (include "mail-worker.secretName" .) }}
{{- if $password }}{{ $_ := set $redis "password" $password }}{{ $_ := set $redis "passwordKey" "KEDA_REDIS_PASSWORD" }}{{ end }}
{{- if $user }}{{ $_ := set $redis "username" $user }}{{ $_ := set $redis "usernameKey" "KEDA_REDIS_USERNAME" }}{{ end }}
{{- end }}
{{- $redis | toJson }}
{{- end }}
{{- end }}

{{/*
NODE_OPTIONS for a container with the given resources, so the heap is
collected before the kernel's OOM killer steps in (V8 otherwise grows lazily
while memory looks plentiful): old space capped at three quarters of the
memory limit, and the young generation's semi-spaces at 1/64 of it (1 to 16
MB; V8's own 16 MB made a busy worker's young generation alone about 50 MB,
docs/performance.md). Limits in Mi or Gi; nothing for other units or no limit.
*/}}
{{- define "mail-worker.nodeOptions" -}}
{{- $limit := toString (dig "limits" "memory" "" .) }}
{{- $mi := 0 }}
{{- if hasSuffix "Mi" $limit }}{{ $mi = trimSuffix "Mi" $limit | int }}{{ end }}
{{- if hasSuffix "Gi" $limit }}{{ $mi = mul (trimSuffix "Gi" $limit | int) 1024 }}{{ end }}
{{- if gt $mi 0 -}}
- name: NODE_OPTIONS
  value: {{ printf "--max-old-space-size=%d --max-semi-space-size=%d" (div (mul $mi 3) 4) (max 1 (min 16 (div $mi 64))) | quote }}
{{- end }}
{{- end }}
