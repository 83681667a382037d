#!/usr/bin/env bash
# make demo: the founding story on two local clusters, ace-test and ace-prod, each with its own
# gitops-apiserver, one Git server holding winterlight-config and one OCI registry. A new image is
# pushed, test follows it and commits the bump, the bump is promoted to prod; every step prints
# the command a user would type. Then it stays up until Ctrl-C and stops everything it started.
# DEMO_NONINTERACTIVE=1 runs the story and exits (0 when it worked), for `make test`;
# DEMO_REGISTRY_PORT (default 5000) moves the registry, DEMO_TIMEOUT (default 4m) bounds each wait.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=lib/local.sh source-path=SCRIPTDIR
source "$root/hack/lib/local.sh"

noninteractive="${DEMO_NONINTERACTIVE:-}"
# The example repository names its images localhost:5000/...; another port rewrites them.
registry_port="${DEMO_REGISTRY_PORT:-5000}"
registry="localhost:$registry_port"
if ! [[ $registry_port =~ ^[0-9]{1,5}$ ]]; then
	echo "demo: DEMO_REGISTRY_PORT=$registry_port is not a port number" >&2
	exit 2
fi
# Generous but bounded: the machine may be shared, and two clusters are heavy on 2 cores.
timeout="${DEMO_TIMEOUT:-4m}"
local_dir="$root/.local"
demo_dir="$local_dir/demo" # the Git server, the registry, the demo's tools and clone
clusters=(ace-test ace-prod)
started=$SECONDS

