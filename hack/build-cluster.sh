#!/usr/bin/env bash
# Builds the local control plane's binaries from the hack/cluster module into .local/bin:
#   kube-local  etcd, kube-apiserver, kube-controller-manager, kube-scheduler (multi-call)
#   kwok        fake nodes and pod lifecycle
#   kubectl     a link to kube-local, which then acts as kubectl v1.37.2
# Idempotent: with a warm Go build cache it takes seconds.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: hack/build-cluster.sh

Builds .local/bin/kube-local and .local/bin/kwok from the hack/cluster Go module.
A cold build takes about 15 minutes on 2 cores; later builds come from the Go
build cache in seconds. Progress is printed every 30 s while a build runs.
EOF
}

if [[ $# -gt 0 ]]; then
	case "$1" in
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		exit 2
		;;
	esac
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$root/.local/bin"
mkdir -p "$bin_dir"

# Without these the servers report v0.0.0-master+$Format:%H$, which kubectl cannot parse.
ldflags="-X k8s.io/component-base/version.gitVersion=v1.37.2 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37"

build_pid=""
# An interrupted script takes its running go build with it.
trap 'if [[ -n "$build_pid" ]]; then kill "$build_pid" 2>/dev/null || true; fi' EXIT

# build NAME PACKAGE COLD: go build PACKAGE into .local/bin/NAME, printing a heartbeat every 30 s;
# COLD is how long a build without cache takes on 2 cores.
build() {
	local name="$1" pkg="$2" cold="$3" start rc elapsed
	echo "build-cluster: building $name ($pkg); a cold build takes $cold on 2 cores, seconds when cached"
	start=$SECONDS
	(cd "$root/hack/cluster" && exec go build -ldflags "$ldflags" -o "$bin_dir/$name" "$pkg") &
	build_pid=$!
	while true; do
		# Sleep in 1 s steps so a finished build is noticed at once.
		for _ in $(seq 30); do
			if ! kill -0 "$build_pid" 2>/dev/null; then
				break 2
			fi
			sleep 1
		done
		echo "build-cluster: still building $name, $((SECONDS - start))s elapsed"
	done
	rc=0
	wait "$build_pid" || rc=$?
	build_pid=""
	elapsed=$((SECONDS - start))
	if [[ $rc -ne 0 ]]; then
		echo "build-cluster: FAILED building $name after ${elapsed}s (go build exit $rc, error above)" >&2
		exit "$rc"
	fi
	echo "build-cluster: $name ready at $bin_dir/$name (${elapsed}s)"
}

# go build writes its errors to stderr, which is passed through unchanged.
build kube-local ./cmd/kube-local "~15 min"
build kwok sigs.k8s.io/kwok/cmd/kwok "~1-2 min"
# kubectl at the cluster's version (v1.37.2), not the machine's: kube-local acts as kubectl when
# called through this link.
ln -sf kube-local "$bin_dir/kubectl"
echo "build-cluster: kubectl v1.37.2 ready at $bin_dir/kubectl"
