{{/* The web pod template, shared by the Deployment and the Rollout. */}}
{{- define "mail-worker.webPodTemplate" -}}
{{- $env := printf "- name: FAULT_ERROR_RATE\n  value: %s\n- name: FAULT_DELAY_MS\n  value: %s" (.Values.faults.errorRate | quote) (.Values.faults.delayMs | quote) }}
{{- include "mail-worker.pod" (dict "root" . "component" "web" "args" (list "web") "values" .Values.web "env" $env "app" true) }}
{{- end }}
