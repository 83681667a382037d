#!/usr/bin/env bash
# Stops what hack/local-up.sh and hack/demo.sh started, by the PID files they left in .local/ and
# in its state directories (.local/ace-test, ...), and checks that nothing they started is left.
set -euo pipefail

usage() {
	cat <<'EOF_USAGE'
Usage: hack/local-down.sh [--dir DIR]

Stops gitops-apiserver, the Git server, the OCI registry and the local cluster started by
hack/local-up.sh or hack/demo.sh (PID files in .local/ and in each state directory under it,
e.g. .local/ace-test, .local/ace-prod, .local/demo), waits until they have exited, removes
the PID files and checks that no process still uses .local/. With --dir, only what runs from
that state directory. State and logs stay for inspection; the next hack/local-up.sh starts a
fresh cluster.
EOF_USAGE
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
local_dir="$root/.local"
dirs=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	-h | --help)
		usage
		exit 0
		;;
	--dir)
		if [[ $# -lt 2 || ! -d $2 ]]; then
			echo "local-down: --dir needs an existing state directory" >&2
			exit 2
		fi
		dirs=("$(cd "$2" && pwd)")
		shift 2
		;;
	*)
		usage >&2
		exit 2
		;;
	esac
done
if [[ ${#dirs[@]} -eq 0 ]]; then
	dirs=("$local_dir")
	# A state directory holds the log of each process started from it; .local's own cluster/,
	# git/ and bin/ (which may link to another checkout's binaries) are not state directories.
	for d in "$local_dir"/*/; do
		d="${d%/}"
		[[ -L $d ]] && continue
		for name in local-up gitops-apiserver gitserver registry localcluster; do
			if [[ -f $d/$name.log ]]; then
				dirs+=("$d")
				break
			fi
		done
	done
fi
# shellcheck source=lib/local.sh source-path=SCRIPTDIR
source "$root/hack/lib/local.sh"

failed=0
# Reverse order of starting: the servers first, then what they read, the clusters (which stop
# their components) last.
for name in gitops-apiserver gitserver registry localcluster; do
	for d in "${dirs[@]}"; do
		stop_pidfile "$d/$name.pid" "$name" || failed=1
	done
done
for d in "${dirs[@]}"; do
	# localcluster removes these when it stops cleanly, not when it had to be killed; the demo's
	# .local/kubeconfig names clusters that are gone now.
	rm -f "$d/kubeconfig" "$d/cluster.env"
done

# Final check: every process local-up and the demo start (and each cluster component) names one
# of these paths in its command line. Tests that merely use .local/bin/kube-local do not.
leftovers=""
for d in "${dirs[@]}"; do
	re="${d//./\\.}"
	found="$(pgrep -af -- "($re/cluster/|$re/bin/(localcluster|gitserver|registry)|$re/git/|$re/gitops-apiserver/)" || true)"
	leftovers+="${found:+$found$'\n'}"
done
if [[ -n $leftovers ]]; then
	echo "local-down: ERROR: still running, started from ${dirs[*]}:" >&2
	echo -n "$leftovers" >&2
	exit 1
fi
if [[ $failed -ne 0 ]]; then
	exit 1
fi
echo "local-down: stopped; nothing left running from ${dirs[*]}"
