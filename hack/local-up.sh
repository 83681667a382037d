#!/usr/bin/env bash
# Starts (or reuses) the local cluster, the example Git server and gitops-apiserver registered by
# APIService; returns once `kubectl get desiredstates -A` answers. hack/local-down.sh stops it all.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: hack/local-up.sh [--repo URL] [--ref REF] [--path DIR] [--environment ENV]
                        [--git-username USER --git-password-file FILE]
                        [--insecure-registries HOSTS] [--dir DIR] [--name NAME]
                        [-- SERVER-ARGS...]

Starts, all in the background with state, logs and PID files under .local/ (or --dir):
  - a local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
    kube-scheduler, kwok with one fake node), reused if it is already running;
  - without --repo, a local Git server serving test/fixtures/winterlight-config;
  - bin/gitops-apiserver (restarted), registered as v1alpha1.gitops.kube-gitops.dev.
Returns once `kubectl get desiredstates -A` answers. Writes .local/kubeconfig (admin), or
DIR/kubeconfig with --dir.

Options:
  --repo URL               Git repository (https://, http:// or file://); default: the bundled example
  --ref REF                branch, tag or commit (default main)
  --path DIR               directory in the repository (default clusters/test)
  --environment ENV        environment name (default test)
  --poll-interval DURATION how often the server asks Git for new commits (default 5s here;
                           the server's own default is 60s)
  --git-username USER      Git user for --repo (the bundled example sets its own)
  --git-password-file FILE file holding the Git password or token for --repo
  --insecure-registries HOSTS registries and Helm repositories (host or host:port, comma-
                           separated) the server may reach over plain HTTP; default: the
                           bundled example's localhost:5000, none with --repo
  --dir DIR                state directory of this cluster (default .local); one per cluster
                           lets several run side by side, e.g. .local/ace-test and .local/ace-prod
  --name NAME              name of the kubeconfig's context, cluster and user (NAME-admin), so
                           the kubeconfigs of several clusters merge into one (default local)
  -- SERVER-ARGS...        what follows is passed to gitops-apiserver as it is, e.g.
                           -- --version-interval 10s --registry-cache-ttl 1s
  -h, --help               show this help

Stop everything with hack/local-down.sh.
EOF
}

repo="" ref="main" path="clusters/test" environment="test" poll_interval="5s"
git_username="" git_password_file="" insecure_registries=""
dir="" name="" extra_server_args=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	--repo | --ref | --path | --environment | --poll-interval | --git-username | --git-password-file | --insecure-registries | --dir | --name)
		if [[ $# -lt 2 ]]; then
			echo "local-up: $1 needs a value" >&2
			exit 2
		fi
		case "$1" in
		--repo) repo="$2" ;;
		--ref) ref="$2" ;;
		--path) path="$2" ;;
		--environment) environment="$2" ;;
		--poll-interval) poll_interval="$2" ;;
		--git-username) git_username="$2" ;;
		--git-password-file) git_password_file="$2" ;;
		--insecure-registries) insecure_registries="$2" ;;
		--dir) dir="$2" ;;
		--name) name="$2" ;;
		esac
		shift 2
		;;
	-h | --help)
		usage
		exit 0
		;;
	--)
		shift
		extra_server_args=("$@")
		break
		;;
	*)
		echo "local-up: unknown argument: $1" >&2
		usage >&2
		exit 2
		;;
	esac
done
if [[ -n $git_password_file ]]; then
	[[ -r $git_password_file ]] || {
		echo "local-up: cannot read --git-password-file $git_password_file" >&2
		exit 2
	}
	git_password_file="$(cd "$(dirname "$git_password_file")" && pwd)/$(basename "$git_password_file")"
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
local_dir="$root/.local"
if [[ -n $dir ]]; then
	mkdir -p "$dir"
	local_dir="$(cd "$dir" && pwd)"
fi
kubeconfig="$local_dir/kubeconfig"
# shellcheck source=lib/local.sh source-path=SCRIPTDIR
source "$root/hack/lib/local.sh"

log() { echo "local-up: $*"; }
die() {
	echo "local-up: ERROR: $*" >&2
	exit 1
}

