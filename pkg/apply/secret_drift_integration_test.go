package apply

import (
	"context"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

var secretsGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// TestSecretStringDataDriftIsShownAsSyncDoesIt: Git writes a Secret's password in stringData
// (which the apiserver keeps as data, and never returns) and someone changes the live value with
// kubectl patch. The diff must show what a sync does: data.password changed back to Git's value
// (two different masks, Git's the same as after the sync), not removed; the sync must leave
// exactly that, and afterwards the Secret is Synced and neither apply nor diff sees a change.
func TestSecretStringDataDriftIsShownAsSyncDoesIt(t *testing.T) {
	const (
		gitPassword  = "git-plaintext-password"
		handPassword = "hand-plaintext-password"
		token        = "git-plaintext-token"
	)
	for _, tc := range []struct{ name, patch string }{
		{"kubectl patch of stringData", `{"stringData":{"password":"` + handPassword + `"}}`},
		{"kubectl patch of data", `{"data":{"password":"` + base64.StdEncoding.EncodeToString([]byte(handPassword)) + `"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := setupNamespace(t, "secretdrift")
			ctx := testContext(t)
			secret := object(t, `
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: `+gitPassword+`}
data: {token: `+base64.StdEncoding.EncodeToString([]byte(token))+`}`)
			req := Request{Owner: owner(ns), Objects: []*unstructured.Unstructured{secret}}
			mustApply(t, ctx, req)
			synced := testEngine.MaskSecret(normalize(getObject(t, ctx, secretsGVR, ns, "creds")))
			gitMask := nested(synced, "data", "password")

			// Before any drift: a synced Secret stays Synced (stringData is never live).
			checkSecretSynced(t, ctx, req, synced)

			if _, err := adminDynamic(t).Resource(secretsGVR).Namespace(ns).Patch(ctx, "creds", types.MergePatchType, []byte(tc.patch),
				metav1.PatchOptions{FieldManager: "kubectl-patch"}); err != nil {
				t.Fatal(err)
			}
			d := secretDiff(t, ctx, req)
			liveMask, desiredMask := nested(d.Live, "data", "password"), nested(d.Desired, "data", "password")
			if d.Action != ActionUpdate || !reflect.DeepEqual(d.Drift, []string{"kubectl-patch"}) {
				t.Errorf("diff: action %s, drift %v; want Update by kubectl-patch", d.Action, d.Drift)
			}
			if desiredMask != gitMask || liveMask == gitMask || !strings.HasPrefix(liveMask.(string), "*** (") {
				t.Errorf("password masks: live %v, desired %v; want the live one changed and desired Git's %v\ndesired:\n%s",
					liveMask, desiredMask, gitMask, yamlOf(d.Desired.Object))
			}
			if desiredToken := nested(d.Desired, "data", "token"); desiredToken != nested(synced, "data", "token") {
				t.Errorf("token mask: desired %v, want %v", desiredToken, nested(synced, "data", "token"))
			}

			res := mustApply(t, ctx, req)
			if st := findStatus(res.Resources, "Secret", "creds"); res.Changed != 1 || st.Sync != v1alpha1.SyncStatusSynced {
				t.Errorf("apply: changed %d, Secret %+v; want 1 and Synced", res.Changed, st)
			}
			live := getObject(t, ctx, secretsGVR, ns, "creds")
			if got, _, _ := unstructured.NestedString(live.Object, "data", "password"); got != base64.StdEncoding.EncodeToString([]byte(gitPassword)) {
				t.Error("the sync did not put Git's password back")
			}
			if got := testEngine.MaskSecret(normalize(live)); !equality.Semantic.DeepEqual(got.Object, d.Desired.Object) {
				t.Errorf("the sync left something else than the diff showed:\nlive:\n%s\ndiff's desired:\n%s", yamlOf(got.Object), yamlOf(d.Desired.Object))
			}
			checkSecretSynced(t, ctx, req, synced)
		})
	}
}

// checkSecretSynced checks that the Secret creds is as want (masked) and that an apply writes
// nothing and a diff shows nothing.
func checkSecretSynced(t *testing.T, ctx context.Context, req Request, want *unstructured.Unstructured) {
	t.Helper()
	mark := writes.mark()
	res := mustApply(t, ctx, req)
	if st := findStatus(res.Resources, "Secret", "creds"); res.Unchanged != 1 || st.Sync != v1alpha1.SyncStatusSynced {
		t.Errorf("re-apply: unchanged %d, Secret %+v; want 1 and Synced", res.Unchanged, st)
	}
	if w := writes.since(mark); len(w) != 0 {
		t.Errorf("re-apply wrote %v, want nothing", w)
	}
	if d := secretDiff(t, ctx, req); d.Action != ActionNone || d.Drift != nil || !equality.Semantic.DeepEqual(d.Live.Object["data"], want.Object["data"]) {
		t.Errorf("diff: action %s, drift %v; want None with Git's values:\nlive:\n%s\ndesired:\n%s", d.Action, d.Drift, yamlOf(d.Live.Object), yamlOf(d.Desired.Object))
	}
}

// secretDiff returns the diff of the Secret creds.
func secretDiff(t *testing.T, ctx context.Context, req Request) ObjectDiff {
	t.Helper()
	return objectDiff(t, ctx, testEngine, req, "Secret", "creds")
}