step_name="setting up"
starting=() # PIDs of hack/local-up.sh runs in the background
stopping=0
cleanup() {
	local rc=$? down=0
	[[ $stopping == 1 ]] && return
	stopping=1
	trap - INT TERM
	# A background job ignores Ctrl-C; stop it before it starts what local-down has to stop.
	for pid in "${starting[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [[ $rc -ne 0 && $rc -ne 130 ]]; then
		echo >&2
		echo "demo: FAILED while $step_name (exit $rc); the logs:" >&2
		for log in "$demo_dir"/{registry,gitserver}.log "$local_dir"/ace-*/{local-up,localcluster,gitops-apiserver}.log; do
			[[ -f $log ]] && echo "  $log" >&2
		done
		if [[ -s $local_dir/kubeconfig ]]; then
			for c in "${clusters[@]}"; do
				echo "--- kubectl gitops status -A --context $c:" >&2
				KUBECONFIG="$local_dir/kubeconfig" timeout 20 kubectl gitops status -A --context "$c" >&2 || true
			done
		fi
	fi
	echo
	echo "demo: stopping everything"
	hack/local-down.sh || down=$?
	if [[ $down -ne 0 ]]; then
		echo "demo: FAILED: hack/local-down.sh could not stop everything (see above)" >&2
		[[ $rc -eq 0 || $rc -eq 130 ]] && rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bold="" plain=""
if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; fi
step() {
	step_name="$*"
	printf '\n%s== %s%s  (%ds)\n' "$bold" "$*" "$plain" "$((SECONDS - started))"
}
# show CMD...: prints the command as a user would type it (quoting only what needs it), then runs it.
show() {
	local arg line='$'
	for arg in "$@"; do
		if [[ $arg =~ ^[A-Za-z0-9_./:=@,+-]+$ ]]; then
			line+=" $arg"
		else
			line+=" '${arg//\'/\'\\\'\'}'"
		fi
	done
	printf '%s\n' "$line"
	"$@"
}
die() {
	echo "demo: ERROR: $*" >&2
	exit 1
}

step "Stopping what runs from .local (an earlier demo or hack/local-up.sh)"
hack/local-down.sh
rm -rf "$demo_dir" "$local_dir/kubeconfig"
for c in "${clusters[@]}"; do rm -rf "${local_dir:?}/$c"; done
mkdir -p "$demo_dir/bin"
go build -o "$demo_dir/bin/registry" ./hack/registry
go build -o "$demo_dir/bin/gitserver" ./hack/gitserver
# The commands below are the ones a user types: kubectl at the cluster's version, the plugin as
# kubectl gitops, the registry's push as a CI would run it, one kubeconfig with both contexts.
export PATH="$demo_dir/bin:$local_dir/bin:$root/bin:$PATH"
export KUBECONFIG="$local_dir/kubeconfig"

step "Starting the OCI registry on $registry"
start_bg "$demo_dir/registry.pid" "$demo_dir/registry.log" "$demo_dir/bin/registry" serve \
	--addr "127.0.0.1:$registry_port" --addr-file "$demo_dir/registry.addr"
deadline=$((SECONDS + 30))
until [[ -s $demo_dir/registry.addr ]]; do
	if ! pidfile_running "$demo_dir/registry.pid" || ((SECONDS >= deadline)); then
		cat "$demo_dir/registry.log" >&2
		die "the registry did not start on $registry (see above); if the port is taken, run the demo on another one: DEMO_REGISTRY_PORT=5001 make demo"
	fi
	sleep 0.2
done
show registry push "$registry/acme/winterlight:1.1.2"

step "Starting the Git server with winterlight-config"
fixture="$root/test/fixtures/winterlight-config"
if [[ $registry != localhost:5000 ]]; then
	mkdir -p "$demo_dir/fixture"
	cp -r "$fixture" "$demo_dir/fixture/"
	fixture="$demo_dir/fixture/winterlight-config"
	grep -rl 'localhost:5000' "$fixture" | xargs sed -i "s|localhost:5000|$registry|g"
fi
password_file="$demo_dir/git-password"
start_bg "$demo_dir/gitserver.pid" "$demo_dir/gitserver.log" "$demo_dir/bin/gitserver" \
	--dir "$demo_dir/git" --fixture "$fixture" --addr 127.0.0.1:0 --user gitops --password-file "$password_file"
deadline=$((SECONDS + 60))
until [[ -s $demo_dir/git/url ]]; do
	if ! pidfile_running "$demo_dir/gitserver.pid" || ((SECONDS >= deadline)); then
		cat "$demo_dir/gitserver.log" >&2
		die "the Git server did not start (see above)"
	fi
	sleep 0.2
done
repo_url="$(<"$demo_dir/git/url")"
echo "serving $repo_url (user gitops, password in $password_file)"
# git finds the password through this helper; it never appears on a command line or in output.
export GIT_CONFIG_COUNT=3 \
	GIT_CONFIG_KEY_0=credential.helper GIT_CONFIG_VALUE_0="!f() { echo username=gitops; echo password=\$(cat '$password_file'); }; f" \
	GIT_CONFIG_KEY_1=user.name GIT_CONFIG_VALUE_1="Demo User" \
	GIT_CONFIG_KEY_2=user.email GIT_CONFIG_VALUE_2="demo@kube-gitops.invalid"

# local_up CLUSTER ENV: hack/local-up.sh for one cluster, its output in its state directory.
local_up() {
	local c="$1" env="$2"
	mkdir -p "$local_dir/$c"
	hack/local-up.sh --dir "$local_dir/$c" --name "$c" \
		--repo "$repo_url" --path "clusters/$env" --environment "$env" \
		--git-username gitops --git-password-file "$password_file" --insecure-registries "$registry" \
		-- --version-interval 10s --registry-cache-ttl 1s >"$local_dir/$c/local-up.log" 2>&1
}

step "Starting ace-test and ace-prod, each a control plane with its own gitops-apiserver"
echo "ace-test: --path clusters/test --environment test; ace-prod: --path clusters/prod --environment prod"
echo "progress in $local_dir/ace-test/local-up.log and $local_dir/ace-prod/local-up.log"
local_up ace-test test &
test_pid=$!
starting+=("$test_pid")
# Both would build the same binaries at once; prod starts once test's cluster is starting.
until [[ -f $local_dir/ace-test/localcluster.pid ]] || ! kill -0 "$test_pid" 2>/dev/null; do sleep 0.5; done
local_up ace-prod prod &
prod_pid=$!
starting+=("$prod_pid")
failed=()
for pair in "ace-test:$test_pid" "ace-prod:$prod_pid"; do
	c="${pair%%:*}" pid="${pair##*:}"
	next_report=$((SECONDS + 15))
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS >= next_report)); then
			echo "  still starting $c ($((SECONDS - started))s): $(tail -n 1 "$local_dir/$c/local-up.log")"
			next_report=$((SECONDS + 15))
		fi
		sleep 0.5
	done
	if wait "$pid"; then
		echo "  $c: $(grep -m1 '^local-up: ready in' "$local_dir/$c/local-up.log")"
	else
		echo "--- last lines of $local_dir/$c/local-up.log:" >&2
		tail -n 20 "$local_dir/$c/local-up.log" >&2
		failed+=("$c")
	fi
