package charts

import (
	"encoding/base64"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// gitValues are the values without a default: the repository and the environment.
func gitValues() map[string]any {
	return map[string]any{"git": map[string]any{"repo": "https://git.example/acme/config.git", "path": "clusters/test", "environment": "test"}}
}

// allOptionalOn turns every optional part of the chart on.
func allOptionalOn() map[string]any {
	v := gitValues()
	v["git"].(map[string]any)["credentialsSecret"] = "git-credentials"
	v["webhook"] = map[string]any{"secretName": "webhook-secret"}
	v["certManager"] = map[string]any{"enabled": true}
	v["networkPolicy"] = map[string]any{"enabled": true, "webhookFrom": []any{map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"name": "ingress"}}}}}
	v["metrics"] = map[string]any{"serviceMonitor": map[string]any{"enabled": true, "tokenSecret": map[string]any{"name": "prometheus-token"}}, "prometheusRule": map[string]any{"enabled": true}}
	v["extraArgs"] = []any{"--sync-workers=16"}
	return v
}

// typed are the kinds whose objects must convert strictly (no unknown fields) to their Go types.
var typed = map[string]func() any{
	"ServiceAccount":                   func() any { return &corev1.ServiceAccount{} },
	"Service":                          func() any { return &corev1.Service{} },
	"Deployment":                       func() any { return &appsv1.Deployment{} },
	"PodDisruptionBudget":              func() any { return &policyv1.PodDisruptionBudget{} },
	"NetworkPolicy":                    func() any { return &networkingv1.NetworkPolicy{} },
	"ClusterRole":                      func() any { return &rbacv1.ClusterRole{} },
	"ClusterRoleBinding":               func() any { return &rbacv1.ClusterRoleBinding{} },
	"Role":                             func() any { return &rbacv1.Role{} },
	"RoleBinding":                      func() any { return &rbacv1.RoleBinding{} },
	"CustomResourceDefinition":         func() any { return &apiextensionsv1.CustomResourceDefinition{} },
	"ValidatingAdmissionPolicy":        func() any { return &admissionv1.ValidatingAdmissionPolicy{} },
	"ValidatingAdmissionPolicyBinding": func() any { return &admissionv1.ValidatingAdmissionPolicyBinding{} },
}

var clusterScoped = []string{"CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "APIService",
	"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}

func TestChartPassesHelmLint(t *testing.T) {
	for name, values := range map[string]map[string]any{"defaults": gitValues(), "all optional parts on": allOptionalOn()} {
		t.Run(name, func(t *testing.T) {
			linter := lint.All(ChartDir, values, "kube-gitops", false)
			for _, msg := range linter.Messages {
				if msg.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", msg)
				}
			}
		})
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name      string
		namespace string
		values    map[string]any
		wantKinds []string
		noKinds   []string
	}{
		{name: "defaults", namespace: "kube-gitops", values: gitValues(),
			wantKinds: []string{"CustomResourceDefinition", "ServiceAccount", "Deployment", "PodDisruptionBudget", "Service", "APIService",
				"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"},
			noKinds: []string{"NetworkPolicy", "ServiceMonitor", "PrometheusRule", "Certificate", "Issuer", "Secret"}},
		{name: "all optional parts on, another namespace", namespace: "gitops-system", values: allOptionalOn(),
			wantKinds: []string{"NetworkPolicy", "ServiceMonitor", "PrometheusRule", "Certificate", "Issuer", "Deployment", "APIService"},
			noKinds:   []string{"Secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Render(tt.namespace, tt.values)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]bool{}
			for _, u := range objs {
				kinds[u.GetKind()] = true
				checkObject(t, u, tt.namespace)
			}
			for _, k := range tt.wantKinds {
				if !kinds[k] {
					t.Errorf("no %s rendered", k)
				}
			}
			for _, k := range tt.noKinds {
				if kinds[k] {
					t.Errorf("%s rendered, want none", k)
				}
			}
			if objs[0].GetKind() != "CustomResourceDefinition" {
				t.Errorf("first object is a %s; CRDs must come first so their kinds exist", objs[0].GetKind())
			}
		})
	}
}

