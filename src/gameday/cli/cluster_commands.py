"""``gameday cluster up | status | down``: the local Kubernetes control plane (see gameday.cluster)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from gameday.cli import arg_types


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def _cluster(console: Any, *, nodes: int | None = None, real_node: bool = False, saved: bool = True) -> Any:
    from dataclasses import replace

    from gameday.cluster.config import ClusterConfig
    from gameday.cluster.manager import LocalCluster
    from gameday.printable import markup_safe

    config = ClusterConfig.from_env(os.environ)
    if nodes is not None:
        config = replace(config, nodes=nodes, real_node=real_node)
        config.check()
    log = lambda message: console.print(f"[dim]{markup_safe(message)}[/]", soft_wrap=True)  # noqa: E731
    return LocalCluster.saved(config, log=log) if saved else LocalCluster(config, log=log)


def _print_status(console: Any, status: Any) -> None:
    from rich.table import Table

    from gameday.printable import markup_safe as safe

    table = Table(box=None, pad_edge=False)
    for column in ("part", "pid", "port", "state"):
        table.add_column(column, no_wrap=True)
    for p in status.parts:
        colour = "green" if p.state == "running" else "red"
        table.add_row(p.part, str(p.pid or "-"), str(p.port), f"[{colour}]{p.state}[/]")
    console.print(table)
    if status.parts:
        console.print(f"logs: {safe(str(status.parts[0].log.parent))}", soft_wrap=True)
    colour = "green" if status.ready else "red"
    console.print(f"API server: [{colour}]{safe(status.readiness)}[/]")
    ready = sum(1 for _, ok in status.nodes if ok)
    colour = "green" if status.nodes and ready == len(status.nodes) else "red"
    console.print(f"nodes: [{colour}]{ready}/{len(status.nodes)} Ready[/]"
                  + "".join(f"\n  {safe(name)}: {'Ready' if ok else 'NotReady'}" for name, ok in status.nodes))
    console.print(f"kubeconfig: {safe(str(status.kubeconfig))}", soft_wrap=True)


def cmd_cluster_up(args: argparse.Namespace) -> int:
    from gameday.printable import markup_safe

    console = _console()
    # An explicit --nodes wins over what the last `up` recorded; the ports are the ones configured now.
    cluster = _cluster(console, nodes=args.nodes, real_node=args.real_node, saved=False)
    status = cluster.up(timeout=args.timeout)
    _print_status(console, status)
    console.print(f"[green]local cluster is up[/]: kubectl --kubeconfig {markup_safe(str(status.kubeconfig))} get nodes",
                  soft_wrap=True)
    return 0


def cmd_cluster_status(args: argparse.Namespace) -> int:
    """Exit 0 when every part runs, /readyz says ok and every node is Ready; 1 otherwise."""
    console = _console()
    status = _cluster(console).status()
    _print_status(console, status)
    return 0 if status.healthy else 1


def cmd_cluster_down(args: argparse.Namespace) -> int:
    console = _console()
    stopped = _cluster(console).down()
    console.print(f"stopped {len(stopped)} process{'es' if len(stopped) != 1 else ''}"
                  + (f": {', '.join(stopped)}" if stopped else " (nothing was running)"), markup=False, soft_wrap=True)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("cluster", help="the local Kubernetes control plane (etcd, API server, controllers, kwok nodes)")
    csub = p.add_subparsers(dest="cluster_cmd", required=True)
    up = csub.add_parser("up", help="start it on 127.0.0.1 (what runs already is kept) and write a kubeconfig")
    up.add_argument("--nodes", type=arg_types.positive_int, default=3, help="kwok nodes to simulate (default 3)")
    up.add_argument("--real-node", action="store_true",
                    help="also run one real node (containerd and a kubelet: containers really run; needs root)")
    up.add_argument("--timeout", type=arg_types.positive_seconds, default=300.0,
                    help="seconds to wait for the nodes to be Ready (default 300)")
    up.set_defaults(func=cmd_cluster_up)
    csub.add_parser("status", help="each process, /readyz and node readiness; exit 1 unless all is well") \
        .set_defaults(func=cmd_cluster_status)
    csub.add_parser("down", help="stop every process of the local cluster (harmless to repeat)") \
        .set_defaults(func=cmd_cluster_down)
