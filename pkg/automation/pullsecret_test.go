package automation

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubefake "k8s.io/client-go/kubernetes/fake"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// TestPullSecretIsReadAsTheServiceAccount: update.pullSecret is read with the identity of the
// DesiredState's ServiceAccount (spec.sync.serviceAccountName, default gitops), never with the
// server's own rights; a ServiceAccount the namespace did not let read the Secret is told how.
func TestPullSecretIsReadAsTheServiceAccount(t *testing.T) {
	for _, tc := range []struct {
		name, serviceAccount, wantIdentity, wantError string
		allowed                                       bool
	}{
		{name: "default ServiceAccount", wantIdentity: "apps/gitops", allowed: true},
		{name: "named ServiceAccount", serviceAccount: "deployer", wantIdentity: "apps/deployer", allowed: true},
		{name: "ServiceAccount without access", serviceAccount: "deployer", wantIdentity: "apps/deployer",
			wantError: "the ServiceAccount apps/deployer may not read Secret regcred: grant it get on that Secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var identities []string
			a := New(Options{SecretsAs: func(namespace, sa string) (corev1client.SecretsGetter, error) {
				identities = append(identities, namespace+"/"+sa)
				kube := kubefake.NewClientset(pullSecret("regcred", "registry.example", "ci", "s3cret"))
				if !tc.allowed { // what the API server answers a ServiceAccount without get on it
					kube.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
						return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "regcred", errors.New("RBAC: access denied"))
					})
				}
				return kube.CoreV1(), nil
			}})
			ds := &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "winterlight"}}
			ds.Spec.Sync.ServiceAccountName = tc.serviceAccount
			images, err := a.imagesFor(context.Background(), ds, "regcred")
			if len(identities) != 1 || identities[0] != tc.wantIdentity {
				t.Errorf("read as %v, want [%s]", identities, tc.wantIdentity)
			}
			if tc.wantError == "" {
				if err != nil || images == nil {
					t.Errorf("images %v, error %v", images, err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantError) || reasonOf(err) != v1alpha1.ReasonInvalidPullSecret {
				t.Errorf("error %v (%s), want %q", err, reasonOf(err), tc.wantError)
			}
		})
	}
}

// TestImpersonatingSecrets: the clients ImpersonatingSecrets makes send the ServiceAccount's
// user name in Impersonate-User, which the API server authorizes the read against.
func TestImpersonatingSecrets(t *testing.T) {
	var seen []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Impersonate-User")+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403}`))
	}))
	defer api.Close()
	secretsAs := ImpersonatingSecrets(&rest.Config{Host: api.URL})
	for _, sa := range []string{"gitops", "deployer", "gitops"} {
		secrets, err := secretsAs("apps", sa)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := secrets.Secrets("apps").Get(context.Background(), "regcred", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v", sa, err)
		}
	}
	want := []string{
		"system:serviceaccount:apps:gitops /api/v1/namespaces/apps/secrets/regcred",
		"system:serviceaccount:apps:deployer /api/v1/namespaces/apps/secrets/regcred",
		"system:serviceaccount:apps:gitops /api/v1/namespaces/apps/secrets/regcred",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

// TestPinMessagesHideCredentials: a URL or image reference with credentials in Git is shown
// without them in the VersionsUpToDate condition.
func TestPinMessagesHideCredentials(t *testing.T) {
	const canary = "canary-Pa55-0xfeed"
	a := New(Options{})
	ds := &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "winterlight"}}
	ds.Spec.Helm = &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{RepoURL: "https://ci:" + canary + "@127.0.0.1:1/charts", Name: "winterlight", Version: "1.0.0"}}
	ds.Spec.Versions = []v1alpha1.VersionPin{
		{Name: "image", File: "values.yaml", Path: "image.tag", Update: &v1alpha1.UpdatePolicy{Image: "ci:" + canary + "@registry.example/acme/app", Constraint: "~1.0"}},
		{Name: "chart", Field: "spec.helm.chart.version", Update: &v1alpha1.UpdatePolicy{Constraint: "^1.0"}},
	}
	ds.Status.Versions = []v1alpha1.PinStatus{{Name: "image", Value: "1.0.0"}, {Name: "chart", Value: "1.0.0"}}
	for _, pin := range ds.Spec.Versions {
		o := a.checkPin(context.Background(), ds, pin)
		if !o.failed || strings.Contains(o.message, canary) || !strings.Contains(o.message, "xxxxx@") {
			t.Errorf("pin %s: %+v", pin.Name, o)
		}
	}
}
