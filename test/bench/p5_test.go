package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/render"
	"github.com/kube-gitops/kube-gitops/test/harness"
)

const chartTemplates = 50

// writeChart writes a chart of chartTemplates templates (Deployments, Services and ConfigMaps
// using helpers, ranges and toYaml, as real charts do) to dir/chart.
func writeChart(dir string) error {
	files := map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: bench\nversion: 0.1.0\nappVersion: \"1.0.0\"\n",
		"values.yaml": `image: {repository: registry.example/bench/app, tag: "1.0.0"}
replicas: 0
resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {memory: 64Mi}}
settings:
  logLevel: info
  features: [alpha, beta, gamma, delta]
  endpoints: {api: "https://api.example", auth: "https://auth.example"}
`,
		"templates/_helpers.tpl": `{{- define "bench.fullname" -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "bench.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
`,
	}
	for i := 1; i <= chartTemplates; i++ {
		var t string
		switch i % 3 {
		case 0:
			t = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "bench.fullname" . }}-%[1]d
  labels: {{- include "bench.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app.kubernetes.io/instance: {{ .Release.Name }}, component: c%[1]d}
  template:
    metadata:
      labels: {app.kubernetes.io/instance: {{ .Release.Name }}, component: c%[1]d}
      annotations:
        checksum/settings: {{ toYaml .Values.settings | sha256sum }}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          env:
          {{- range $k, $v := .Values.settings.endpoints }}
            - {name: {{ upper $k }}_URL, value: {{ $v | quote }}}
          {{- end }}
          resources: {{- toYaml .Values.resources | nindent 12 }}
`
		case 1:
			t = `apiVersion: v1
kind: Service
metadata:
  name: {{ include "bench.fullname" . }}-%[1]d
  labels: {{- include "bench.labels" . | nindent 4 }}
spec:
  selector: {app.kubernetes.io/instance: {{ .Release.Name }}, component: c%[1]d}
  ports:
    - {name: http, port: 80, targetPort: 8080}
`
		default:
			t = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "bench.fullname" . }}-%[1]d
  labels: {{- include "bench.labels" . | nindent 4 }}
data:
  level: {{ .Values.settings.logLevel | quote }}
  {{- range $i, $f := .Values.settings.features }}
  feature-{{ $i }}: {{ $f | quote }}
  {{- end }}
  settings.yaml: |
    {{- toYaml .Values.settings | nindent 4 }}
`
		}
		files[fmt.Sprintf("templates/t%02d.yaml", i)] = fmt.Sprintf(t, i)
	}
	for name, content := range files {
		p := filepath.Join(dir, "chart", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// names lists kind/name of objs, sorted, to compare two renders.
func names(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, u := range objs {
		out = append(out, u.GetKind()+"/"+u.GetName())
	}
	slices.Sort(out)
	return out
}

// benchHelmRender renders one chart through pkg/render with its worker pool (as the server does:
// --render-workers 2 by default) and with the helm CLI built from the module's pinned helm.
func benchHelmRender(b *testing.B) {
	ctx := context.Background()
	dir, err := os.MkdirTemp(env.Dir, "chart-")
	must(b, err)
	must(b, writeChart(dir))
	helmBin := filepath.Join(env.Root, "bin", "helm")
	if _, err := os.Stat(helmBin); err != nil {
		b.Fatalf("%s is missing: make bench builds it from the helm module go.mod pins", helmBin)
	}

	r := render.New(render.Options{Workers: 2})
	defer r.Close()
	req := render.Request{Name: "bench", Namespace: "bench-helm", Files: os.DirFS(dir),
		Spec: v1alpha1.DesiredStateSpec{Helm: &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "chart"}}}}
	var ours []*unstructured.Unstructured
	renderOnce := func() (time.Duration, error) {
		start := time.Now()
		var err error
		ours, err = r.Render(ctx, req)
		return time.Since(start), err
	}
	// Warm: the workers started, as in a running server.
	for range 3 {
		_, err := renderOnce()
		must(b, err)
	}
	const runs = 21
	oursTime, err := median(runs, renderOnce)
	must(b, err)

	home := filepath.Join(dir, "helm-home")
	var helmOut string
	helmOnce := func() (time.Duration, error) {
		cmd := exec.Command(helmBin, "template", "bench", filepath.Join(dir, "chart"), "--namespace", "bench-helm")
		cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home+"/cache", "HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")
		m, err := measure(cmd)
		helmOut = m.stdout
		return m.wall, err
	}
	_, err = helmOnce()
	must(b, err)
	helmTime, err := median(runs, helmOnce)
	must(b, err)

	theirs, err := harness.DecodeStream(helmOut)
	must(b, err)
	if got, want := names(ours), names(theirs); !slices.Equal(got, want) || len(got) != chartTemplates {
		b.Fatalf("pkg/render and helm template differ: %d objects %v\nvs %d objects %v", len(got), got, len(want), want)
	}
	b.ReportMetric(ms(oursTime), "ms-render")
	record(ratioAtMost(figure{id: "P5", what: fmt.Sprintf("helm-render-%d-templates(ms,median-of-%d) vs helm-template-CLI", chartTemplates, runs), unit: "ms",
		ours: ms(oursTime), baseline: ms(helmTime)}, 0.5))
}
