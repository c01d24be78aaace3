{{/*
The one pod template of the app's image: web, worker, migrate,
unleash-flags and smoke-test pods all render from it, so security, env and volumes change
in one place. Arguments:
  root       the chart's root context
  component  web | worker | load | migrate | unleash-flags | smoke-test
  args       the mode, e.g. (list "web")
  command    instead of the image's entrypoint (the helm test Job)
  values     the component's values: resources and the extension points
             (podAnnotations, podLabels, extraEnv, extraEnvFrom,
             extraVolumes, extraVolumeMounts, nodeSelector, tolerations,
             affinity, topologySpreadConstraints, priorityClassName, and
             startupProbe, livenessProbe, readinessProbe overrides)
  env        the component's own environment, as YAML text
  app        true for web and worker: the app's ConfigMap and credentials,
             the HTTP port and probes, the release's ServiceAccount
  serves     true for the load generator: the HTTP port and probes only
  job        true for Jobs: restartPolicy Never
  terminationGracePeriodSeconds  when not Kubernetes' default
*/}}
{{- define "mail-worker.pod" -}}
{{- $root := .root }}
{{- $v := .values -}}
metadata:
  labels:
    {{- include "mail-worker.labels" (dict "root" $root "component" .component) | nindent 4 }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- if or .app $v.podAnnotations }}
  annotations:
    {{- if .app }}
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    {{- end }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
spec:
  {{- if .job }}
  restartPolicy: Never
  {{- end }}
  {{- /* Jobs other than the app's read nothing of the release's ServiceAccount (migrate runs before it exists). */}}
  {{- if or .app (eq .component "unleash-flags") (not $root.Values.serviceAccount.create) }}
  serviceAccountName: {{ include "mail-worker.serviceAccountName" $root }}
  {{- end }}
  automountServiceAccountToken: {{ and $root.Values.serviceAccount.automountToken (or .app (eq .component "unleash-flags")) }}
  {{- with .terminationGracePeriodSeconds }}
  terminationGracePeriodSeconds: {{ . }}
  {{- end }}
  {{- with $v.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ .component }}
      image: {{ include "mail-worker.image" $root }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      {{- with .command }}
      command: {{ toJson . }}
      {{- end }}
      args: {{ toJson .args }}
      {{- if or .app .serves }}
      ports:
        - name: http
          containerPort: 3000
          protocol: TCP
      {{- end }}
      {{- if or .app $v.extraEnvFrom }}
      envFrom:
        {{- if .app }}
        - configMapRef:
            name: {{ include "mail-worker.fullname" $root }}
        {{- end }}
        {{- with $v.extraEnvFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
      env:
        {{- if .app }}
        {{- include "mail-worker.appEnv" $root | nindent 8 }}
        {{- end }}
        {{- with .env }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with include "mail-worker.nodeOptions" $v.resources }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with $v.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if or .app .serves }}
      startupProbe:
        {{- $v.startupProbe | default (dict "httpGet" (dict "path" "/healthz" "port" "http") "periodSeconds" 2 "failureThreshold" 30) | toYaml | nindent 8 }}
      livenessProbe:
        {{- $v.livenessProbe | default (dict "httpGet" (dict "path" "/healthz" "port" "http") "periodSeconds" 10 "timeoutSeconds" 3) | toYaml | nindent 8 }}
      readinessProbe:
        {{- $v.readinessProbe | default (dict "httpGet" (dict "path" "/readyz" "port" "http") "periodSeconds" 5 "timeoutSeconds" 3) | toYaml | nindent 8 }}
      {{- end }}
      resources:
        {{- toYaml $v.resources | nindent 8 }}
      securityContext:
        {{- include "mail-worker.containerSecurityContext" $root | nindent 8 }}
      volumeMounts:
        {{- include "mail-worker.tmpVolumeMount" $root | nindent 8 }}
        {{- with $v.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    {{- include "mail-worker.tmpVolume" $root | nindent 4 }}
    {{- with $v.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
