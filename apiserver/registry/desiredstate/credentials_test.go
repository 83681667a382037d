package desiredstate

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/desired"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

const canary = "canary-Pa55-0xfeed"

// TestServedDesiredStatesHideCredentials: repository URLs holding credentials are served without
// them by get, list, watch and the read-only errors, while the store keeps them for fetching.
func TestServedDesiredStatesHideCredentials(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.RecordsResource: "DesiredStateRecordList"})
	reader := store.NewReader(client)
	go reader.Run(ctx)
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return reader.HasSynced(), nil
	}); err != nil {
		t.Fatal(err)
	}
	rest := NewREST(reader, GitLocation{RepoURL: "https://gitops:" + canary + "@git.example/acme/config.git", Ref: "main", Path: "clusters/test"})
	nsCtx := genericapirequest.WithNamespace(ctx, "apps")
	w, err := rest.Watch(nsCtx, &metainternalversion.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	fromGit := &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Name: "winterlight", Namespace: "apps"}}
	fromGit.Spec.Source.RepoURL = "https://me:" + canary + "@git.example/acme/app.git"
	fromGit.Spec.Helm = &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{RepoURL: "https://ci:" + canary + "@charts.example/stable", Name: "winterlight"}}
	fromGit.Status.Source = v1alpha1.SourceStatus{RepoURL: "https://gitops:" + canary + "@git.example/acme/config.git", File: "clusters/test/winterlight.yaml"}
	plain := &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Name: "guestbook", Namespace: "apps"}}
	plain.Spec.Source.Path = "apps/guestbook"
	if _, err := store.NewWriter(client, reader, 2).Publish(ctx, &desired.Result{States: []*v1alpha1.DesiredState{fromGit, plain}}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		_, ok := reader.Get("apps", "winterlight")
		return ok, nil
	}); err != nil {
		t.Fatal(err)
	}

	shown := func(what string, obj runtime.Object) {
		t.Helper()
		data, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), canary) {
			t.Errorf("%s shows the credentials:\n%s", what, data)
		}
		if what != "guestbook" && !strings.Contains(string(data), `"repoURL":"https://xxxxx@git.example/acme/app.git"`) {
			t.Errorf("%s does not show the redacted URL:\n%s", what, data)
		}
	}
	got, err := rest.Get(nsCtx, "winterlight", &metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	shown("get", got)
	list, err := rest.List(nsCtx, &metainternalversion.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	shown("list", list)
	for seen := 0; seen < 2; {
		select {
		case ev := <-w.ResultChan():
			s := ev.Object.(*v1alpha1.DesiredState)
			shown(s.Name, s)
			seen++
		case <-time.After(10 * time.Second):
			t.Fatal("no watch events")
		}
	}
	_, _, err = rest.Update(nsCtx, "winterlight", nil, nil, nil, false, &metav1.UpdateOptions{})
	if err == nil || strings.Contains(err.Error(), canary) || !strings.Contains(err.Error(), "https://xxxxx@git.example/acme/config.git") {
		t.Errorf("read-only error: %v", err)
	}

	// The store keeps the URL as written: the fetch needs it.
	if kept, _ := reader.Get("apps", "winterlight"); kept.Spec.Source.RepoURL != fromGit.Spec.Source.RepoURL {
		t.Errorf("the cached spec was changed: %s", kept.Spec.Source.RepoURL)
	}
}
