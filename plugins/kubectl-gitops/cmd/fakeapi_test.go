package cmd

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view/viewtest"
)

// evil is what a hostile server (or a Git author, through names and messages) can put in any
// string: an OSC 8 link whose text is "link", a clear-screen, a carriage return that lets the
// rest overwrite the line, and a right-to-left override. Neutralised, it reads "link".
const evil = "\x1b]8;;http://evil\x07link\x1b]8;;\x07\x1b[2J\r\u202e"

// evilName is evil without a "/", which client-go refuses in a name it puts in a URL: what the
// server may name a Promotion it created.
const evilName = "\x1b]8;;evil\x07link\x1b]8;;\x07\x1b[2J\r\u202e"

// hostileAPI serves, over real HTTP, desiredstate apps/web, every subresource the verbs read and
// promotions, with evil in every string a verb prints but web's own name (the plugin reads web by
// that name again). A get of web returns before; a watch sends after (settled, with a new history
// entry), then holds the stream open. Lists hold other too, whose name is evil as well.
type hostileAPI struct {
	before, after, other *v1alpha1.DesiredState
	// taint and taintName are what every printed string carries: evil and evilName, or nothing
	// for the golden tests of plain output.
	taint, taintName string
}

const apiBase = "/apis/gitops.kube-gitops.dev/v1alpha1"

func newHostileAPI(now time.Time) *hostileAPI { return newFakeAPI(now, evil, evilName) }

// newFakeAPI is hostileAPI with taint in every string the verbs print (taintName in a created
// Promotion's name).
func newFakeAPI(now time.Time, evil, evilName string) *hostileAPI {
	at := func(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }
	rev := "1a2b3c4d5e6f" + evil
	before := &v1alpha1.DesiredState{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "DesiredState"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps", ResourceVersion: "10", CreationTimestamp: at(time.Hour)},
		Spec: v1alpha1.DesiredStateSpec{
			Source: v1alpha1.Source{Path: "apps/web" + evil},
			Sync:   v1alpha1.SyncPolicy{Automated: true},
			Versions: []v1alpha1.VersionPin{
				{Name: "image" + evil, File: "envs/prod/web.yaml", Path: "image.tag"},
			},
		},
		Status: v1alpha1.DesiredStateStatus{
			Source:   v1alpha1.SourceStatus{Revision: rev, File: "clusters/pr" + evil + "od/web.yaml"},
			Sync:     v1alpha1.SyncStatus{Status: v1alpha1.SyncStatusSynced, Revision: rev},
			Health:   v1alpha1.HealthStatus{Status: v1alpha1.HealthProgressing, Message: "rolling" + evil + " out" + ctl(evil, "\u009b2J")},
			Versions: []v1alpha1.PinStatus{{Name: "image" + evil, Value: "1.1" + evil}},
			Resources: []v1alpha1.ResourceStatus{
				{Version: "v1", Kind: "Service" + evil, Namespace: "apps", Name: "web" + evil, Sync: "Synced", Health: "Healthy"},
				{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "apps" + evil, Name: "web", Sync: v1alpha1.SyncStatusCode("Synced" + evil),
					Health: "Progressing", Message: "1 of 2" + ctl(evil, "\x1b[1A\x1b[2K") + " ready" + evil + ctl(evil, "\u009b2K")},
			},
			LastSyncTime: &metav1.Time{Time: now.Add(-20 * time.Minute)}, // 20m: HumanDuration prints whole minutes from 10m, so a slow run still reads 20m
			History: []v1alpha1.SyncRecord{
				{Revision: rev, Time: at(3 * time.Hour), Result: v1alpha1.SyncResult("Succeeded" + evil), Trigger: "alice" + evil, Message: "applied" + ctl(evil, "\x1b[8m") + " hidden" + evil},
			},
			Conditions: []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "Progressing", Message: "waiting" + evil}},
		},
	}
	after := before.DeepCopy()
	after.ResourceVersion = "11"
	after.Status.Health = v1alpha1.HealthStatus{Status: v1alpha1.HealthHealthy}
	after.Status.Resources[1].Sync, after.Status.Resources[1].Health, after.Status.Resources[1].Message = "Synced", "Healthy", ""
	after.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "SyncedAndHealthy", Message: "synced and healthy"}}
	after.Status.History = append([]v1alpha1.SyncRecord{{Revision: rev, Time: at(20 * time.Minute), Result: "Succeeded", Trigger: "bob" + evil, Message: "applied 2" + evil}}, after.Status.History...)
	other := before.DeepCopy()
	other.Name, other.Namespace = "db"+evil, "team"+evil
	return &hostileAPI{before: before, after: after, other: other, taint: evil, taintName: evilName}
}

