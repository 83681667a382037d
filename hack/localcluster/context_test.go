package main

import (
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfig is what package test/cluster writes: context, cluster "local", admin user.
func kubeconfig(t *testing.T, current string) []byte {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:6443", CertificateAuthorityData: []byte("ca")}
	cfg.AuthInfos["kube-gitops-admin"] = &clientcmdapi.AuthInfo{Token: "secret-token"}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "kube-gitops-admin", Namespace: "default"}
	cfg.CurrentContext = current
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRenameContext(t *testing.T) {
	for _, tc := range []struct {
		name, current, to, wantErr string
	}{
		{name: "renamed", current: "local", to: "ace-test"},
		{name: "not a DNS label", current: "local", to: "Ace Test", wantErr: `--name "Ace Test"`},
		{name: "no current context", current: "gone", to: "ace-test", wantErr: `current context "gone" is not defined`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := renameContext(kubeconfig(t, tc.current), tc.to)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := clientcmd.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			ctx := cfg.Contexts[tc.to]
			if cfg.CurrentContext != tc.to || ctx == nil || ctx.Cluster != tc.to || ctx.AuthInfo != tc.to+"-admin" || ctx.Namespace != "default" {
				t.Fatalf("context %q = %+v (current %q), want cluster %s, user %s-admin", tc.to, ctx, cfg.CurrentContext, tc.to, tc.to)
			}
			if len(cfg.Contexts) != 1 || len(cfg.Clusters) != 1 || len(cfg.AuthInfos) != 1 {
				t.Errorf("want exactly one context, cluster and user, got %d, %d, %d", len(cfg.Contexts), len(cfg.Clusters), len(cfg.AuthInfos))
			}
			if got := cfg.Clusters[tc.to].Server; got != "https://127.0.0.1:6443" {
				t.Errorf("server = %s", got)
			}
			if got := cfg.AuthInfos[tc.to+"-admin"].Token; got != "secret-token" {
				t.Error("the admin token was not kept")
			}
		})
	}
}
