package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kube-gitops/kube-gitops/pkg/servingcert"
)

// The optional parts of the chart need CRDs this machine has no operator for. Their real CRDs
// come from the operators' Go modules (through the Go module proxy, into the module cache), not
// from the main go.mod: prometheus-operator's main module is served up to v0.85.0.
const (
	prometheusOperatorModule = "github.com/prometheus-operator/prometheus-operator@v0.85.0"
	certManagerModule        = "github.com/cert-manager/cert-manager@v1.21.2"
)

// installedNamespace is the server's namespace, as install defaults it.
const installedNamespace = "kube-gitops"

// TestInstalled installs kube-gitops into a cluster of its own as a user would: every manifest
// and the install itself pass a server-side dry run (the optional parts against the real CRDs
// of prometheus-operator and cert-manager), then `kubectl gitops install` applies the chart with
// replicas 0 (there is no container runtime; kwok would run fake Pods that the Service would
// route to) and bin/gitops-apiserver runs as the Deployment's container would: its exact args
// and env, the chart's ServiceAccount's token, the chart's TLS Secret as files, reached through
// the chart's Service and APIService. It serves prod of a copy of the fixture repository: the
// APIService becomes Available, the apps of an opted-in namespace sync, a Promotion from test
// commits to Git and prod converges, a kubectl patch is healed, and /metrics shows each app.
func TestInstalled(t *testing.T) {
	ic := startInstallCluster(t)
	ctx := t.Context()
	repoURL, err := e.git.CreateRepo("installed-config", filepath.Join(e.root, "test/fixtures/winterlight-config"))
	if err != nil {
		t.Fatal(err)
	}
	// What a user creates first: the server's namespace and the Git credentials Secret.
	if _, err := ic.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: installedNamespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-credentials", Namespace: installedNamespace},
		StringData: map[string]string{"username": "gitops", "password": e.gitPass}}
	if _, err := ic.kube.CoreV1().Secrets(installedNamespace).Create(ctx, creds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	install := []string{"install", "--repo", repoURL, "--path", "clusters/prod", "--environment", "prod", "--git-credentials-secret", "git-credentials"}

	checkServerDryRuns(t, ic, install)

	out := ic.plugin(t, append(install, "--set", "replicas=0", "--wait=false")...)
	if err := containsAll(out, "secret/gitops-apiserver-tls -n kube-gitops created", "deployment.apps/gitops-apiserver -n kube-gitops serverside-applied"); err != nil {
		t.Fatal(err)
	}
	aged := ageServingCert(t, ic)
	server := startAsDeployment(t, ic)
	if err := writeEndpointSlice(ctx, ic.kube, server.port, endpoint{server.host, true}); err != nil {
		t.Fatal(err)
	}
	if err := eventually(90*time.Second, func() error {
		api, err := ic.dyn.Resource(apiServices).Get(ctx, "v1alpha1.gitops.kube-gitops.dev", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !hasCondition(api, "Available") {
			conds, _, _ := unstructured.NestedSlice(api.Object, "status", "conditions")
			return fmt.Errorf("APIService not Available: %v", conds)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n--- server log ---\n%s", err, tailFile(server.logPath, 40))
	}
	checkServingCertRenewed(t, ic, server, aged)

	// A namespace's admin opts in; both apps of prod sync and become healthy.
	if _, err := ic.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ic.plugin(t, "init-namespace", "apps")
	for _, app := range []string{"winterlight", "guestbook"} {
		if err := eventually(120*time.Second, func() error { return syncedAndHealthy(ctx, ic, "apps", app) }); err != nil {
			t.Fatalf("%v\n--- server log ---\n%s", err, tailFile(server.logPath, 40))
		}
	}

	checkAppMetrics(t, ic, server)
	checkPromotion(t, ic, "installed-config")
	checkDriftHealed(t, ic)
}

// checkServerDryRuns has the cluster check every manifest without changing anything: the chart
// as install renders it, by default and with every optional part on (against the real CRDs of
// prometheus-operator and cert-manager), with kubectl apply --dry-run=server and with the
// plugin's own install --dry-run=server.
func checkServerDryRuns(t *testing.T, ic *installCluster, install []string) {
	t.Helper()
	installOptionalCRDs(t, ic)
	allOn := []string{"--set", "certManager.enabled=true", "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.serviceMonitor.tokenSecret.name=prometheus-token",
		"--set", "metrics.prometheusRule.enabled=true", "--set", "networkPolicy.enabled=true", "--set", "webhook.secretName=webhook-secret"}
	for _, tc := range []struct {
		name  string
		extra []string
		want  []string
	}{
		{name: "default", want: []string{"deployment.apps/gitops-apiserver serverside-applied (server dry run)",
			"apiservice.apiregistration.k8s.io/v1alpha1.gitops.kube-gitops.dev serverside-applied (server dry run)"}},
		{name: "every optional part", extra: allOn, want: []string{
			"servicemonitor.monitoring.coreos.com/gitops-apiserver serverside-applied (server dry run)",
			"prometheusrule.monitoring.coreos.com/gitops-apiserver serverside-applied (server dry run)",
			"certificate.cert-manager.io/gitops-apiserver serverside-applied (server dry run)",
			"issuer.cert-manager.io/gitops-apiserver serverside-applied (server dry run)",
			"networkpolicy.networking.k8s.io/gitops-apiserver serverside-applied (server dry run)"}},
	} {
		rendered := ic.plugin(t, append(append(append([]string{}, install...), "--dry-run"), tc.extra...)...)
		file := filepath.Join(e.dir, "installed-"+strings.ReplaceAll(tc.name, " ", "-")+".yaml")
		if err := os.WriteFile(file, []byte(rendered), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := ic.kubectl("apply", "--server-side", "--dry-run=server", "-f", file)
		if err != nil {
			t.Fatalf("%s: the cluster refuses the rendered chart: %v\n%s", tc.name, err, out)
		}
		if err := containsAll(out, tc.want...); err != nil {
			t.Errorf("%s: kubectl apply --dry-run=server: %v", tc.name, err)
		}
		out = ic.plugin(t, append(append(append([]string{}, install...), "--dry-run=server"), tc.extra...)...)
		if err := containsAll(out, "the cluster accepts every object"); err != nil {
			t.Errorf("%s: kubectl gitops install --dry-run=server: %v", tc.name, err)
		}
	}
	if _, err := ic.kube.AppsV1().Deployments(installedNamespace).Get(t.Context(), "gitops-apiserver", metav1.GetOptions{}); err == nil {
		t.Error("a dry run left a Deployment")
	}
}

// installOptionalCRDs installs the CRDs of the chart's optional parts from the operators' own
// modules: ServiceMonitor and PrometheusRule (prometheus-operator), Issuer and Certificate
// (cert-manager).
func installOptionalCRDs(t *testing.T, ic *installCluster) {
	t.Helper()
	promDir, certDir := moduleDir(t, prometheusOperatorModule), moduleDir(t, certManagerModule)
	files := []string{
		filepath.Join(promDir, "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"),
		filepath.Join(promDir, "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"),
		filepath.Join(certDir, "deploy/crds/cert-manager.io_issuers.yaml"),
		filepath.Join(certDir, "deploy/crds/cert-manager.io_certificates.yaml"),
	}
	args := []string{"apply", "--server-side"}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	if out, err := ic.kubectl(args...); err != nil {
		t.Fatalf("install the optional parts' CRDs: %v\n%s", err, out)
	}
	if out, err := ic.kubectl("wait", "--for", "condition=Established", "--timeout", "60s",
		"crd/servicemonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com",
		"crd/issuers.cert-manager.io", "crd/certificates.cert-manager.io"); err != nil {
		t.Fatalf("the optional parts' CRDs: %v\n%s", err, out)
	}
}

// moduleDir downloads module@version into the Go module cache (a no-op once it is there) and
// returns its directory. It runs outside the repository, so go.mod is left alone.
func moduleDir(t *testing.T, module string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GO111MODULE=on")
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jsonErr := json.Unmarshal(out, &info); jsonErr != nil || info.Error != "" || info.Dir == "" {
		t.Fatalf("go mod download %s: %v %s %s (is the Go module proxy reachable?)", module, err, info.Error, out)
	}
	return info.Dir
}

// servingHosts are the names the aggregator checks the serving certificate against.
var servingHosts = []string{"gitops-apiserver." + installedNamespace + ".svc", "gitops-apiserver." + installedNamespace + ".svc.cluster.local"}

// ageServingCert puts into the install's Secret a certificate from its CA (in a Secret of its
// own: the serving one holds no CA key) that has 10 minutes of its 3h10m left, as the server
// would find it after most of a year, and returns it.
func ageServingCert(t *testing.T, ic *installCluster) []byte {
	t.Helper()
	secrets := ic.kube.CoreV1().Secrets(installedNamespace)
	secret, err := secrets.Get(t.Context(), "gitops-apiserver-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := secret.Data[servingcert.CAKeyKey]; ok {
		t.Error("the serving certificate's Secret holds the CA's key")
	}
	caSecret, err := secrets.Get(t.Context(), "gitops-apiserver-ca", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := servingcert.ParseCA(caSecret.Data)
	if err != nil {
		t.Fatalf("the install's CA Secret: %v", err)
	}
	old, err := ca.Issue(servingHosts, time.Now().Add(-3*time.Hour), 3*time.Hour+10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	secret.Data[servingcert.CertKey], secret.Data[servingcert.KeyKey] = old.Cert, old.Key
	if _, err := secrets.Update(t.Context(), secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return old.Cert
}

// checkServingCertRenewed waits for the server to renew the aged certificate in its Secret (from
// the same CA, so the APIService's caBundle stays), mounts the new one as the kubelet would, and
// waits for the server to serve it.
func checkServingCertRenewed(t *testing.T, ic *installCluster, s *deployedServer, aged []byte) {
	t.Helper()
	ctx := t.Context()
	var renewed *x509.Certificate
	if err := eventually(30*time.Second, func() error {
		secret, err := ic.kube.CoreV1().Secrets(installedNamespace).Get(ctx, "gitops-apiserver-tls", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if string(secret.Data[servingcert.CertKey]) == string(aged) {
			return errors.New("the Secret still holds the aged certificate")
		}
		block, _ := pem.Decode(secret.Data[servingcert.CertKey])
		if block == nil {
			return errors.New("tls.crt holds no PEM certificate")
		}
		renewed, err = x509.ParseCertificate(block.Bytes)
		return err
	}); err != nil {
		t.Fatalf("%v\n--- server log ---\n%s", err, tailFile(s.logPath, 40))
	}
	api, err := ic.dyn.Resource(apiServices).Get(ctx, "v1alpha1.gitops.kube-gitops.dev", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	caBundle, _, _ := unstructured.NestedString(api.Object, "spec", "caBundle")
	ca, err := base64.StdEncoding.DecodeString(caBundle)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	if _, err := renewed.Verify(x509.VerifyOptions{Roots: roots, DNSName: servingHosts[0]}); err != nil {
		t.Errorf("the APIService's caBundle does not verify the renewed certificate: %v", err)
	}
	if left := time.Until(renewed.NotAfter); left < 300*24*time.Hour {
		t.Errorf("the renewed certificate ends at %s", renewed.NotAfter)
	}
	s.syncVolumes(t)
	if err := eventually(90*time.Second, func() error {
		conn, err := tls.Dial("tcp", net.JoinHostPort(s.host, strconv.Itoa(s.port)), s.tlsConfig(t))
		if err != nil {
			return err
		}
		defer conn.Close()
		if served := conn.ConnectionState().PeerCertificates[0]; !served.Equal(renewed) {
			return fmt.Errorf("the server still serves the certificate ending %s", served.NotAfter)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	t.Logf("the server renewed its serving certificate (now until %s) and serves it", renewed.NotAfter.UTC().Format(time.RFC3339))
}

// deployedServer is bin/gitops-apiserver run as the Deployment's container.
type deployedServer struct {
	*gitopsServer
	caFile     string // the chart's TLS Secret's ca.crt
	ic         *installCluster
	volumes    []corev1.Volume
	volumeDirs map[string]string // volume name -> the directory of the test it is mounted as
}

// syncVolumes writes the Secret volumes again from the cluster, as the kubelet does when a
// mounted Secret changes.
func (s *deployedServer) syncVolumes(t *testing.T) {
	t.Helper()
	for name, dir := range s.volumeDirs {
		fillVolume(t, s.ic, s.volumes, name, dir)
	}
}

// startAsDeployment runs bin/gitops-apiserver with the container args and env of the installed
// Deployment, plus --kubeconfig with a TokenRequest token of the Pod's ServiceAccount. The
// volumes become directories of the test: Secret volumes hold the Secret's items, emptyDirs
// are empty, and only the mount paths in the args and env (e.g. /tls/tls.crt) are rewritten to
// them. It returns once the server serves TLS with the Secret's certificate.
func startAsDeployment(t *testing.T, ic *installCluster) *deployedServer {
	t.Helper()
	ctx := t.Context()
	deploy, err := ic.kube.AppsV1().Deployments(installedNamespace).Get(ctx, "gitops-apiserver", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := deploy.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("the Deployment has %d containers; this test runs one", len(pod.Containers))
	}
	c := pod.Containers[0]
	root := filepath.Join(e.dir, "installed-pod")
	mounts := map[string]string{} // mount path -> directory of the test
	s := &deployedServer{caFile: filepath.Join(root, "ca.crt"), ic: ic, volumes: pod.Volumes, volumeDirs: map[string]string{}}
	for _, m := range c.VolumeMounts {
		dir := filepath.Join(root, m.Name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		mounts[m.MountPath], s.volumeDirs[m.Name] = dir, dir
	}
	s.syncVolumes(t)
	rewrite := func(s string) string {
		for mountPath, dir := range mounts {
			if s == mountPath || strings.HasPrefix(s, mountPath+"/") {
				return dir + strings.TrimPrefix(s, mountPath)
			}
		}
		return s
	}
	args := make([]string, 0, len(c.Args)+2)
	port := 0
	for _, arg := range c.Args {
		if flag, value, ok := strings.Cut(arg, "="); ok {
			arg = flag + "=" + rewrite(value)
			if flag == "--secure-port" {
				port, _ = strconv.Atoi(value)
			}
		}
		args = append(args, arg)
	}
	if port == 0 {
		t.Fatalf("the Deployment's args name no --secure-port: %v", c.Args)
	}
	// A container's environment is what its spec says, nothing inherited.
	var env []string
	for _, v := range c.Env {
		switch {
		case v.ValueFrom == nil:
			env = append(env, v.Name+"="+rewrite(v.Value))
		case v.ValueFrom.FieldRef != nil && v.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env = append(env, v.Name+"="+installedNamespace)
		default:
			t.Fatalf("env %s: a source this test cannot provide (%+v)", v.Name, v.ValueFrom)
		}
	}
	kubeconfig := filepath.Join(root, "serviceaccount.kubeconfig")
	if err := ic.ServiceAccountKubeconfig(ctx, installedNamespace, pod.ServiceAccountName, kubeconfig); err != nil {
		t.Fatal(err)
	}
	// The Deployment's port is fixed (no Pod network here): another process on it is not ours.
	if l, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(port))); err != nil {
		t.Fatalf("port %d, the Deployment's --secure-port, is taken on this machine (another installed server running?): %v", port, err)
	} else {
		l.Close()
	}

	s.gitopsServer = &gitopsServer{host: "127.0.0.1", port: port, logPath: filepath.Join(e.dir, "installed-gitops-apiserver.log"), done: make(chan struct{})}
	secret, err := ic.kube.CoreV1().Secrets(installedNamespace).Get(ctx, "gitops-apiserver-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.caFile, secret.Data["ca.crt"], 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(filepath.Join(e.root, "bin/gitops-apiserver"), append(args, "--kubeconfig", kubeconfig)...)
	s.cmd.Env = env
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); logFile.Close(); close(s.done) }()
	t.Cleanup(s.stop)
	t.Logf("gitops-apiserver runs as the Deployment's container: %s --kubeconfig %s", strings.Join(args, " "), kubeconfig)
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
		select {
		case <-s.done:
			return false, fmt.Errorf("gitops-apiserver exited:\n%s", tailFile(s.logPath, 30))
		default:
		}
		conn, err := tls.Dial("tcp", net.JoinHostPort(s.host, strconv.Itoa(s.port)), s.tlsConfig(t))
		if err != nil {
			return false, nil
		}
		return true, conn.Close()
	})
	if err != nil {
		t.Fatalf("gitops-apiserver does not serve with the chart's certificate: %v\n%s", err, tailFile(s.logPath, 30))
	}
	return s
}

// fillVolume writes the items of the Pod's volume name into dir, as the kubelet would mount it.
func fillVolume(t *testing.T, ic *installCluster, volumes []corev1.Volume, name, dir string) {
	t.Helper()
	for _, v := range volumes {
		if v.Name != name {
			continue
		}
		switch {
		case v.EmptyDir != nil:
		case v.Secret != nil:
			secret, err := ic.kube.CoreV1().Secrets(installedNamespace).Get(t.Context(), v.Secret.SecretName, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("volume %s: %v", name, err)
			}
			for _, item := range v.Secret.Items {
				if err := os.WriteFile(filepath.Join(dir, item.Path), secret.Data[item.Key], 0o600); err != nil {
					t.Fatal(err)
				}
			}
		default:
			t.Fatalf("volume %s is neither an emptyDir nor a Secret: teach this test to provide it", name)
		}
		return
	}
	t.Fatalf("the container mounts volume %s, which the Pod does not have", name)
}

// tlsConfig trusts the chart's CA and checks the name the aggregator checks.
func (s *deployedServer) tlsConfig(t *testing.T) *tls.Config {
	ca, err := os.ReadFile(s.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &tls.Config{RootCAs: pool, ServerName: "gitops-apiserver." + installedNamespace + ".svc"}
}

func syncedAndHealthy(ctx context.Context, ic *installCluster, namespace, name string) error {
	u, err := ic.dyn.Resource(desiredStates).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	sync, _, _ := unstructured.NestedString(u.Object, "status", "sync", "status")
	health, _, _ := unstructured.NestedString(u.Object, "status", "health", "status")
	if sync != "Synced" || health != "Healthy" {
		msg, _, _ := unstructured.NestedString(u.Object, "status", "sync", "message")
		return fmt.Errorf("%s/%s: %s, %s (%s)", namespace, name, sync, health, msg)
	}
	return nil
}

// checkAppMetrics scrapes /metrics as Prometheus would (its ServiceAccount's token, allowed
// get on /metrics) and finds each app's status gauges.
func checkAppMetrics(t *testing.T, ic *installCluster, s *deployedServer) {
	t.Helper()
	ctx := t.Context()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "prometheus", Namespace: installedNamespace}}
	if _, err := ic.kube.CoreV1().ServiceAccounts(installedNamespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "metrics-reader"},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}
	if _, err := ic.kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-metrics-reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa.Name, Namespace: installedNamespace}}}
	if _, err := ic.kube.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, err := ic.kube.CoreV1().ServiceAccounts(installedNamespace).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: s.tlsConfig(t)}, Timeout: 10 * time.Second}
	url := fmt.Sprintf("https://%s/metrics", net.JoinHostPort(s.host, strconv.Itoa(s.port)))
	var want []string
	for _, app := range []string{"winterlight", "guestbook"} {
		for _, gauge := range []string{"out_of_sync", "degraded", "stale"} {
			want = append(want, fmt.Sprintf(`gitops_desiredstate_%s{app=%q,app_namespace="apps"} 0`, gauge, app))
		}
	}
	// The authorizer caches the new binding's answer for a moment: wait for a 200.
	if err := eventually(30*time.Second, func() error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+tok.Status.Token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /metrics: %s: %s", resp.Status, body)
		}
		return containsAll(string(body), want...)
	}); err != nil {
		t.Error(err)
	}
}