func (h *hostileAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	ns := apiBase + "/namespaces/apps"
	web := ns + "/desiredstates/web"
	switch p := r.URL.Path; {
	case p == ns+"/desiredstates" && r.URL.Query().Get("watch") != "":
		h.watch(w, r)
	case p == ns+"/desiredstates":
		writeJSON(w, http.StatusOK, list(h.before, h.other))
	case p == apiBase+"/desiredstates":
		writeJSON(w, http.StatusOK, list(h.before, h.other))
	case p == web:
		writeJSON(w, http.StatusOK, h.before)
	case p == web+"/history":
		writeJSON(w, http.StatusOK, &v1alpha1.DesiredStateHistory{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "DesiredStateHistory"},
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps"},
			Items:      h.after.Status.History,
		})
	case p == web+"/diff" && r.URL.Query().Get("revision") != "":
		failure(w, http.StatusBadRequest, "BadRequest", "revision "+r.URL.Query().Get("revision")+h.taint+" not found")
	case p == web+"/diff":
		writeJSON(w, http.StatusOK, hostileDiff(h.taint))
	case p == web+"/sync" && r.Method == http.MethodPost:
		var s v1alpha1.DesiredStateSync
		_ = json.NewDecoder(r.Body).Decode(&s)
		s.Accepted, s.Message = true, "sync of apps/web"+h.taint+" queued"
		writeJSON(w, http.StatusCreated, &s)
	case p == ns+"/promotions" && r.Method == http.MethodPost:
		var pr v1alpha1.Promotion
		_ = json.NewDecoder(r.Body).Decode(&pr)
		pr.Name = pr.GenerateName + "x7k2p" + h.taintName
		writeJSON(w, http.StatusCreated, &pr)
	case strings.HasPrefix(p, ns+"/promotions/"):
		writeJSON(w, http.StatusOK, &v1alpha1.Promotion{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "Promotion"},
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "apps"},
			Status: v1alpha1.PromotionStatus{Phase: v1alpha1.PromotionSucceeded, Commit: "abc1234def", Branch: "main" + h.taint,
				Changes: []v1alpha1.PinChange{{Name: "image" + h.taint, Old: "1.1" + h.taint, New: "1.2" + h.taint}}},
		})
	default:
		failure(w, http.StatusInternalServerError, "InternalError", "boom"+h.taint+"\nsecond line")
	}
}

// watch sends one change, after, and holds the stream open until the client goes.
func (h *hostileAPI) watch(w http.ResponseWriter, r *http.Request) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(h.after)
	if err != nil {
		panic(err)
	}
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "MODIFIED", "object": obj})
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

func hostileDiff(evil string) *v1alpha1.DesiredStateDiff {
	obj := func(name, value string) runtime.RawExtension {
		data, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": "apps"}, "data": map[string]any{"k": value}})
		return runtime.RawExtension{Raw: data}
	}
	name := "web" + ctl(evil, "\n+++ desired/forged") + evil
	return &v1alpha1.DesiredStateDiff{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "DesiredStateDiff"},
		Resources: []v1alpha1.ResourceDiff{{
			Version: "v1", Kind: "ConfigMap", Namespace: "apps", Name: name, Action: "Update",
			Live: obj(name, "old"+evil), Desired: obj(name, "new"+ctl(evil, "\u202e\u009b31m")), Message: "dry run" + evil,
		}},
	}
}

// ctl is s, a forgery or control sequence of its own, when the server is hostile (taint is set).
func ctl(taint, s string) string {
	if taint == "" {
		return ""
	}
	return s
}

func list(items ...*v1alpha1.DesiredState) *v1alpha1.DesiredStateList {
	l := &v1alpha1.DesiredStateList{TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "DesiredStateList"}}
	for _, ds := range items {
		l.Items = append(l.Items, *ds)
	}
	return l
}

func writeJSON(w http.ResponseWriter, code int, obj any) {
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(obj)
}

func failure(w http.ResponseWriter, code int, reason, message string) {
	writeJSON(w, code, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status: metav1.StatusFailure, Reason: metav1.StatusReason(reason), Code: int32(code), Message: message})
}

func startHostileAPI(t *testing.T) (*hostileAPI, string) {
	t.Helper()
	api := newHostileAPI(time.Now())
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return api, viewtest.Kubeconfig(t, srv.URL)
}
