#!/bin/sh
# Write a kubeconfig that acts as gameday's ServiceAccount (manifests/gameday-rbac.yaml), for a stack file's
# platforms.kubernetes.kubeconfig. The token comes from the TokenRequest API (`kubectl create token`): it
# expires (default 8h, a game day), it is bound to the ServiceAccount, and deleting the ServiceAccount revokes it.
#
#   scripts/serviceaccount-kubeconfig.sh OUT [DURATION]
#
# Reads the cluster (server, CA) and acts as you through your current kubeconfig and context (KUBECONFIG,
# CONTEXT=name to pick another); KUBECTL=path picks the kubectl (it needs `create token`: 1.24 or later).
# GAMEDAY_SA=namespace/name if the ServiceAccount is not gameday/gameday. The new kubeconfig's context has the
# same name as yours, so a stack file's `context:` stays the same. Written mode 0600: it holds a credential.
set -eu
out=${1:?usage: scripts/serviceaccount-kubeconfig.sh OUT [DURATION]}
duration=${2:-8h}
kubectl=${KUBECTL:-kubectl}
sa=${GAMEDAY_SA:-gameday/gameday}
sa_namespace=${sa%%/*}
sa_name=${sa#*/}
context=${CONTEXT:-$($kubectl config current-context)}
server=$($kubectl config view --minify --context "$context" -o jsonpath='{.clusters[0].cluster.server}')
ca=$($kubectl config view --minify --flatten --context "$context" \
     -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
token=$($kubectl --context "$context" -n "$sa_namespace" create token "$sa_name" --duration "$duration")
umask 077
{
  echo "apiVersion: v1"
  echo "kind: Config"
  echo "current-context: $context"
  echo "clusters:"
  echo "- name: $context"
  echo "  cluster:"
  echo "    server: $server"
  if [ -n "$ca" ]; then echo "    certificate-authority-data: $ca"; fi
  echo "users:"
  echo "- name: $sa_namespace-$sa_name"
  echo "  user:"
  echo "    token: $token"
  echo "contexts:"
  echo "- name: $context"
  echo "  context: {cluster: $context, user: $sa_namespace-$sa_name}"
} > "$out"
echo "wrote $out: context $context as ServiceAccount $sa_namespace/$sa_name, token valid for $duration" >&2
