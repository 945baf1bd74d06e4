{{/* The release's name for its objects, within the 63 characters of a label value. */}}
{{- define "jobboard.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels that select this release's pods (stable across upgrades). */}}
{{- define "jobboard.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "jobboard.labels" -}}
{{ include "jobboard.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "jobboard.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/*
The environment of every jobboard container: HTTP_ADDR on all interfaces, the non-secret
settings of .Values.config (empty ones left to the Secret or the binary's default), all keys
of the existing Secret, and GOMEMLIMIT at the container's memory limit. The variables the
chart owns or that only a Secret may hold are refused in .Values.config; DEV_MODE is never
set.
*/}}
{{- define "jobboard.env" -}}
{{- range $k := list "HTTP_ADDR" "ROLES" "DEV_MODE" "STRIPE_SECRET_KEY" "STRIPE_WEBHOOK_SECRET" "SIGNING_KEY" "OPERATOR_TOKEN" "OPERATOR_TOKENS" "SMTP_URL" -}}
{{- if hasKey $.Values.config $k -}}
{{- fail (printf "config.%s: the chart sets HTTP_ADDR and ROLES itself, never DEV_MODE, and secrets come only from existingSecret" $k) -}}
{{- end -}}
{{- end -}}
{{- if not .Values.existingSecret -}}
{{- fail "existingSecret: name the Secret holding DATABASE_URL, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, SIGNING_KEY, OPERATOR_TOKENS and SMTP_URL" -}}
{{- end -}}
envFrom:
  - secretRef:
      name: {{ .Values.existingSecret }}
env:
  - name: HTTP_ADDR
    value: ":8080"
{{- range $k, $v := .Values.config }}
{{- if ne (toString $v) "" }}
  - name: {{ $k }}
    value: {{ toString $v | quote }}
{{- end }}
{{- end }}
  - name: GOMEMLIMIT
    valueFrom:
      resourceFieldRef:
        resource: limits.memory
{{- end -}}

{{- define "jobboard.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65534
runAsGroup: 65534
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Pod-level settings shared by the roles and the migration Job. */}}
{{- define "jobboard.podSpec" -}}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