# wait_for SECONDS WHAT PIDFILE NAME LOGFILE CMD...: runs CMD every half second until it succeeds;
# fails at once if the process in PIDFILE dies, and after SECONDS, pointing at LOGFILE.
wait_for() {
	local seconds="$1" what="$2" pidfile="$3" name="$4" logfile="$5" deadline
	shift 5
	deadline=$((SECONDS + seconds))
	until "$@" >/dev/null 2>&1; do
		if ! pidfile_running "$pidfile"; then
			echo "--- last lines of $logfile:" >&2
			tail -n 30 "$logfile" >&2 || true
			die "$name exited while waiting for $what; see $logfile"
		fi
		if ((SECONDS >= deadline)); then
			echo "--- last lines of $logfile:" >&2
			tail -n 30 "$logfile" >&2 || true
			die "timed out after ${seconds}s waiting for $what; see $logfile"
		fi
		sleep 0.5
	done
}

mkdir -p "$local_dir/bin"
# The cluster's binaries are built once, in .local/bin (hack/build-cluster.sh); another state
# directory links to them and keeps the tools built from this tree (localcluster, gitserver) in
# its own bin, so clusters started from other checkouts cannot swap them underneath it.
if [[ $local_dir != "$root/.local" ]]; then
	for tool in kube-local kwok kubectl; do
		ln -sfn "$root/.local/bin/$tool" "$local_dir/bin/$tool"
	done
fi
cd "$root"
start=$SECONDS

# 1. Build the server and the local tools.
log "building bin/gitops-apiserver"
if [[ -f Makefile ]]; then
	make build
else
	go build -o bin/gitops-apiserver ./cmd/gitops-apiserver
fi
"$root/hack/build-cluster.sh"
go build -o "$local_dir/bin/localcluster" ./hack/localcluster

# 2. The cluster: reuse it if it runs and answers.
cluster_pid="$local_dir/localcluster.pid"
cluster_log="$local_dir/localcluster.log"
if pidfile_alive "$cluster_pid" localcluster &&
	"$local_dir/bin/kubectl" --kubeconfig "$kubeconfig" get --raw /readyz >/dev/null 2>&1; then
	log "reusing the local cluster (pid $(<"$cluster_pid"))"
else
	stop_pidfile "$cluster_pid" localcluster
	log "starting the local cluster (log $cluster_log)"
	start_bg "$cluster_pid" "$cluster_log" "$local_dir/bin/localcluster" up --dir "$local_dir" ${name:+--name "$name"}
	# localcluster writes cluster.env last, once the fake node is Ready.
	wait_for 240 "the local cluster" "$cluster_pid" localcluster "$cluster_log" test -s "$local_dir/cluster.env"
	log "$(tail -n 1 "$cluster_log")"
fi
# kubectl at the cluster's version (built by hack/build-cluster.sh), not the machine's.
kubectl_() { "$local_dir/bin/kubectl" --kubeconfig "$kubeconfig" "$@"; }