// checkObject checks that u decodes strictly and sits in the right namespace.
func checkObject(t *testing.T, u *unstructured.Unstructured, namespace string) {
	t.Helper()
	id := u.GetKind() + "/" + u.GetName()
	if u.GetAPIVersion() == "" || u.GetName() == "" {
		t.Errorf("%s: no apiVersion or name", id)
	}
	if newObj, ok := typed[u.GetKind()]; ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, newObj(), true); err != nil {
			t.Errorf("%s does not decode: %v", id, err)
		}
	}
	want := namespace
	switch {
	case slices.Contains(clusterScoped, u.GetKind()):
		want = ""
	case u.GetKind() == "RoleBinding" && u.GetName() == "kube-gitops-server:auth-reader":
		want = "kube-system" // where extension-apiserver-authentication-reader lives
	}
	if u.GetNamespace() != want {
		t.Errorf("%s is in namespace %q, want %q", id, u.GetNamespace(), want)
	}
	if u.GetLabels()["app.kubernetes.io/part-of"] != "kube-gitops" {
		t.Errorf("%s lacks the label app.kubernetes.io/part-of=kube-gitops", id)
	}
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, u := range objs {
		if u.GetKind() == kind && u.GetName() == name {
			return u
		}
	}
	t.Fatalf("no %s/%s rendered", kind, name)
	return nil
}

