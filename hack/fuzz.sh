#!/usr/bin/env bash
# Fuzzes every fuzz target of the module, one at a time (go test -fuzz takes one package and one
# target), for FUZZTIME each. A crasher is written to the target's testdata/fuzz/ by go test:
# commit it with the fix, and it runs as a regression test in every `make test`.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: hack/fuzz.sh [-run REGEXP]

Fuzzes each Fuzz* target under pkg/ (found in *_test.go files) for $FUZZTIME
(default 30s), one target at a time, printing progress. -run REGEXP fuzzes only
the targets whose name matches. Exits 1 if a target failed; its failing input is
in <package>/testdata/fuzz/<target>/.

Environment: FUZZTIME (default 30s), FUZZPARALLEL (workers, default: GOMAXPROCS),
FUZZMINIMIZETIME (time spent shrinking a new input, default 10s).
EOF
}

filter="."
while [[ $# -gt 0 ]]; do
	case "$1" in
	-h | --help)
		usage
		exit 0
		;;
	-run)
		[[ $# -ge 2 ]] || { usage >&2; exit 2; }
		filter="$2"
		shift 2
		;;
	*)
		usage >&2
		exit 2
		;;
	esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fuzztime="${FUZZTIME:-30s}"
minimize="${FUZZMINIMIZETIME:-10s}"
parallel=()
if [[ -n "${FUZZPARALLEL:-}" ]]; then
	parallel=(-parallel "$FUZZPARALLEL")
fi

# Every "func FuzzX(f *testing.F)" of a test file, as "package-dir target".
mapfile -t targets < <(grep -rHo --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' pkg |
	sed -E 's|^(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+).*|\1 \2|' | sort -u | grep -E " .*${filter}" || true)
if [[ ${#targets[@]} -eq 0 ]]; then
	echo "fuzz: no target matches ${filter}" >&2
	exit 2
fi

echo "fuzz: ${#targets[@]} targets, ${fuzztime} each"
failed=()
i=0
for t in "${targets[@]}"; do
	i=$((i + 1))
	dir="${t% *}" name="${t#* }"
	echo "fuzz: [$i/${#targets[@]}] ./$dir $name for $fuzztime"
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" "${parallel[@]}" "./$dir"; then
		failed+=("./$dir $name")
	fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
	echo "fuzz: ${#failed[@]} target(s) failed; their inputs are in testdata/fuzz/ next to them:"
	printf '  %s\n' "${failed[@]}"
	exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${fuzztime} without a failure"