# 3. The example Git server, unless --repo was given.
gitserver_log=""
if [[ -z $repo ]]; then
	git_dir="$local_dir/git"
	gitserver_pid="$local_dir/gitserver.pid"
	gitserver_log="$local_dir/gitserver.log"
	git_username="gitops"
	git_password_file="$local_dir/git-password"
	if [[ ! -s $git_password_file ]]; then
		(umask 077 && head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$git_password_file")
	fi
	if pidfile_alive "$gitserver_pid" gitserver && [[ -s $git_dir/url ]]; then
		log "reusing the Git server (pid $(<"$gitserver_pid"))"
	else
		stop_pidfile "$gitserver_pid" gitserver
		go build -o "$local_dir/bin/gitserver" ./hack/gitserver
		mkdir -p "$git_dir"
		rm -f "$git_dir/url"
		log "starting the Git server (log $gitserver_log)"
		start_bg "$gitserver_pid" "$gitserver_log" "$local_dir/bin/gitserver" \
			--dir "$git_dir" --fixture "$root/test/fixtures/winterlight-config" \
			--addr 127.0.0.1:0 --user "$git_username" --password-file "$git_password_file"
		wait_for 60 "the Git server URL in $git_dir/url" "$gitserver_pid" gitserver "$gitserver_log" test -s "$git_dir/url"
	fi
	repo="$(<"$git_dir/url")"
	# The bundled example's images are in a registry on localhost:5000, over plain HTTP.
	insecure_registries="${insecure_registries:-localhost:5000}"
fi
log "repository $repo (ref $ref, path $path, environment $environment)"

# 4. gitops-apiserver, always restarted so it runs the binary just built.
server_pid="$local_dir/gitops-apiserver.pid"
server_log="$local_dir/gitops-apiserver.log"
cert_dir="$local_dir/gitops-apiserver/certs"
stop_pidfile "$server_pid" gitops-apiserver
# What an install ships, from the one source kubectl gitops install applies: the chart
# charts/kube-gitops as the plugin renders it. All of it but what needs a running container (the
# Deployment: here the server is a local process) and the Service and APIService, which step 5
# routes to that process.
chart_values=(--repo "$repo" --ref "$ref" --path "$path" --environment "$environment" --set-string "git.pollInterval=$poll_interval")
render_chart() { "$root/bin/kubectl-gitops" install --dry-run "${chart_values[@]}" "$@"; }
# only_kinds KEEP KINDS...: the documents of the YAML stream on stdin whose kind is (KEEP=1) or
# is not (KEEP=0) one of KINDS; the plugin prints each kind as a top-level "kind: X" line.
only_kinds() {
	local keep="$1"
	shift
	awk -v keep="$keep" -v kinds="$*" '
		BEGIN { n = split(kinds, k, " "); for (i = 1; i <= n; i++) want["kind: " k[i]] = 1 }
		function flush() { if (doc != "" && hit == keep) printf "%s", doc; doc = ""; hit = 0 }
		/^---$/ { flush(); doc = $0 "\n"; next }
		{ doc = doc $0 "\n"; if ($0 in want) hit = 1 }
		END { flush() }'
}
kubectl_ create namespace kube-gitops --dry-run=client -o yaml | kubectl_ apply -f - >/dev/null
render_chart | only_kinds 0 Deployment Service APIService |
	kubectl_ apply --server-side --field-manager kube-gitops-install -f - >/dev/null
# The server runs as that ServiceAccount (a token from the TokenRequest API), with exactly the
# shipped RBAC, as it does in a Pod.
server_kubeconfig="$local_dir/gitops-apiserver.kubeconfig"
server_token="$(kubectl_ create token gitops-apiserver -n kube-gitops --duration 24h)"
cp "$kubeconfig" "$server_kubeconfig.tmp"
user="system:serviceaccount:kube-gitops:gitops-apiserver"
"$local_dir/bin/kubectl" --kubeconfig "$server_kubeconfig.tmp" config set-credentials "$user" --token "$server_token" >/dev/null
"$local_dir/bin/kubectl" --kubeconfig "$server_kubeconfig.tmp" config set-context --current --user "$user" >/dev/null
(umask 077 && mv "$server_kubeconfig.tmp" "$server_kubeconfig")
if [[ -n $gitserver_log ]]; then
	# The bundled example deploys into the namespace apps; with your own repository, opt in the
	# namespaces your DesiredStates name (kubectl gitops init-namespace NS, as their admin).
	kubectl_ create namespace apps --dry-run=client -o yaml | kubectl_ apply -f - >/dev/null
	KUBECONFIG="$kubeconfig" PATH="$root/bin:$PATH" "$local_dir/bin/kubectl" gitops init-namespace apps >/dev/null
fi
port="$("$local_dir/bin/localcluster" free-port)"
rm -rf "$cert_dir"
mkdir -p "$cert_dir"
server_args=(
	--repo "$repo" --ref "$ref" --path "$path" --environment "$environment"
	--namespace kube-gitops --poll-interval "$poll_interval"
	--kubeconfig "$server_kubeconfig" --authentication-kubeconfig "$server_kubeconfig" --authorization-kubeconfig "$server_kubeconfig"
	--secure-port "$port" --cert-dir "$cert_dir"
)
if [[ -n $git_username ]]; then
	server_args+=(--git-username "$git_username")
fi
if [[ -n $git_password_file ]]; then
	server_args+=(--git-password-file "$git_password_file")
fi
if [[ -n $insecure_registries ]]; then
	server_args+=(--insecure-registries "$insecure_registries")
fi
server_args+=("${extra_server_args[@]}")
log "starting gitops-apiserver on port $port (log $server_log)"
start_bg "$server_pid" "$server_log" "$root/bin/gitops-apiserver" "${server_args[@]}"
echo "$port" >"$local_dir/gitops-apiserver/port"
# The server writes a self-signed serving certificate, which is also the APIService's CA bundle.
wait_for 60 "$cert_dir/apiserver.crt" "$server_pid" gitops-apiserver "$server_log" \
	grep -q -- "-----END CERTIFICATE-----" "$cert_dir/apiserver.crt"
ca_bundle="$(base64 -w0 <"$cert_dir/apiserver.crt")"

# 5. Route the aggregated API to the process on loopback: the chart's Service (without its
# selector: the server runs as a process) and APIService, with the server's port and CA as values,
# and an EndpointSlice for the Service (kube-apiserver runs with --enable-aggregator-routing). The
# slice's address type is FQDN: EndpointSlice validation refuses loopback IPs, but takes 127.0.0.1
# as a name, which the aggregator dials as host:port.
render_chart --set "service.port=$port" --set "tls.caBundle=$ca_bundle" | only_kinds 1 Service | sed '/^---$/d' |
	kubectl_ patch --local -f - --type merge -o yaml -p '{"spec":{"selector":null}}' |
	kubectl_ apply --server-side --field-manager kube-gitops-install -f - >/dev/null
kubectl_ apply --server-side --field-manager kube-gitops-install -f - >/dev/null <<EOF
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: gitops-apiserver
  namespace: kube-gitops
  labels: {kubernetes.io/service-name: gitops-apiserver}
addressType: FQDN
endpoints:
- addresses: [127.0.0.1]
  conditions: {ready: true}
ports:
- name: https
  port: $port
  protocol: TCP
EOF
render_chart --set "service.port=$port" --set "tls.caBundle=$ca_bundle" | only_kinds 1 APIService |
	kubectl_ apply --server-side --field-manager kube-gitops-install -f - >/dev/null

# 6. Ready when the aggregated resource answers through kube-apiserver.
log "waiting for kubectl get desiredstates -A to answer"
deadline=$((SECONDS + 120))
until kubectl_ get desiredstates -A >/dev/null 2>&1; do
	if ! pidfile_running "$server_pid"; then
		echo "--- last lines of $server_log:" >&2
		tail -n 30 "$server_log" >&2 || true
		die "gitops-apiserver exited; see $server_log"
	fi
	if ((SECONDS >= deadline)); then
		echo "--- APIService v1alpha1.gitops.kube-gitops.dev status:" >&2
		kubectl_ get apiservice v1alpha1.gitops.kube-gitops.dev -o jsonpath='{range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\n"}{end}' >&2 || true
		echo "--- last lines of $server_log:" >&2
		tail -n 30 "$server_log" >&2 || true
		die "timed out after 120s waiting for 'kubectl get desiredstates -A'; see $server_log"
	fi
	sleep 1
done

# ...and the first read of Git is published, so the list is not empty just because it is early.
until [[ -n "$(kubectl_ get sourcerecords.internal.gitops.kube-gitops.dev "$environment" -n kube-gitops -o jsonpath='{.status.revision}' 2>/dev/null)" ]]; do
	if ((SECONDS >= deadline)); then
		kubectl_ get sourcerecords.internal.gitops.kube-gitops.dev -n kube-gitops -o yaml >&2 || true
		die "gitops-apiserver has not read $repo yet; see $server_log and the SourceRecord above"
	fi
	sleep 0.5
done

cat <<EOF
local-up: ready in $((SECONDS - start))s.
  logs:  cluster        $cluster_log and $local_dir/cluster/*.log
         gitops-apiserver $server_log${gitserver_log:+
         git server     $gitserver_log}
  repo:  $repo (ref $ref, path $path, environment $environment)
Next:
  export KUBECONFIG=$kubeconfig; kubectl get desiredstates -A
  hack/local-down.sh${dir:+ --dir $local_dir}    # stops everything local-up started
EOF