func deployment(t *testing.T, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(find(t, objs, "Deployment", "gitops-apiserver").Object, d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDeploymentRunsTheServerHardened(t *testing.T) {
	objs, err := Render("gitops-system", allOptionalOn())
	if err != nil {
		t.Fatal(err)
	}
	d := deployment(t, objs)
	if *d.Spec.Replicas != 2 {
		t.Errorf("replicas %d, want 2", *d.Spec.Replicas)
	}
	c := d.Spec.Template.Spec.Containers[0]
	for _, want := range []string{"--repo=https://git.example/acme/config.git", "--ref=main", "--path=clusters/test", "--environment=test",
		"--poll-interval=60s", "--git-credentials-secret=git-credentials", "--namespace=gitops-system", "--leader-elect=true",
		"--tls-cert-file=/tls/tls.crt", "--tls-private-key-file=/tls/tls.key", "--webhook-port=9000",
		"--webhook-secret-file=/webhook/secret", "--sync-workers=16"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %v lack %s", c.Args, want)
		}
	}
	if c.Image != "ghcr.io/kube-gitops/gitops-apiserver:"+mustChart(t).AppVersion() {
		t.Errorf("image %s, want the tag to default to the chart's appVersion", c.Image)
	}
	sc := c.SecurityContext
	if sc == nil || !*sc.RunAsNonRoot || *sc.RunAsUser != 65532 || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext %+v is not non-root, read-only, ALL dropped, RuntimeDefault", sc)
	}
	for _, p := range []struct {
		probe *corev1.Probe
		path  string
	}{{c.LivenessProbe, "/livez"}, {c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "https" || p.probe.HTTPGet.Scheme != corev1.URISchemeHTTPS {
			t.Errorf("probe %s: %+v", p.path, p.probe)
		}
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v lack memory requests/limits", c.Resources)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	if v := volumes[mounts["/tmp"]]; v.EmptyDir == nil {
		t.Errorf("/tmp is not an emptyDir: %+v", v)
	}
	if v := volumes[mounts["/tls"]]; v.Secret == nil || v.Secret.SecretName != "gitops-apiserver-tls" {
		t.Errorf("/tls is not the serving certificate's Secret: %+v", v)
	}
	anti := d.Spec.Template.Spec.Affinity.PodAntiAffinity
	if anti == nil || len(anti.PreferredDuringSchedulingIgnoredDuringExecution) != 1 ||
		anti.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.TopologyKey != "kubernetes.io/hostname" {
		t.Errorf("no preferred anti-affinity by hostname: %+v", anti)
	}
}

// TestDisruptionBudgetNeverBlocksADrain: one pod at a time may be evicted, whatever the replicas;
// with one replica a drain evicts it (minAvailable 1 would block every drain of its node).
func TestDisruptionBudgetNeverBlocksADrain(t *testing.T) {
	for _, replicas := range []int64{1, 2, 3} {
		objs, err := Render("kube-gitops", with(gitValues(), "replicas", replicas))
		if err != nil {
			t.Fatal(err)
		}
		pdb := &policyv1.PodDisruptionBudget{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(find(t, objs, "PodDisruptionBudget", "gitops-apiserver").Object, pdb); err != nil {
			t.Fatal(err)
		}
		if pdb.Spec.MinAvailable != nil || pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
			t.Errorf("replicas %d: PodDisruptionBudget minAvailable %v, maxUnavailable %v; want maxUnavailable 1 only", replicas, pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable)
		}
	}
}

// TestArgsAreQuoted: every value is one argument as given; unquoted, a ' #' would cut it short
// and a ': ' would turn it into a map.
func TestArgsAreQuoted(t *testing.T) {
	values := gitValues()
	git := values["git"].(map[string]any)
	git["path"], git["ref"], git["environment"] = "clusters/test #rest", "a: b", "'test'"
	objs, err := Render("kube-gitops", values)
	if err != nil {
		t.Fatal(err)
	}
	args := deployment(t, objs).Spec.Template.Spec.Containers[0].Args
	for _, want := range []string{"--path=clusters/test #rest", "--ref=a: b", "--environment='test'"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
}

func mustChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestServingCertificate(t *testing.T) {
	ca := base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\n"))
	tests := []struct {
		name           string
		values         map[string]any
		wantCABundle   string
		wantInjectFrom string
		wantCertKinds  bool
	}{
		{name: "the caBundle install passes", values: with(gitValues(), "tls", map[string]any{"caBundle": ca}), wantCABundle: ca},
		{name: "cert-manager", values: with(with(gitValues(), "tls", map[string]any{"caBundle": ca}), "certManager", map[string]any{"enabled": true}),
			wantInjectFrom: "kube-gitops/gitops-apiserver", wantCertKinds: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Render("kube-gitops", tt.values)
			if err != nil {
				t.Fatal(err)
			}
			api := find(t, objs, "APIService", "v1alpha1.gitops.kube-gitops.dev")
			caBundle, _, _ := unstructured.NestedString(api.Object, "spec", "caBundle")
			if caBundle != tt.wantCABundle {
				t.Errorf("caBundle %q, want %q", caBundle, tt.wantCABundle)
			}
			if got := api.GetAnnotations()["cert-manager.io/inject-ca-from"]; got != tt.wantInjectFrom {
				t.Errorf("inject-ca-from %q, want %q", got, tt.wantInjectFrom)
			}
			svcName, _, _ := unstructured.NestedString(api.Object, "spec", "service", "name")
			svcNS, _, _ := unstructured.NestedString(api.Object, "spec", "service", "namespace")
			if svcName != "gitops-apiserver" || svcNS != "kube-gitops" {
				t.Errorf("APIService points at %s/%s", svcNS, svcName)
			}
			hasCert := false
			for _, u := range objs {
				if u.GetKind() == "Certificate" {
					hasCert = true
					if secret, _, _ := unstructured.NestedString(u.Object, "spec", "secretName"); secret != "gitops-apiserver-tls" {
						t.Errorf("Certificate writes Secret %s, the Deployment mounts gitops-apiserver-tls", secret)
					}
					names, _, _ := unstructured.NestedStringSlice(u.Object, "spec", "dnsNames")
					if !slices.Contains(names, "gitops-apiserver.kube-gitops.svc") {
						t.Errorf("Certificate names %v, the aggregator checks gitops-apiserver.kube-gitops.svc", names)
					}
				}
			}
			if hasCert != tt.wantCertKinds {
				t.Errorf("Certificate rendered: %v, want %v", hasCert, tt.wantCertKinds)
			}
		})
	}
}

func with(values map[string]any, key string, v any) map[string]any {
	values[key] = v
	return values
}

func TestRenderNamesMissingValues(t *testing.T) {
	for _, missing := range []string{"repo", "path", "environment"} {
		t.Run(missing, func(t *testing.T) {
			values := gitValues()
			delete(values["git"].(map[string]any), missing)
			_, err := Render("kube-gitops", values)
			if err == nil || !strings.Contains(err.Error(), "git."+missing+" is required") {
				t.Errorf("error %v, want it to name git.%s", err, missing)
			}
		})
	}
}

// TestRenderedRBACIsTheShippedRBAC compares the chart's RBAC with the RBAC shipped before the
// chart (testdata, copied from config/rbac), with labels and annotations aside: a change of the
// server's privileges must be a deliberate change of testdata too. In another namespace every
// subject and namespaced object moves with it.
func TestRenderedRBACIsTheShippedRBAC(t *testing.T) {
	for _, namespace := range []string{"kube-gitops", "gitops-system"} {
		t.Run(namespace, func(t *testing.T) {
			objs, err := Render(namespace, gitValues())
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{}
			for _, file := range []string{"testdata/rbac-server.yaml", "testdata/rbac-user-roles.yaml"} {
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				data = []byte(strings.ReplaceAll(string(data), "namespace: kube-gitops", "namespace: "+namespace))
				data = []byte(strings.ReplaceAll(string(data), "namespace: kube-gitops}", "namespace: "+namespace+"}"))
				for _, doc := range strings.Split(string(data), "\n---\n") {
					u := &unstructured.Unstructured{}
					if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
						t.Fatal(err)
					}
					want[rbacKey(u)] = rbacContent(u)
				}
			}
			got := map[string]any{}
			for _, u := range objs {
				if u.GetAPIVersion() == "rbac.authorization.k8s.io/v1" {
					got[rbacKey(u)] = rbacContent(u)
				}
			}
			if !reflect.DeepEqual(got, want) {
				g, _ := yaml.Marshal(got)
				w, _ := yaml.Marshal(want)
				t.Errorf("rendered RBAC:\n%s\nshipped RBAC:\n%s", g, w)
			}
		})
	}
}