done
starting=()
((${#failed[@]} == 0)) || die "hack/local-up.sh failed for ${failed[*]} (see above)"
# One kubeconfig with both contexts, as a user would have it.
(umask 077 && KUBECONFIG="$local_dir/ace-test/kubeconfig:$local_dir/ace-prod/kubeconfig" \
	kubectl config view --flatten >"$KUBECONFIG.tmp" && mv "$KUBECONFIG.tmp" "$KUBECONFIG")
kubectl config use-context ace-test >/dev/null
show kubectl config get-contexts

step "The namespace apps: created, and opted in by its admin on each cluster"
for c in "${clusters[@]}"; do
	show kubectl create namespace apps --context "$c"
	show kubectl gitops init-namespace apps --context "$c"
done

# converge CLUSTER VERSION: waits until the cluster runs winterlight at VERSION, Synced and Healthy.
converge() {
	local c="$1" version="$2" got
	show kubectl wait deployment/winterlight -n apps --context "$c" --timeout "$timeout" \
		--for=jsonpath='{.spec.template.spec.containers[0].image}'="$registry/acme/winterlight:$version"
	show kubectl gitops status winterlight --context "$c" -n apps --watch --timeout "$timeout"
	got="$(kubectl get desiredstate winterlight -n apps --context "$c" -o jsonpath='{.status.versions[?(@.name=="image")].value}')"
	[[ $got == "$version" ]] || die "$c: winterlight's image pin is $got, want $version"
}

step "a. Both clusters sync winterlight and guestbook from Git"
for c in "${clusters[@]}"; do
	show kubectl wait deployment/winterlight -n apps --context "$c" --timeout "$timeout" --for=create
	converge "$c" 1.1.2
	show kubectl gitops status --context "$c" -n apps
done

step "b. winterlight's CI pushes image 1.1.3; test follows ~1.1 and commits the bump to Git"
show registry push "$registry/acme/winterlight:1.1.3"
echo "# ace-test's server checks the registry every 10s here (--version-interval; 5m by default)"
converge ace-test 1.1.3
show kubectl gitops status --context ace-test -n apps

step "c. Promote what test runs to prod"
show kubectl gitops promote winterlight --from test --from-context ace-test --context ace-prod -n apps --yes
converge ace-prod 1.1.3
show kubectl gitops status --context ace-prod -n apps

step "d. Git holds both changes"
show git clone -q "$repo_url" "$demo_dir/winterlight-config"
show git -C "$demo_dir/winterlight-config" log --oneline -3
commits="$(git -C "$demo_dir/winterlight-config" rev-list --count HEAD)"
[[ $commits == 3 ]] || die "winterlight-config has $commits commits, want 3: the fixture, the bump and the promotion"
for env in test prod; do
	grep -q 'tag: "1.1.3"' "$demo_dir/winterlight-config/envs/$env/winterlight.yaml" ||
		die "envs/$env/winterlight.yaml in Git does not pin image 1.1.3"
done

step "The story ran in $((SECONDS - started))s"
if [[ -n $noninteractive ]]; then
	exit 0
fi

step "Try it yourself (in another terminal)"
cat <<NEXT
  export KUBECONFIG=$KUBECONFIG PATH=$demo_dir/bin:$local_dir/bin:$root/bin:\$PATH
  kubectl gitops status winterlight --context ace-prod -n apps   # the tree of its objects
  kubectl gitops history winterlight --context ace-prod -n apps  # every sync, who and which commit
  registry push $registry/acme/winterlight:1.1.4            # test follows it, prod does not
  registry push $registry/acme/winterlight:1.2.0            # outside ~1.1: nobody follows it
  kubectl gitops promote winterlight --from test --from-context ace-test --context ace-prod -n apps
  kubectl get desiredstates -A -w --context ace-test             # watch, as with any resource
  kubectl explain desiredstates.spec                             # the schema, from the server's OpenAPI
  kubectl scale deployment guestbook -n apps --replicas 5 --context ace-test
  kubectl gitops status guestbook -n apps --context ace-test     # drift is healed within seconds
  kubectl delete desiredstate winterlight -n apps                # refused: says which file in Git to change
  kubectl get desiredstates -n apps --as alice                   # forbidden: RBAC is the cluster's own
  git clone $repo_url   # user gitops, password in $password_file

Press Ctrl-C to stop the demo and everything it started.
NEXT
while true; do sleep 3600 & wait $!; done
