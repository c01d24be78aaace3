{{/*
A single-instance PostgreSQL (StatefulSet + Service), used for the app's
database and for Unleash's. Arguments: root, component, database, username,
secret (name), passwordKey, values (persistence, resources, image,
podSecurityContext, containerSecurityContext).
*/}}
{{- define "mail-worker.postgres" -}}
{{- $name := include "mail-worker.componentName" (dict "root" .root "component" .component) }}
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "mail-worker.labels" (dict "root" .root "component" .component) | nindent 4 }}
  annotations:
    argocd.argoproj.io/sync-wave: "-2"
spec:
  type: ClusterIP
  selector:
    {{- include "mail-worker.selectorLabels" (dict "root" .root "component" .component) | nindent 4 }}
  ports:
    - name: postgresql
      port: 5432
      targetPort: postgresql
      protocol: TCP
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ $name }}
  labels:
    {{- include "mail-worker.labels" (dict "root" .root "component" .component) | nindent 4 }}
  annotations:
    argocd.argoproj.io/sync-wave: "-2"
spec:
  serviceName: {{ $name }}
  replicas: 1
  selector:
    matchLabels:
      {{- include "mail-worker.selectorLabels" (dict "root" .root "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "mail-worker.labels" (dict "root" .root "component" .component) | nindent 8 }}
    spec:
      automountServiceAccountToken: false
      securityContext:
        {{- toYaml .values.podSecurityContext | nindent 8 }}
      containers:
        - name: postgresql
          image: {{ printf "%s:%s" .values.image.repository .values.image.tag }}
          imagePullPolicy: {{ .values.image.pullPolicy }}
          ports:
            - name: postgresql
              containerPort: 5432
              protocol: TCP
          env:
            - name: POSTGRES_DB
              value: {{ .database | quote }}
            - name: POSTGRES_USER
              value: {{ .username | quote }}
            - name: POSTGRES_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {{ .secret }}
                  key: {{ .passwordKey }}
            - name: PGDATA
              value: /var/lib/postgresql/data/pgdata
          startupProbe:
            exec: { command: [pg_isready, -U, {{ .username | quote }}, -d, {{ .database | quote }}, -h, 127.0.0.1] }
            periodSeconds: 2
            failureThreshold: 60
          # Readiness (pg_isready) takes a slow or busy server out of the
          # endpoints at once; liveness restarts it only when it has not
          # accepted a connection for a minute, so a slow moment (a
          # checkpoint, a vacuum) never costs a restart and its recovery.
          livenessProbe:
            tcpSocket: { port: postgresql }
            periodSeconds: 10
            timeoutSeconds: 5
            failureThreshold: 6
          readinessProbe:
            exec: { command: [pg_isready, -U, {{ .username | quote }}, -d, {{ .database | quote }}, -h, 127.0.0.1] }
            periodSeconds: 5
            timeoutSeconds: 5
          resources:
            {{- toYaml .values.resources | nindent 12 }}
          securityContext:
            {{- toYaml .values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            - name: data
              mountPath: /var/lib/postgresql/data
            - name: run
              mountPath: /var/run/postgresql
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: run
          emptyDir: {}
        - name: tmp
          emptyDir: {}
        {{- if not .values.persistence.enabled }}
        - name: data
          emptyDir: {}
        {{- end }}
  {{- include "mail-worker.dataVolumeClaim" .values.persistence | nindent 2 }}
{{- end }}
