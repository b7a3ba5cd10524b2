"""Import time and peak memory of the Kubernetes clients we could use, beside ``gameday validate``.

Each case runs in a fresh interpreter ``--runs`` times (median wall time, median peak RSS from wait4);
``python -c pass`` is the baseline. With ``--kubeconfig``, each client also lists the pods of
kube-system once against that cluster (import + config + one call).

    python benchmarks/k8s_clients.py --runs 7 [--kubeconfig ~/.local/state/gameday/cluster/kubeconfig]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

IMPORTS = {
    "python -c pass": "pass",
    "kubernetes (official)": "import kubernetes.client, kubernetes.config",
    "lightkube": "import lightkube; from lightkube.resources.core_v1 import Pod; from lightkube.resources.apps_v1 import Deployment",
    "kr8s": "import kr8s; from kr8s.objects import Pod, Deployment",
}
LIST_PODS = {
    "kubernetes (official)": (
        "import kubernetes.client as k, kubernetes.config as c; c.load_kube_config(config_file={kc!r}); "
        "k.CoreV1Api().list_namespaced_pod('kube-system')"),
    "lightkube": (
        "from lightkube import Client, KubeConfig; from lightkube.resources.core_v1 import Pod; "
        "list(Client(KubeConfig.from_file({kc!r})).list(Pod, namespace='kube-system'))"),
    "kr8s": (
        "import kr8s; from kr8s.objects import Pod; "
        "list(kr8s.get('pods', namespace='kube-system', api=kr8s.api(kubeconfig={kc!r})))"),
}


def measure(argv: list[str], runs: int) -> tuple[float, float]:
    """(median seconds, median peak RSS in MB) of running ``argv`` ``runs`` times."""
    times, rss = [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{argv} failed")
        rss.append(usage.ru_maxrss / 1024)
    return statistics.median(times), statistics.median(rss)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--kubeconfig")
    args = parser.parse_args()
    py = sys.executable
    rows = [(name, *measure([py, "-c", code], args.runs)) for name, code in IMPORTS.items()]
    rows.append(("gameday validate (one scenario)",
                 *measure([py, "-m", "gameday", "validate", "-q", "scenarios/checkout-db-down.yaml"], args.runs)))
    if args.kubeconfig:
        rows += [(f"{name}: import + list pods", *measure([py, "-c", code.format(kc=args.kubeconfig)], args.runs))
                 for name, code in LIST_PODS.items()]
    print(f"{'case':45} {'median s':>9} {'peak RSS MB':>12}")
    for name, seconds, mb in rows:
        print(f"{name:45} {seconds:9.3f} {mb:12.1f}")


if __name__ == "__main__":
    main()
