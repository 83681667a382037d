package desired

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// app is a DesiredState file of apps/name that depends on deps (namespace/name or name).
func app(name string, deps ...string) string {
	var list []string
	for _, d := range deps {
		if ns, n, ok := strings.Cut(d, "/"); ok {
			list = append(list, fmt.Sprintf("{name: %s, namespace: %s}", n, ns))
		} else {
			list = append(list, fmt.Sprintf("{name: %s}", d))
		}
	}
	return fmt.Sprintf(`apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: %s, namespace: apps}
spec:
  source: {path: deploy/%s}
  dependsOn: [%s]
`, name, name, strings.Join(list, ", "))
}

func TestDependencyGraph(t *testing.T) {
	files := memFiles{
		"clusters/test/db.yaml":     app("db"),
		"clusters/test/api.yaml":    app("api", "db"),
		"clusters/test/web.yaml":    app("web", "api", "apps/db"),
		"clusters/test/a.yaml":      app("a", "b"),
		"clusters/test/b.yaml":      app("b", "c"),
		"clusters/test/c.yaml":      app("c", "a"),
		"clusters/test/lost.yaml":   app("lost", "nowhere"),
		"clusters/test/broken.yaml": strings.Replace(app("broken"), "deploy/broken", "/etc", 1),
		"clusters/test/waits.yaml":  app("waits", "broken"),
	}
	res, err := Load(files, "clusters/test", Origin{})
	if err != nil {
		t.Fatal(err)
	}
	var loaded []string
	for _, s := range res.States {
		loaded = append(loaded, s.Name)
	}
	// waits depends on a DesiredState whose file is broken: it keeps its last good spec, so
	// waits is loaded and waits for it.
	if got := strings.Join(loaded, ","); got != "api,db,waits,web" {
		t.Errorf("loaded %s, want api,db,waits,web", got)
	}
	want := map[string]string{
		"clusters/test/a.yaml":    "spec.dependsOn: dependency cycle apps/a → apps/b → apps/c → apps/a (also in clusters/test/b.yaml, clusters/test/c.yaml)",
		"clusters/test/b.yaml":    "spec.dependsOn: dependency cycle apps/a → apps/b → apps/c → apps/a (also in clusters/test/a.yaml, clusters/test/c.yaml)",
		"clusters/test/c.yaml":    "dependency cycle apps/a → apps/b → apps/c → apps/a",
		"clusters/test/lost.yaml": "spec.dependsOn[0]: DesiredState apps/nowhere is not defined in this environment's files",
	}
	got := map[string]string{}
	for _, e := range res.Errors {
		got[e.File] = e.Message
		if e.File != "clusters/test/broken.yaml" && (e.Namespace != "apps" || e.Name == "") {
			t.Errorf("error %q does not name its DesiredState", e.Error())
		}
	}
	for file, msg := range want {
		if !strings.Contains(got[file], msg) {
			t.Errorf("%s: error %q, want one containing %q", file, got[file], msg)
		}
	}
	if len(res.Errors) != len(want)+1 {
		t.Errorf("errors %v, want one per cycle member, the missing dependency and the broken file", res.Errors)
	}
}

