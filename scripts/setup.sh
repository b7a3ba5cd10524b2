#!/usr/bin/env bash
# Set up a fresh Debian machine for gameday: system packages, the Docker daemon, the Toxiproxy
# server, the Python package, and the locally built images (no registry is needed).
# Idempotent: run it again and it only starts what is not running.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

step() { printf '\n== %s\n' "$*"; }
APT_UPDATED=""
apt_install() {
  [ -n "$APT_UPDATED" ] || { $SUDO apt-get update -q; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@"
}

# docker-compose: Debian's Compose v1 (1.29.2), for the compose platform and `gameday init --compose`; gameday
# uses the v2 plugin (`docker compose`) instead where one is installed. v1 from apt took 44 s here; building v2
# from its Go module took 7 min on two cores (docs/decisions.md).
# libfaketime: the library clock_skew copies into a container (docs/faults.md).
APT_PACKAGES=(docker.io docker-compose busybox-static debootstrap postgresql redis-server prometheus
              prometheus-alertmanager chromium tmux curl jq etcd-server containerd runc containernetworking-plugins
              libfaketime)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "apt: installing ${missing[*]}"
  apt_install "${missing[@]}"
fi

# chromium: the drill room's browser tests drive it through Playwright (the dev extra below), which never
# downloads a browser of its own; tests/browser/pages.py find_chromium() looks for it on the PATH.

# Each real node's kubelet (its cAdvisor) and containerd take inotify instances, and the limit is per user: at the
# default 128, concurrent real nodes (the suite's session cluster beside a test's own, or two engineers' on one
# machine) ran out and cAdvisor failed to start. Raised as root (as kind's known issues advise), never lowered.
INOTIFY_INSTANCES=1024
current=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 0)
if [ "$current" -ge "$INOTIFY_INSTANCES" ]; then
  echo "fs.inotify.max_user_instances is $current (at least $INOTIFY_INSTANCES): left as it is"
elif [ "$(id -u)" = 0 ]; then
  step "sysctl: raising fs.inotify.max_user_instances from $current to $INOTIFY_INSTANCES (concurrent real nodes' cAdvisor)"
  sysctl -q -w fs.inotify.max_user_instances="$INOTIFY_INSTANCES" \
    || echo "warning: could not raise fs.inotify.max_user_instances (a container without the right?); real nodes may fail to start" >&2
else
  echo "note: fs.inotify.max_user_instances is $current; as root, setup raises it to $INOTIFY_INSTANCES (concurrent real nodes need it)" >&2
fi

# Debian's packages start their own server instances where an init system runs; gameday's tests and
# demo stack start their own on other ports, so those are not needed (and not relied upon).

if ! docker info >/dev/null 2>&1; then
  step "starting dockerd"
  $SUDO sh -c 'nohup dockerd >/var/log/gameday-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/gameday-dockerd.log" >&2; exit 1; }
fi

step "installing gameday (pip install -e .[test,dev,room])"
if ! python3 -m pip --version >/dev/null 2>&1; then
  apt_install python3-pip
fi
PIP_FLAGS=()
# Debian's own python3 is "externally managed" (PEP 668); this machine-wide install is what we want here.
if python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
  PIP_FLAGS+=(--break-system-packages)
fi
python3 -m pip install -q --disable-pip-version-check "${PIP_FLAGS[@]}" -e ".[test,dev,room]"

# The demo stack's images (a debootstrap rootfs of Debian packages, imported; no registry) and the
# toxiproxy-server binary (go install github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0), both cached.
step "building the demo stack images and toxiproxy-server (cached)"
if ! command -v go >/dev/null && [ ! -x /usr/local/go/bin/go ] && [ ! -x "$HOME/.cache/gameday/toxiproxy/v2.5.0/server" ]; then
  step "apt: installing golang-go (to build toxiproxy-server)"
  apt_install golang-go
fi
python3 -m gameday stack build

# The local Kubernetes control plane (gameday cluster up): built from source once, cached under
# ~/.cache/gameday/kubernetes/ (about 15 min and 2 GB of memory the first time; seconds afterwards).
step "building Kubernetes and kwok from source (cached)"
bash scripts/build-kubernetes.sh
echo "setup done"