func rbacKey(u *unstructured.Unstructured) string {
	return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
}

// rbacContent is what grants access: rules, roleRef, subjects and the aggregation labels.
func rbacContent(u *unstructured.Unstructured) map[string]any {
	out := map[string]any{}
	for _, field := range []string{"rules", "roleRef", "subjects"} {
		if v, ok := u.Object[field]; ok {
			out[field] = v
		}
	}
	for k, v := range u.GetLabels() {
		if strings.HasPrefix(k, "rbac.authorization.k8s.io/") {
			out[k] = v
		}
	}
	return out
}

func TestAdmissionPolicyNamesTheServerAccount(t *testing.T) {
	objs, err := Render("gitops-system", with(gitValues(), "serviceAccount", map[string]any{"name": "server"}))
	if err != nil {
		t.Fatal(err)
	}
	vap := find(t, objs, "ValidatingAdmissionPolicy", "kube-gitops-internal-records")
	vars, _, _ := unstructured.NestedSlice(vap.Object, "spec", "variables")
	if got := vars[0].(map[string]any)["expression"]; got != "'system:serviceaccount:gitops-system:server'" {
		t.Errorf("the policy lets %v write the records, want the server's ServiceAccount gitops-system/server", got)
	}
	find(t, objs, "ServiceAccount", "server")
}

