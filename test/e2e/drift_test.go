package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// healerApp is an automated app with three Deployments: web (Git sets everything people then
// change), tuned (an ignore rule keeps what kubectl set env and a team label change) and scaled
// (no replicas in Git: an HPA with minReplicas 2 owns them).
func healerApp(ns string, selfHeal bool) map[string]string {
	deployment := func(name, replicas string) string {
		return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %s, namespace: %s}
spec:
%s  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec:
      containers: [{name: web, image: "localhost:5000/acme/guestbook:2.0.1"}]
`, name, ns, replicas, name, name)
	}
	return map[string]string{
		"clusters/test/healer.yaml": desiredStateFile("healer", ns, "apps/healer") + fmt.Sprintf(`  sync:
    automated: true
    prune: true
    selfHeal: %v
    ignore:
    - {group: apps, kind: Deployment, name: tuned, managers: [kubectl-set], jsonPointers: [/metadata/labels/team]}
`, selfHeal),
		"apps/healer/web.yaml":   deployment("web", "  replicas: 1\n"),
		"apps/healer/tuned.yaml": deployment("tuned", "  replicas: 1\n"),
		"apps/healer/scaled.yaml": deployment("scaled", "") + "---\n" + fmt.Sprintf(`apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: scaled, namespace: %s}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: scaled}
  minReplicas: 2
  maxReplicas: 3
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]
`, ns),
	}
}

// changedByHand tells which of the kubectl changes a Deployment shows.
func changedByHand(u *unstructured.Unstructured) (sidecar, env, label bool) {
	containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		m := c.(map[string]any)
		if m["name"] == "sidecar" {
			sidecar = true
		}
		if strings.Contains(fmt.Sprint(m["env"]), "DEBUG") {
			env = true
		}
	}
	return sidecar, env, u.GetLabels()["team"] == "blue"
}

var deploymentsResource = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

func deploymentObject(t *testing.T, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := e.dyn.Resource(deploymentsResource).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// resourceStatus returns the status entry of one object of a DesiredState.
func resourceStatus(ds *unstructured.Unstructured, kind, name string) v1alpha1.ResourceStatus {
	resources, _, _ := unstructured.NestedSlice(ds.Object, "status", "resources")
	for _, r := range resources {
		data, _ := json.Marshal(r)
		var st v1alpha1.ResourceStatus
		if json.Unmarshal(data, &st) == nil && st.Kind == kind && st.Name == name {
			return st
		}
	}
	return v1alpha1.ResourceStatus{}
}

// TestDriftByKubectlIsHealed changes a synced app with kubectl as people do: a container added
// with kubectl patch (as kubectl edit would), an env var with kubectl set env, a label with
// kubectl label. With self-heal off, the status and the diff (subresource and plugin) show it;
// once self-heal is on, it is removed. An HPA's replicas and the changes an ignore rule names are
// left alone, and nothing is re-created.
func TestDriftByKubectlIsHealed(t *testing.T) {
	const ns = "drift-test"
	if err := e.createSyncAccount(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	if _, err := e.commit(healerApp(ns, false), "healer without self-heal"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = e.commit(nil, "remove healer", "clusters/test/healer.yaml", "apps/healer/web.yaml", "apps/healer/tuned.yaml", "apps/healer/scaled.yaml")
	}()
	waitStatus(t, ns, "healer", "Synced", "", 90*time.Second)
	uids := map[string]types.UID{}
	for _, name := range []string{"web", "tuned", "scaled"} {
		uids[name] = deploymentObject(t, ns, name).GetUID()
	}

	t.Run("the HPA scales what Git leaves to it", func(t *testing.T) {
		if err := eventually(90*time.Second, func() error {
			if r, _, _ := unstructured.NestedInt64(deploymentObject(t, ns, "scaled").Object, "spec", "replicas"); r != 2 {
				return fmt.Errorf("Deployment scaled has %d replicas, want the HPA's minReplicas 2", r)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})

	for _, args := range [][]string{
		{"patch", "deployment", "web", "-n", ns, "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"registry.example/miner:1"}]}}}}`},
		{"set", "env", "deployment/web", "-n", ns, "DEBUG=1"},
		{"label", "deployment", "web", "-n", ns, "team=blue"},
		{"set", "env", "deployment/tuned", "-n", ns, "DEBUG=1"},
		{"label", "deployment", "tuned", "-n", ns, "team=blue"},
	} {
		if out, err := e.kubectl(args...); err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	t.Run("status shows the drift while self-heal is off", func(t *testing.T) {
		ds := waitStatus(t, ns, "healer", "OutOfSync", "", 60*time.Second)
		if err := eventually(30*time.Second, func() error {
			u, err := getDesiredState(t.Context(), ns, "healer")
			if err != nil {
				return err
			}
			ds = u
			web := resourceStatus(u, "Deployment", "web")
			if web.Sync != v1alpha1.SyncStatusOutOfSync || !strings.Contains(web.Message, "kubectl-label, kubectl-patch, kubectl-set") {
				return fmt.Errorf("Deployment web: %+v, want OutOfSync naming kubectl-label, kubectl-patch, kubectl-set", web)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"tuned", "scaled"} {
			if st := resourceStatus(ds, "Deployment", name); st.Sync != v1alpha1.SyncStatusSynced {
				t.Errorf("Deployment %s: %+v, want Synced (ignored or a controller's change)", name, st)
			}
		}
		if msg, _, _ := unstructured.NestedString(ds.Object, "status", "sync", "message"); !strings.Contains(msg, "self-heal is off") {
			t.Errorf("sync message %q does not say self-heal is off", msg)
		}
	})

	t.Run("diff shows the drift", func(t *testing.T) {
		out, err := e.kubectl("get", "--raw", subresource(ns, "healer", "diff"))
		if err != nil {
			t.Fatalf("diff: %v\n%s", err, out)
		}
		var diff v1alpha1.DesiredStateDiff
		if err := json.Unmarshal([]byte(out), &diff); err != nil {
			t.Fatal(err)
		}
		for _, r := range diff.Resources {
			if r.Kind != "Deployment" {
				continue
			}
			want := map[string]string{"web": "Update", "tuned": "None", "scaled": "None"}[r.Name]
			if r.Action != want {
				t.Errorf("Deployment %s: action %s, want %s", r.Name, r.Action, want)
			}
			if r.Name != "web" {
				continue
			}
			var live, desired unstructured.Unstructured
			if err := live.UnmarshalJSON(r.Live.Raw); err != nil {
				t.Fatal(err)
			}
			if err := desired.UnmarshalJSON(r.Desired.Raw); err != nil {
				t.Fatal(err)
			}
			s1, e1, l1 := changedByHand(&live)
			s2, e2, l2 := changedByHand(&desired)
			if !s1 || !e1 || !l1 || s2 || e2 || l2 {
				t.Errorf("Deployment web: live shows sidecar/env/label %v/%v/%v, desired %v/%v/%v; want all live and none desired", s1, e1, l1, s2, e2, l2)
			}
		}
		stdout, _ := pluginUntil(t, 1, "diff", "healer", "-n", ns)
		if err := containsAll(stdout, "-    team: blue", "-        name: sidecar", "-        - name: DEBUG"); err != nil {
			t.Error(err)
		}
		if strings.Contains(stdout, "Deployment/"+ns+"/tuned") || strings.Contains(stdout, "Deployment/"+ns+"/scaled") {
			t.Errorf("kubectl gitops diff shows the ignored or HPA-scaled Deployments:\n%s", stdout)
		}
	})

	t.Run("self-heal removes it", func(t *testing.T) {
		if _, err := e.commit(healerApp(ns, true), "healer with self-heal"); err != nil {
			t.Fatal(err)
		}
		if err := eventually(60*time.Second, func() error {
			if s, env, label := changedByHand(deploymentObject(t, ns, "web")); s || env || label {
				return fmt.Errorf("Deployment web still has sidecar/env/label %v/%v/%v", s, env, label)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, ns, "healer", "Synced", "", 60*time.Second)
		pluginUntil(t, 0, "diff", "healer", "-n", ns)
		if err := eventually(30*time.Second, func() error {
			return eventsContain(t.Context(), ns, "undid changes made in the cluster to Deployment "+ns+"/web (apps/v1): kubectl-label, kubectl-patch, kubectl-set")
		}); err != nil {
			t.Error(err)
		}
	})

	t.Run("ignored changes and the HPA's replicas stay", func(t *testing.T) {
		if _, env, label := changedByHand(deploymentObject(t, ns, "tuned")); !env || !label {
			t.Errorf("Deployment tuned lost what the ignore rule keeps: env %v, label %v", env, label)
		}
		if r, _, _ := unstructured.NestedInt64(deploymentObject(t, ns, "scaled").Object, "spec", "replicas"); r != 2 {
			t.Errorf("Deployment scaled has %d replicas after self-heal, want the HPA's 2", r)
		}
	})

	t.Run("kubectl explain documents the ignore rules", func(t *testing.T) {
		// The aggregator fetches the server's OpenAPI shortly after the APIService is available.
		if err := eventually(90*time.Second, func() error {
			out, err := e.kubectl("explain", "desiredstates.spec.sync.ignore")
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			return containsAll(out, "jsonPointers", "managers", "RFC 6901", "neither reverted nor removed")
		}); err != nil {
			t.Error(err)
		}
	})

	t.Run("nothing was re-created", func(t *testing.T) {
		for name, uid := range uids {
			if got := deploymentObject(t, ns, name).GetUID(); got != uid {
				t.Errorf("Deployment %s was re-created: uid %s, was %s", name, got, uid)
			}
		}
	})
}

// TestDriftInOurNameIsHealed: someone applies a change with kube-gitops' own field manager name
// (kubectl apply --server-side --field-manager=kube-gitops --force-conflicts of the live object
// with other replicas). The managed fields then look like kube-gitops' own apply, yet the change
// is healed at once, not at the periodic resync (10 min), and the Deployment is not re-created.
func TestDriftInOurNameIsHealed(t *testing.T) {
	const ns = "drift-name-test"
	if err := e.createSyncAccount(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	files := driftApp("borrowed", ns)
	files["clusters/test/borrowed.yaml"] = desiredStateFile("borrowed", ns, "apps/borrowed") + "  sync: {automated: true, prune: true, selfHeal: true}\n"
	if _, err := e.commit(files, "borrowed"); err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)
	waitStatus(t, ns, "borrowed", "Synced", "Healthy", 90*time.Second)
	live := deploymentObject(t, ns, "web")
	uid := live.GetUID()

	// The live object as kubectl get -o yaml shows it, with other replicas, applied in our name.
	borrowed := live.DeepCopy()
	for _, f := range []string{"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"} {
		unstructured.RemoveNestedField(borrowed.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(borrowed.Object, "status")
	if err := unstructured.SetNestedField(borrowed.Object, int64(4), "spec", "replicas"); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(borrowed.Object)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(e.kubectlBinary(), "--kubeconfig", e.kubeconfig, "--cache-dir", filepath.Join(e.dir, "kube-cache"),
		"apply", "--server-side", "--field-manager=kube-gitops", "--force-conflicts", "-f", "-")
	cmd.Stdin = strings.NewReader(string(data))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply in kube-gitops' name: %v\n%s", err, out)
	}
	start := time.Now()
	if err := eventually(60*time.Second, func() error {
		d := deploymentObject(t, ns, "web")
		if r, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); r != 1 {
			return fmt.Errorf("replicas %d, want Git's 1", r)
		}
		if d.GetUID() != uid {
			return fmt.Errorf("Deployment web was re-created: uid %s, was %s", d.GetUID(), uid)
		}
		return nil
	}); err != nil {
		t.Fatalf("a change applied in kube-gitops' name is not healed well before the resync: %v", err)
	}
	t.Logf("drift in kube-gitops' name healed in %s", time.Since(start).Round(100*time.Millisecond))
}
