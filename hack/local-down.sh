#!/usr/bin/env bash
# Stops what hack/local-up.sh started, by the PID files it left in .local/, and checks that
# nothing it started is left running.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: hack/local-down.sh

Stops gitops-apiserver, the example Git server and the local cluster started by
hack/local-up.sh (PID files in .local/), waits until they have exited, removes the
PID files and checks that no process still uses .local/. State and logs stay in
.local/ for inspection; the next hack/local-up.sh starts a fresh cluster.
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
local_dir="$root/.local"
# shellcheck source=lib/local.sh source-path=SCRIPTDIR
source "$root/hack/lib/local.sh"

failed=0
# Reverse order of starting: the server first, the cluster (which stops its components) last.
for name in gitops-apiserver gitserver localcluster; do
	stop_pidfile "$local_dir/$name.pid" "$name" || failed=1
done
# localcluster removes these when it stops cleanly; not when it had to be killed.
rm -f "$local_dir/kubeconfig" "$local_dir/cluster.env"

# Final check: every process local-up starts (and each cluster component) names one of these
# paths in its command line. Tests that merely use .local/bin/kube-local do not.
re="${local_dir//./\\.}"
leftovers="$(pgrep -af -- "($re/cluster/|$re/bin/localcluster|$re/bin/gitserver|$re/git/|$re/gitops-apiserver/)" || true)"
if [[ -n $leftovers ]]; then
	echo "local-down: ERROR: still running, started from $local_dir:" >&2
	echo "$leftovers" >&2
	exit 1
fi
if [[ $failed -ne 0 ]]; then
	exit 1
fi
echo "local-down: stopped; nothing left running from $local_dir"