func TestClusterReadRulesAreReadOnly(t *testing.T) {
	values := with(gitValues(), "rbac", map[string]any{"clusterReadRules": []any{
		map[string]any{"apiGroups": []any{"storage.k8s.io"}, "resources": []any{"storageclasses"}, "verbs": []any{"*"}},
	}})
	objs, err := Render("kube-gitops", values)
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(find(t, objs, "ClusterRole", "kube-gitops-server").Object, role); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range role.Rules {
		if slices.Contains(r.Resources, "storageclasses") {
			found = true
			if !slices.Equal(r.Verbs, []string{"get", "list", "watch"}) {
				t.Errorf("storageclasses: verbs %v, want only get, list, watch", r.Verbs)
			}
		}
		if slices.Contains(r.Resources, "namespaces") {
			t.Error("namespaces still readable although the values list replaced it")
		}
	}
	if !found {
		t.Error("the values' storageclasses rule is missing")
	}
}

func TestRenderNamesAMissingCASecret(t *testing.T) {
	_, err := Render("kube-gitops", with(gitValues(), "tls", map[string]any{"caSecretName": ""}))
	if err == nil || !strings.Contains(err.Error(), "tls.caSecretName is required without cert-manager") {
		t.Errorf("error %v, want tls.caSecretName named", err)
	}
	if _, err := Render("kube-gitops", with(with(gitValues(), "tls", map[string]any{"caSecretName": ""}), "certManager", map[string]any{"enabled": true})); err != nil {
		t.Errorf("with cert-manager no CA Secret is needed: %v", err)
	}
}

func TestServiceAccountNameCannotInjectIntoThePolicy(t *testing.T) {
	_, err := Render("kube-gitops", with(gitValues(), "serviceAccount", map[string]any{"name": "x' || true || '"}))
	if err == nil || !strings.Contains(err.Error(), "is not a valid ServiceAccount name") {
		t.Errorf("error %v, want the name refused", err)
	}
}

// TestServerReadsOnlySecretsItNeeds: every Secret rule of the server names its Secrets: the
// serving certificate and its CA (unless cert-manager renews), and the Git credentials if any.
// The CA's Secret is never written; the webhook's is mounted, not read through the API.
func TestServerReadsOnlySecretsItNeeds(t *testing.T) {
	tests := []struct {
		name       string
		values     map[string]any
		wantGet    []string
		wantUpdate []string
	}{
		{name: "defaults", values: gitValues(), wantGet: []string{"gitops-apiserver-tls", "gitops-apiserver-ca"}, wantUpdate: []string{"gitops-apiserver-tls"}},
		{name: "Git credentials, a webhook and other Secret names", values: func() map[string]any {
			v := with(gitValues(), "tls", map[string]any{"secretName": "my-tls", "caSecretName": "my-ca"})
			v["git"].(map[string]any)["credentialsSecret"] = "git-credentials"
			v["webhook"] = map[string]any{"secretName": "hook"}
			return v
		}(), wantGet: []string{"my-tls", "my-ca", "git-credentials"}, wantUpdate: []string{"my-tls"}},
		{name: "cert-manager and Git credentials", values: func() map[string]any {
			v := with(gitValues(), "certManager", map[string]any{"enabled": true})
			v["git"].(map[string]any)["credentialsSecret"] = "git-credentials"
			return v
		}(), wantGet: []string{"git-credentials"}},
		{name: "cert-manager, anonymous Git: no Secret at all", values: with(gitValues(), "certManager", map[string]any{"enabled": true})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Render("kube-gitops", tt.values)
			if err != nil {
				t.Fatal(err)
			}
			var get, update []string
			for _, u := range objs {
				if u.GetKind() != "Role" && u.GetKind() != "ClusterRole" {
					continue
				}
				role := &rbacv1.Role{}
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, role); err != nil {
					t.Fatal(err)
				}
				for _, r := range role.Rules {
					if !slices.Contains(r.Resources, "secrets") && !slices.Contains(r.Resources, "*") {
						continue
					}
					if len(r.ResourceNames) == 0 {
						t.Errorf("%s %s: %v on every Secret", u.GetKind(), u.GetName(), r.Verbs)
					}
					for _, verb := range r.Verbs {
						switch verb {
						case "get":
							get = append(get, r.ResourceNames...)
						case "update":
							update = append(update, r.ResourceNames...)
						default:
							t.Errorf("%s %s: %s on Secrets %v", u.GetKind(), u.GetName(), verb, r.ResourceNames)
						}
					}
				}
			}
			if !slices.Equal(get, tt.wantGet) || !slices.Equal(update, tt.wantUpdate) {
				t.Errorf("get %v, update %v; want get %v, update %v", get, update, tt.wantGet, tt.wantUpdate)
			}
		})
	}
}

