#!/usr/bin/env bash
# Build the local Kubernetes control plane from source, once, into the user's cache (no prebuilt binaries,
# no registry): kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and kubectl from
# k8s.io/kubernetes (tools/kubernetes: a wrapper module, since `go install` refuses k8s.io/kubernetes's
# replace directives), kwok (tools/kwok), and the pause program of the real node's pod sandboxes
# (tools/pause). etcd is Debian's etcd-server (setup.sh installs it).
#
#   ${XDG_CACHE_HOME:-~/.cache}/gameday/kubernetes/<version>/   the binaries, and build logs
#
# Skipped when every cached binary answers --version with the pinned version. A failure is one line
# naming the step and its log. Progress: a line every 30 s while Go builds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

K8S_VERSION=v1.34.4   # tools/kubernetes/go.mod pins k8s.io/kubernetes and its staging modules to match
KWOK_VERSION=v0.8.0   # tools/kwok/go.mod; kwok 0.8.0 lists Kubernetes 1.34 among its supported releases
PAUSE_VERSION="gameday-pause v1"   # tools/pause/main.go says it
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/gameday/kubernetes/$K8S_VERSION"
K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)

say() { printf 'build-kubernetes: %s\n' "$*"; }
fail() { printf 'build-kubernetes: %s\n' "$*" >&2; exit 1; }

answers() {  # answers BINARY EXPECTED: the binary runs and its --version output names EXPECTED
  local version
  [ -x "$1" ] || return 1
  version=$("$1" --version 2>&1) || return 1  # all of it: a pipe into head or grep -q could SIGPIPE the binary
  case "$version" in *"$2"*) return 0 ;; *) return 1 ;; esac
}

k8s_cached() {
  local b
  for b in "${K8S_BINARIES[@]}"; do
    if [ "$b" = kubectl ]; then
      answers "$CACHE/$b" "$K8S_VERSION" || answers_kubectl "$CACHE/$b" || return 1
    else
      answers "$CACHE/$b" "$K8S_VERSION" || return 1
    fi
  done
}
answers_kubectl() {  # kubectl --version is not a flag; `kubectl version --client` is
  local version
  [ -x "$1" ] && version=$("$1" version --client 2>/dev/null) || return 1
  case "$version" in *"$K8S_VERSION"*) return 0 ;; *) return 1 ;; esac
}

find_go() {
  if command -v go >/dev/null; then command -v go
  elif [ -x /usr/local/go/bin/go ]; then echo /usr/local/go/bin/go
  else return 1
  fi
}

# run_step NAME LOG COMMAND...: run it in the background, print elapsed time every 30 s, one line on failure.
run_step() {
  local name=$1 log=$2 start pid code=0 last=0 now
  shift 2
  start=$(date +%s)
  say "$name (log: $log)"
  "$@" >"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    now=$(date +%s)
    if [ $((now - last)) -ge 30 ] && [ $((now - start)) -ge 30 ]; then
      say "  $name: $((now - start)) s elapsed"
      last=$now
    fi
  done
  wait "$pid" || code=$?
  if [ "$code" != 0 ]; then
    fail "step '$name' failed (exit $code); see $log"
  fi
  say "  $name: done in $(($(date +%s) - start)) s"
}

mkdir -p "$CACHE"
out=""  # the current build's output folder, inside the cache: removed on any exit, so no half build stays
trap '[ -z "$out" ] || rm -rf "$out"' EXIT
etcd_bin=$(command -v etcd || true)
[ -n "$etcd_bin" ] || [ -x /usr/bin/etcd ] || fail "etcd is missing: apt-get install etcd-server (setup.sh does)"

k8s_done="" kwok_done="" pause_done=""
k8s_cached && k8s_done=1
answers "$CACHE/kwok" "$KWOK_VERSION" && kwok_done=1
answers "$CACHE/pause" "$PAUSE_VERSION" && pause_done=1
if [ -n "$k8s_done" ] && [ -n "$kwok_done" ] && [ -n "$pause_done" ]; then
  say "Kubernetes $K8S_VERSION, kwok $KWOK_VERSION and $PAUSE_VERSION already built in $CACHE"
  exit 0
fi

GO=$(find_go) || fail "building Kubernetes needs Go >= 1.24 (https://go.dev/dl); none on PATH or in /usr/local/go"
go_minor=$("$GO" env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
# Go >= 1.21 fetches a newer toolchain itself when a go.mod asks for one (kwok's wants 1.26).
[ -n "$go_minor" ] && [ "$go_minor" -ge 21 ] ||
  fail "building Kubernetes needs Go >= 1.24 (https://go.dev/dl); $GO is $("$GO" env GOVERSION)"
# Both modules are pinned with their go.sum committed: a build never edits them.
export GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0

if [ -z "$k8s_done" ]; then
  # Without these the binaries report v0.0.0-master, and kubectl would warn about version skew.
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=34 -X $pkg.gitTreeState=clean"
  done
  out=$(mktemp -d "$CACHE/.build-XXXXXX")
  pkgs=()
  for b in "${K8S_BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  # One `go build` for all five: they share most packages, so each is compiled once (about 6 min on
  # two busy cores with the modules downloaded; 15 min and 2 GB of memory from nothing, see benchmarks).
  run_step "go build Kubernetes $K8S_VERSION (${K8S_BINARIES[*]})" "$CACHE/build-kubernetes.log" \
    nice -n 10 "$GO" -C "$ROOT/tools/kubernetes" build -ldflags "$ldflags" -o "$out/" "${pkgs[@]}"
  for b in "${K8S_BINARIES[@]}"; do mv -f "$out/$b" "$CACHE/$b"; done
  rmdir "$out"
  k8s_cached || fail "step 'check Kubernetes binaries' failed: $CACHE/kube-apiserver --version does not say $K8S_VERSION"
fi

if [ -z "$kwok_done" ]; then
  out=$(mktemp -d "$CACHE/.build-XXXXXX")
  run_step "go build kwok $KWOK_VERSION" "$CACHE/build-kwok.log" \
    nice -n 10 "$GO" -C "$ROOT/tools/kwok" build -ldflags "-s -w" -o "$out/kwok" sigs.k8s.io/kwok/cmd/kwok
  mv -f "$out/kwok" "$CACHE/kwok"
  rmdir "$out"
  answers "$CACHE/kwok" "$KWOK_VERSION" || fail "step 'check kwok' failed: $CACHE/kwok --version does not say $KWOK_VERSION"
fi
if [ -z "$pause_done" ]; then
  out=$(mktemp -d "$CACHE/.build-XXXXXX")
  run_step "go build pause" "$CACHE/build-pause.log" \
    nice -n 10 "$GO" -C "$ROOT/tools/pause" build -ldflags "-s -w" -o "$out/pause" .
  mv -f "$out/pause" "$CACHE/pause"
  rmdir "$out"
  answers "$CACHE/pause" "$PAUSE_VERSION" || fail "step 'check pause' failed: $CACHE/pause --version does not say $PAUSE_VERSION"
fi
say "built into $CACHE"