// TestCrossNamespaceCycleIsNoFileError: a cycle through another namespace is left to the sync
// gate (team A must not refuse team B's file by adding an edge that may never be honoured); a
// cycle within one namespace is still refused, even when it is part of a larger one across
// namespaces.
func TestCrossNamespaceCycleIsNoFileError(t *testing.T) {
	in := func(ns, file string) string {
		return strings.Replace(file, "namespace: apps}", "namespace: "+ns+"}", 1)
	}
	files := memFiles{
		"clusters/test/a.yaml": in("team-a", app("a", "team-b/b")),
		"clusters/test/b.yaml": in("team-b", app("b", "team-a/a")),
		"clusters/test/x.yaml": app("x", "y"),
		"clusters/test/y.yaml": app("y", "x", "team-c/z"),
		"clusters/test/z.yaml": in("team-c", app("z", "apps/x")),
	}
	res, err := Load(files, "clusters/test", Origin{})
	if err != nil {
		t.Fatal(err)
	}
	var loaded []string
	for _, s := range res.States {
		loaded = append(loaded, s.Namespace+"/"+s.Name)
	}
	slices.Sort(loaded)
	if got := strings.Join(loaded, ","); got != "team-a/a,team-b/b,team-c/z" {
		t.Errorf("loaded %s, want team-a/a,team-b/b,team-c/z", got)
	}
	got := map[string]string{}
	for _, e := range res.Errors {
		got[e.File] = e.Message
	}
	for _, file := range []string{"clusters/test/x.yaml", "clusters/test/y.yaml"} {
		if !strings.Contains(got[file], "dependency cycle apps/x → apps/y → apps/x") {
			t.Errorf("%s: error %q, want the same-namespace cycle apps/x → apps/y → apps/x", file, got[file])
		}
	}
	if len(res.Errors) != 2 {
		t.Errorf("errors %v, want only the two of the same-namespace cycle", res.Errors)
	}
}

func TestDependsOnAndWindowFields(t *testing.T) {
	for _, tc := range []struct{ name, spec, want string }{
		{"self", "dependsOn: [{name: app}]", "spec.dependsOn[0]: a DesiredState cannot depend on itself"},
		{"self by namespace", "dependsOn: [{name: app, namespace: apps}]", "cannot depend on itself"},
		{"twice", "dependsOn: [{name: db}, {name: db, namespace: apps}]", "spec.dependsOn[1]: apps/db is listed twice"},
		{"bad name", "dependsOn: [{name: DB}]", `spec.dependsOn[0].name: "DB" is not a valid name`},
		{"no name", "dependsOn: [{namespace: x}]", "spec.dependsOn[0].name: is required"},
		{"window kind", "sync: {windows: [{kind: sometimes, schedule: '0 1 * * *', duration: 1h}]}", `spec.sync.windows[0].kind: "sometimes" is neither allow nor deny`},
		{"window schedule", "sync: {windows: [{kind: deny, schedule: 'nightly', duration: 1h}]}", `spec.sync.windows[0].schedule: "nightly"`},
		{"window duration", "sync: {windows: [{kind: deny, schedule: '0 1 * * *'}]}", "spec.sync.windows[0].duration: is required"},
		{"window zone", "sync: {windows: [{kind: deny, schedule: '0 1 * * *', duration: 1h, timeZone: Moon/Base}]}", `spec.sync.windows[0].timeZone: "Moon/Base"`},
		{"window too long", "sync: {windows: [{kind: deny, schedule: '0 1 * * *', duration: 9000h}]}", "spec.sync.windows[0].duration: 9000h0m0s is longer than a year"},
		{"too many windows", "sync: {windows: [" + strings.TrimSuffix(strings.Repeat("{kind: deny, schedule: '* * * * * *', duration: 1000h}, ", 11), ", ") + "]}",
			"spec.sync.windows: has 11 windows, at most 10 are allowed"},
		{"good window", "sync: {windows: [{kind: allow, schedule: '0 1 * * 1-5', duration: 2h, timeZone: Europe/Berlin, manualSync: false}]}", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := "apiVersion: gitops.kube-gitops.dev/v1alpha1\nkind: DesiredState\nmetadata: {name: app, namespace: apps}\nspec:\n  source: {path: deploy}\n  " + tc.spec + "\n"
			files := memFiles{"clusters/test/app.yaml": file, "clusters/test/db.yaml": strings.Replace(file, "name: app,", "name: db,", 1)}
			if tc.name != "good window" {
				files["clusters/test/db.yaml"] = app("db")
			}
			res, err := Load(files, "clusters/test", Origin{})
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, e := range res.Errors {
				msgs = append(msgs, e.Error())
			}
			all := strings.Join(msgs, "\n")
			if tc.want == "" && all != "" || !strings.Contains(all, tc.want) || tc.want != "" && len(res.States) != 1 {
				t.Errorf("errors:\n%s\nwant one containing %q (and app refused)", all, tc.want)
			}
		})
	}
}
