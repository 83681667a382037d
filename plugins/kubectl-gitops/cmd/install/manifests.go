package install

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/kube-gitops/kube-gitops/config"
)

// Settings are what the manifests depend on.
type Settings struct {
	Namespace, Image                 string
	Replicas                         int
	Repo, Ref, Path, Environment     string
	CredentialsSecret, WebhookSecret string
	ServingCert, ServingKey          []byte // PEM; the certificate file also holds its CA
}

const name = "gitops-apiserver"

// Manifests returns every object of an installation, in apply order.
func Manifests(s Settings) ([]*unstructured.Unstructured, error) {
	// The internal CRDs come first: the server only waits for them (it may not write CRDs).
	objs, err := configObjects(s.Namespace, config.CRDs, "crds/internal.yaml")
	if err != nil {
		return nil, err
	}
	objs = append(objs,
		obj("v1", "Namespace", "", s.Namespace, nil),
		obj("v1", "ServiceAccount", s.Namespace, name, nil),
	)
	rbac, err := configObjects(s.Namespace, config.RBAC, "rbac/server.yaml", "rbac/user-roles.yaml")
	if err != nil {
		return nil, err
	}
	admission, err := configObjects(s.Namespace, config.Admission, "admission/internal-records.yaml")
	if err != nil {
		return nil, err
	}
	objs = append(objs, rbac...)
	objs = append(objs, admission...)
	objs = append(objs,
		obj("v1", "Secret", s.Namespace, name+"-tls", map[string]any{
			"type": "kubernetes.io/tls",
			"data": map[string]any{"tls.crt": b64(s.ServingCert), "tls.key": b64(s.ServingKey)},
		}),
		deployment(s),
		obj("v1", "Service", s.Namespace, name, map[string]any{"spec": map[string]any{
			"selector": labels(),
			"ports": []any{
				map[string]any{"name": "https", "port": int64(443), "targetPort": "https"},
				map[string]any{"name": "webhook", "port": int64(9000), "targetPort": "webhook"},
			},
		}}),
		obj("apiregistration.k8s.io/v1", "APIService", "", "v1alpha1.gitops.kube-gitops.dev", map[string]any{"spec": map[string]any{
			"group": "gitops.kube-gitops.dev", "version": "v1alpha1",
			"service":              map[string]any{"namespace": s.Namespace, "name": name, "port": int64(443)},
			"caBundle":             b64(s.ServingCert),
			"groupPriorityMinimum": int64(1000), "versionPriority": int64(15),
		}}),
	)
	if s.Replicas > 1 {
		objs = append(objs, obj("policy/v1", "PodDisruptionBudget", s.Namespace, name, map[string]any{"spec": map[string]any{
			"minAvailable": int64(1), "selector": map[string]any{"matchLabels": labels()},
		}}))
	}
	return objs, nil
}

func deployment(s Settings) *unstructured.Unstructured {
	args := []any{
		"--repo=" + s.Repo, "--ref=" + s.Ref, "--path=" + s.Path, "--environment=" + s.Environment,
		"--namespace=" + s.Namespace, "--secure-port=8443",
		"--tls-cert-file=/tls/tls.crt", "--tls-private-key-file=/tls/tls.key",
	}
	if s.CredentialsSecret != "" {
		args = append(args, "--git-credentials-secret="+s.CredentialsSecret)
	}
	volumes := []any{map[string]any{"name": "tls", "secret": map[string]any{"secretName": name + "-tls"}}}
	mounts := []any{map[string]any{"name": "tls", "mountPath": "/tls", "readOnly": true}}
	if s.WebhookSecret != "" {
		args = append(args, "--webhook-port=9000", "--webhook-secret-file=/webhook/secret")
		volumes = append(volumes, map[string]any{"name": "webhook", "secret": map[string]any{"secretName": s.WebhookSecret, "items": []any{map[string]any{"key": "secret", "path": "secret"}}}})
		mounts = append(mounts, map[string]any{"name": "webhook", "mountPath": "/webhook", "readOnly": true})
	}
	probe := func(path string) map[string]any {
		return map[string]any{"httpGet": map[string]any{"path": path, "port": "https", "scheme": "HTTPS"}, "periodSeconds": int64(10)}
	}
	return obj("apps/v1", "Deployment", s.Namespace, name, map[string]any{"spec": map[string]any{
		"replicas": int64(s.Replicas),
		"selector": map[string]any{"matchLabels": labels()},
		"template": map[string]any{
			"metadata": map[string]any{"labels": labels()},
			"spec": map[string]any{
				"serviceAccountName": name,
				// Spread replicas over nodes: reads keep being served while one node is down.
				"topologySpreadConstraints": []any{map[string]any{"maxSkew": int64(1), "topologyKey": "kubernetes.io/hostname",
					"whenUnsatisfiable": "ScheduleAnyway", "labelSelector": map[string]any{"matchLabels": labels()}}},
				"securityContext": map[string]any{"runAsNonRoot": true, "runAsUser": int64(65532), "seccompProfile": map[string]any{"type": "RuntimeDefault"}},
				"containers": []any{map[string]any{
					"name": "server", "image": s.Image, "args": args,
					"env": []any{map[string]any{"name": "POD_NAMESPACE", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.namespace"}}}},
					"ports": []any{
						map[string]any{"name": "https", "containerPort": int64(8443)},
						map[string]any{"name": "webhook", "containerPort": int64(9000)},
					},
					"readinessProbe": probe("/readyz"),
					"livenessProbe":  probe("/livez"),
					// The limit is the server's 512Mi plus its render workers' budgets
					// (--render-workers 2 × --render-memory-limit 512Mi): they count in it.
					"resources": map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}, "limits": map[string]any{"memory": "1536Mi"}},
					"securityContext": map[string]any{"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
						"capabilities": map[string]any{"drop": []any{"ALL"}}},
					"volumeMounts": append(mounts, map[string]any{"name": "tmp", "mountPath": "/tmp"}),
				}},
				"volumes": append(volumes, map[string]any{"name": "tmp", "emptyDir": map[string]any{}}),
			},
		},
	}})
}

// configObjects reads embedded config files, moved to namespace (the server's ServiceAccount
// included, which the admission policy names).
func configObjects(namespace string, files fs.FS, names ...string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, file := range names {
		data, err := fs.ReadFile(files, file)
		if err != nil {
			return nil, err
		}
		data = bytes.ReplaceAll(data, []byte("namespace: kube-gitops"), []byte("namespace: "+namespace))
		data = bytes.ReplaceAll(data, []byte("system:serviceaccount:kube-gitops:"), []byte("system:serviceaccount:"+namespace+":"))
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("embedded %s: %w", file, err)
			}
			if len(u.Object) > 0 {
				out = append(out, u)
			}
		}
	}
	return out, nil
}

func obj(apiVersion, kind, namespace, objName string, fields map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	for k, v := range fields {
		u.Object[k] = v
	}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetName(objName)
	if namespace != "" {
		u.SetNamespace(namespace)
	}
	u.SetLabels(map[string]string{"app.kubernetes.io/part-of": "kube-gitops"})
	return u
}

func labels() map[string]any {
	return map[string]any{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "kube-gitops"}
}

func b64(data []byte) string { return base64.StdEncoding.EncodeToString(data) }