// TestServiceMonitorReadsNoKey: Prometheus verifies the server with the serving Secret's ca.crt
// (which holds no CA key) and presents the token of the Secret named in values, not its own
// ServiceAccount's file (bearerTokenFile is deprecated).
func TestServiceMonitorReadsNoKey(t *testing.T) {
	objs, err := Render("kube-gitops", allOptionalOn())
	if err != nil {
		t.Fatal(err)
	}
	sm := find(t, objs, "ServiceMonitor", "gitops-apiserver")
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	ep := endpoints[0].(map[string]any)
	if _, ok := ep["bearerTokenFile"]; ok {
		t.Error("the ServiceMonitor uses the deprecated bearerTokenFile")
	}
	creds, _, _ := unstructured.NestedStringMap(ep, "authorization", "credentials")
	if creds["name"] != "prometheus-token" || creds["key"] != "token" {
		t.Errorf("authorization.credentials %v, want the Secret prometheus-token, key token", creds)
	}
	ca, _, _ := unstructured.NestedStringMap(ep, "tlsConfig", "ca", "secret")
	if ca["name"] != "gitops-apiserver-tls" || ca["key"] != "ca.crt" {
		t.Errorf("tlsConfig.ca %v, want ca.crt of the serving Secret", ca)
	}

	values := allOptionalOn()
	delete(values["metrics"].(map[string]any)["serviceMonitor"].(map[string]any), "tokenSecret")
	if _, err := Render("kube-gitops", values); err == nil || !strings.Contains(err.Error(), "metrics.serviceMonitor.tokenSecret.name is required") {
		t.Errorf("error %v, want tokenSecret.name required", err)
	}
}

// TestServingCertRenewalFollowsCertManager: without cert-manager the server renews the serving
// certificate (the flags naming its Secret and the CA's, and update on that one Secret); with it,
// neither.
func TestServingCertRenewalFollowsCertManager(t *testing.T) {
	for _, certManager := range []bool{false, true} {
		values := gitValues()
		values["certManager"] = map[string]any{"enabled": certManager}
		values["tls"] = map[string]any{"secretName": "my-tls", "caSecretName": "my-ca"}
		objs, err := Render("kube-gitops", values)
		if err != nil {
			t.Fatal(err)
		}
		var flag, update bool
		for _, u := range objs {
			switch {
			case u.GetKind() == "Deployment":
				containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
				args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
				flag = slices.Contains(args, "--serving-cert-secret=my-tls") && slices.Contains(args, "--serving-ca-secret=my-ca")
			case u.GetKind() == "Role" && u.GetName() == "kube-gitops-server":
				rules, _, _ := unstructured.NestedSlice(u.Object, "rules")
				for _, r := range rules {
					rule := r.(map[string]any)
					names, _, _ := unstructured.NestedStringSlice(rule, "resourceNames")
					verbs, _, _ := unstructured.NestedStringSlice(rule, "verbs")
					update = update || (slices.Equal(names, []string{"my-tls"}) && slices.Equal(verbs, []string{"update"}))
				}
			}
		}
		if flag == certManager || update == certManager {
			t.Errorf("certManager.enabled=%v: --serving-cert-secret %v, update on the Secret %v", certManager, flag, update)
		}
	}
}
