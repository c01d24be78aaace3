{{/* The web pod template, shared by the Deployment and the Rollout. */}}
{{- define "mail-worker.webPodTemplate" -}}
metadata:
  labels:
    {{- include "mail-worker.labels" (dict "root" . "component" "web") | nindent 4 }}
  annotations:
    checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
spec:
  serviceAccountName: {{ include "mail-worker.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: web
      image: {{ include "mail-worker.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: [web]
      ports:
        - name: http
          containerPort: 3000
          protocol: TCP
      envFrom:
        - configMapRef:
            name: {{ include "mail-worker.fullname" . }}
      env:
        {{- include "mail-worker.appEnv" . | nindent 8 }}
        - name: FAULT_ERROR_RATE
          value: {{ .Values.faults.errorRate | quote }}
        - name: FAULT_DELAY_MS
          value: {{ .Values.faults.delayMs | quote }}
        {{- include "mail-worker.nodeOptions" .Values.web.resources | nindent 8 }}
      {{- include "mail-worker.probes" . | nindent 6 }}
      resources:
        {{- toYaml .Values.web.resources | nindent 8 }}
      securityContext:
        {{- include "mail-worker.containerSecurityContext" . | nindent 8 }}
      volumeMounts:
        {{- include "mail-worker.tmpVolumeMount" . | nindent 8 }}
  volumes:
    {{- include "mail-worker.tmpVolume" . | nindent 4 }}
  {{- with .Values.web.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.web.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.web.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
