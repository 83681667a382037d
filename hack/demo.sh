#!/usr/bin/env bash
# make demo: the local cluster, a Git server with the example winterlight-config and
# gitops-apiserver; shows desiredstates served from Git and a version bump pushed to Git, then
# stays up until Ctrl-C and stops everything it started.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

stopping=0
cleanup() {
	[[ $stopping == 1 ]] && return
	stopping=1
	echo
	echo "demo: stopping everything"
	hack/local-down.sh || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "Starting the local cluster, the Git server and gitops-apiserver"
hack/local-up.sh
export KUBECONFIG="$root/.local/kubeconfig"
# kubectl at the cluster's version, and the plugin as kubectl gitops.
export PATH="$root/.local/bin:$root/bin:$PATH"
repo_url="$(<"$root/.local/git/url")"
password_file="$root/.local/git-password"

step "The DesiredStates of environment test, read from $repo_url, syncing"
printf 'waiting until both applications are Synced and Healthy'
for _ in $(seq 1 120); do
	states="$(kubectl get desiredstates -n apps -o jsonpath='{range .items[*]}{.status.sync.status}/{.status.health.status} {end}')"
	[[ $states == "Synced/Healthy Synced/Healthy " ]] && break
	printf '.'
	sleep 1
done
echo
show kubectl get desiredstates -A -o wide
show kubectl get deployments,services -n apps

work="$(mktemp -d)"
git_() {
	git -c user.name="Demo User" -c user.email=demo@kube-gitops.invalid \
		-c credential.helper="!f() { echo username=gitops; echo password=\$(cat '$password_file'); }; f" "$@"
}
git_ clone -q "$repo_url" "$work/config"
values="$work/config/envs/test/winterlight.yaml"
# The Git server keeps its history between demos, so bump whatever patch version is there now.
current="$(sed -n 's/^ *tag: "\([0-9.]*\)".*/\1/p' "$values" | head -n 1)"
next="${current%.*}.$((${current##*.} + 1))"
step "A human bumps the image of winterlight from $current to $next in Git and pushes"
sed -i "s/tag: \"$current\"/tag: \"$next\"/" "$values"
git_ -C "$work/config" commit -qam "winterlight: image $next in test"
git_ -C "$work/config" push -q origin main
rm -rf "$work"
printf 'pushed; waiting for the server to read it'
for _ in $(seq 1 60); do
	version="$(kubectl get desiredstate winterlight -n apps -o jsonpath='{.status.versions[?(@.name=="image")].value}')"
	[[ $version == "$next" ]] && break
	printf '.'
	sleep 0.5
done
echo
printf 'and for the cluster to run it'
for _ in $(seq 1 60); do
	image="$(kubectl get deployment winterlight -n apps -o jsonpath='{.spec.template.spec.containers[0].image}')"
	[[ $image == *":$next" ]] && break
	printf '.'
	sleep 0.5
done
echo
show kubectl get desiredstates -n apps
show kubectl get deployment winterlight -n apps -o jsonpath='{.spec.template.spec.containers[0].image}{"\n"}'
show kubectl get --raw /apis/gitops.kube-gitops.dev/v1alpha1/namespaces/apps/desiredstates/winterlight/history
echo

step "Try it yourself (in another terminal)"
cat <<NEXT
  export KUBECONFIG=$KUBECONFIG
  kubectl get desiredstates -A -w                  # watch; then push a change and see it arrive
  kubectl explain desiredstates.spec               # the schema, from the server's OpenAPI
  kubectl describe desiredstate winterlight -n apps
  kubectl delete desiredstate winterlight -n apps  # refused: says which file in Git to change
  kubectl get desiredstates -n apps --as alice     # forbidden: RBAC is the cluster's own
  kubectl scale deployment guestbook -n apps --replicas 5; kubectl get deployment guestbook -n apps -w
                                                   # drift is healed within seconds
  kubectl get --raw /apis/gitops.kube-gitops.dev/v1alpha1/namespaces/apps/desiredstates/guestbook/diff
  kubectl create -f - <<EOF                        # a promotion of an exact version, as a commit
apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: Promotion
metadata: {generateName: winterlight-, namespace: apps}
spec: {desiredState: winterlight, versions: [{name: image, value: "1.1.9"}]}
EOF
  kubectl get promotions -n apps
  git clone $repo_url   # user gitops, password in $password_file
  kubectl get sourcerecords.internal.gitops.kube-gitops.dev -n kube-gitops -o yaml   # last Git read, bad files

Press Ctrl-C to stop the demo and everything it started.
NEXT
while true; do sleep 3600 & wait $!; done
