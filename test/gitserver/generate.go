package gitserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// BenchObjectsPerApp is the number of objects GenerateApps puts in each app.
const BenchObjectsPerApp = 4

// BenchAppName returns the name of the i-th (1-based) generated app: app-0001, app-0002, ...
func BenchAppName(i int) string { return fmt.Sprintf("app-%04d", i) }

// GenerateApps writes n apps of the benchmark shape into the config repo
// work tree dir: for each app-NNNN a DesiredState clusters/<env>/app-NNNN.yaml
// (namespace apps, plain-YAML source apps/bench/app-NNNN, automated sync with
// prune and self-heal) and apps/bench/app-NNNN/app.yaml holding a
// ServiceAccount, a Deployment scaled to 0, a Service and an Ingress.
// The output is deterministic, so equal inputs give equal commits.
func GenerateApps(dir string, n int, env string) error {
	return GenerateAppsIn(dir, n, env, "apps")
}

// GenerateAppsIn is GenerateApps with the apps and their objects in namespace.
func GenerateAppsIn(dir string, n int, env, namespace string) error {
	if n < 0 {
		return fmt.Errorf("generate apps: n must be >= 0, got %d", n)
	}
	if env == "" || strings.ContainsAny(env, `/\`) || env == "." || env == ".." {
		return fmt.Errorf("generate apps: invalid environment %q", env)
	}
	clusterDir := filepath.Join(dir, "clusters", env)
	if err := os.MkdirAll(clusterDir, 0o755); err != nil {
		return fmt.Errorf("generate apps: %w", err)
	}
	for i := 1; i <= n; i++ {
		name := BenchAppName(i)
		appDir := filepath.Join(dir, "apps", "bench", name)
		if err := os.MkdirAll(appDir, 0o755); err != nil {
			return fmt.Errorf("generate app %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(clusterDir, name+".yaml"), []byte(benchDesiredState(name, namespace)), 0o644); err != nil {
			return fmt.Errorf("generate app %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(appDir, "app.yaml"), []byte(benchManifests(name, namespace)), 0o644); err != nil {
			return fmt.Errorf("generate app %s: %w", name, err)
		}
	}
	return nil
}

func benchDesiredState(name, namespace string) string {
	return fmt.Sprintf(`apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  source:
    path: apps/bench/%[1]s
  sync:
    automated: true
    prune: true
    selfHeal: true
`, name, namespace)
}

func benchManifests(name, namespace string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ServiceAccount
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
    app.kubernetes.io/name: %[1]s
    app.kubernetes.io/part-of: bench
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
    app.kubernetes.io/name: %[1]s
    app.kubernetes.io/part-of: bench
spec:
  replicas: 0
  selector:
    matchLabels:
      app.kubernetes.io/name: %[1]s
  template:
    metadata:
      labels:
        app.kubernetes.io/name: %[1]s
        app.kubernetes.io/part-of: bench
    spec:
      serviceAccountName: %[1]s
      containers:
        - name: app
          image: registry.example/bench/app:1.0.0
          ports:
            - name: http
              containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
    app.kubernetes.io/name: %[1]s
    app.kubernetes.io/part-of: bench
spec:
  selector:
    app.kubernetes.io/name: %[1]s
  ports:
    - name: http
      port: 80
      targetPort: http
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
    app.kubernetes.io/name: %[1]s
    app.kubernetes.io/part-of: bench
spec:
  rules:
    - host: %[1]s.bench.example
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: %[1]s
                port:
                  name: http
`, name, namespace)
}