// checkPromotion moves test to 1.1.4 in Git and promotes winterlight to prod with a Promotion:
// it succeeds with a commit of prod's values, and prod converges.
func checkPromotion(t *testing.T, ic *installCluster, repo string) {
	t.Helper()
	ctx := t.Context()
	testValues, err := e.git.ReadFile(repo, "main", "envs/test/winterlight.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.git.Commit(repo, "main", map[string]string{"envs/test/winterlight.yaml": strings.Replace(testValues, `tag: "1.1.2"`, `tag: "1.1.4"`, 1)}, "test runs 1.1.4"); err != nil {
		t.Fatal(err)
	}
	promotion := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gitops.kube-gitops.dev/v1alpha1", "kind": "Promotion",
		"metadata": map[string]any{"name": "winterlight-to-prod", "namespace": "apps"},
		"spec":     map[string]any{"desiredState": "winterlight"},
	}}
	if _, err := ic.dyn.Resource(promotions).Namespace("apps").Create(ctx, promotion, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var commit string
	if err := eventually(60*time.Second, func() error {
		u, err := ic.dyn.Resource(promotions).Namespace("apps").Get(ctx, "winterlight-to-prod", metav1.GetOptions{})
		if err != nil {
			return err
		}
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		msg, _, _ := unstructured.NestedString(u.Object, "status", "message")
		commit, _, _ = unstructured.NestedString(u.Object, "status", "commit")
		if phase != "Succeeded" || commit == "" {
			return fmt.Errorf("promotion %s (commit %q): %s", phase, commit, msg)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("Promotion winterlight-to-prod succeeded with commit %s", commit)
	if head, err := e.git.Head(repo, "main"); err != nil || head != commit {
		t.Errorf("main is at %s (err %v), not at the promotion's commit %s", head, err, commit)
	}
	prodValues, err := e.git.ReadFile(repo, commit, "envs/prod/winterlight.yaml")
	if err != nil {
		t.Fatalf("the promotion's commit %s: %v", commit, err)
	}
	if !strings.Contains(prodValues, `tag: "1.1.4"`) {
		t.Errorf("prod's values at the promotion's commit:\n%s", prodValues)
	}
	if err := eventually(90*time.Second, func() error {
		d, err := ic.kube.AppsV1().Deployments("apps").Get(ctx, "winterlight", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":1.1.4") {
			return fmt.Errorf("prod runs %s", img)
		}
		return nil
	}); err != nil {
		t.Errorf("prod did not converge to the promoted version: %v", err)
	}
}

// checkDriftHealed scales winterlight by hand (kubectl patch, as kubectl edit would) and waits
// for self-heal to put Git's replica count back.
func checkDriftHealed(t *testing.T, ic *installCluster) {
	t.Helper()
	ctx := t.Context()
	d, err := ic.kube.AppsV1().Deployments("apps").Get(ctx, "winterlight", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := *d.Spec.Replicas
	out, err := ic.kubectl("patch", "deployment", "winterlight", "-n", "apps", "-p", fmt.Sprintf(`{"spec":{"replicas":%d}}`, want+3))
	if err != nil {
		t.Fatalf("kubectl patch: %v\n%s", err, out)
	}
	t.Logf("%s(%d replicas by hand, Git says %d)", out, want+3, want)
	if err := eventually(60*time.Second, func() error {
		d, err := ic.kube.AppsV1().Deployments("apps").Get(ctx, "winterlight", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *d.Spec.Replicas != want {
			return fmt.Errorf("winterlight has %d replicas, Git says %d", *d.Spec.Replicas, want)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// kubectl runs kubectl at the cluster's version against this cluster as its admin.
func (ic *installCluster) kubectl(args ...string) (string, error) {
	full := append([]string{"--kubeconfig", ic.Kubeconfig, "--cache-dir", filepath.Join(e.dir, "install-cluster-kube-cache")}, args...)
	out, err := exec.Command(e.kubectlBinary(), full...).CombinedOutput()
	return string(out), err
}
