"""``gameday stack build|up|down|status`` and ``gameday demo``: the built-in demo staging stack."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from gameday.cli import arg_types
from gameday.cli.common import write_output

DEFAULT_DEMO_SCENARIO = "checkout-db-down-drill"
DEFAULT_DEMO_SCENARIOS = {"docker": DEFAULT_DEMO_SCENARIO, "kubernetes": "checkout-db-down-drill-kubernetes"}
MIRROR_HELP = "Debian mirror for the demo base image (default: the one this machine's apt sources use for bookworm)"


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def _stack(console: Any, args: argparse.Namespace | None = None) -> Any:
    from gameday.printable import markup_safe
    from gameday.stack.manager import stack_from_env

    return stack_from_env(os.environ, log=lambda message: console.print(f"[dim]{markup_safe(message)}[/]"),
                          mirror=getattr(args, "mirror", None))


def _kubernetes_stack(console: Any, args: argparse.Namespace | None = None) -> Any:
    """The demo stack on the local cluster's real node; ``up`` first builds the images into Docker (if their
    tags are missing) and copies into the node's containerd the ones it lacks."""
    from gameday.printable import markup_safe
    from gameday.stack.kubernetes_stack import kubernetes_stack_from_env

    log = lambda message: console.print(f"[dim]{markup_safe(message)}[/]", soft_wrap=True)  # noqa: E731
    docker_stack = _stack(console, args)

    def prepare() -> object:
        from gameday.stack.node_images import ensure_node_images

        tags = [result.tag for result in docker_stack.build()]
        return ensure_node_images(docker_stack.client, stack.cluster.node, tags, log=log)

    stack = kubernetes_stack_from_env(os.environ, prepare=prepare, log=log)
    return stack


def _platform_stack(console: Any, args: argparse.Namespace) -> Any:
    if getattr(args, "platform", "docker") == "kubernetes":
        return _kubernetes_stack(console, args)
    return _stack(console, args)


def _print_status(console: Any, statuses: list[Any], *, platform: str = "docker") -> None:
    from rich.table import Table

    from gameday.printable import markup_safe as safe

    table = Table(box=None, pad_edge=False)
    for column in ("part", "pod" if platform == "kubernetes" else "container", "port", "state", "health"):
        table.add_column(column, no_wrap=True)
    table.add_column("detail")
    for s in statuses:
        colour = "green" if s.healthy else ("yellow" if s.health == "starting" else "red")
        table.add_row(safe(s.part), safe(s.container), str(s.port), safe(s.state), f"[{colour}]{safe(s.health)}[/]",
                      safe(s.detail))
    console.print(table)


def cmd_stack_build(args: argparse.Namespace) -> int:
    console = _console()
    for result in _stack(console, args).build():
        what = f"built in {result.seconds:.0f}s" if result.built else "cached"
        console.print(f"{result.tag}  {what}", markup=False)
    return 0


def cmd_stack_up(args: argparse.Namespace) -> int:
    from gameday.printable import markup_safe

    console = _console()
    stack = _platform_stack(console, args)
    statuses = stack.up(timeout=args.timeout)
    _print_status(console, statuses, platform=args.platform)
    where = f" on Kubernetes (namespace {stack.namespace})" if args.platform == "kubernetes" else ""
    console.print(f"[green]demo stack is up{markup_safe(where)}[/]; admin URLs for scenarios are in "
                  f"{markup_safe(stack.config.env_file)} (mode 0600)", soft_wrap=True)
    return 0


def cmd_stack_down(args: argparse.Namespace) -> int:
    console = _console()
    removed = _platform_stack(console, args).down()
    what = "workload" if args.platform == "kubernetes" else "container"
    console.print(f"removed {len(removed)} {what}{'s' if len(removed) != 1 else ''}"
                  + (f": {', '.join(removed)}" if removed else " (nothing was running)"), markup=False)
    return 0


def cmd_stack_status(args: argparse.Namespace) -> int:
    """Exit 0 when every part is running and healthy, 1 otherwise."""
    console = _console()
    statuses = _platform_stack(console, args).status()
    _print_status(console, statuses, platform=args.platform)
    return 0 if all(s.healthy for s in statuses) else 1


def cmd_stack_file(args: argparse.Namespace) -> int:
    """Write (or print) the demo stack's stack file for the stack as configured now."""
    from gameday.stack.config import StackConfig
    from gameday.stack.stackfile import demo_stack_file, kubernetes_stack_file

    config = StackConfig.from_env(os.environ)
    if args.platform == "kubernetes":
        from gameday.cluster.config import ClusterConfig

        text = kubernetes_stack_file(config, ClusterConfig.from_env(os.environ).kubeconfig, os.environ)
    else:
        text = demo_stack_file(config)
    write_output(text, args.output)
    return 0


def find_scenario(name: str, cwd: Path) -> Path:
    """A scenario file by path, or by name in ./scenarios or in this source tree's scenarios/."""
    from gameday.errors import GamedayError
    from gameday.userfiles import regular_file_problem

    file_name = name if name.endswith((".yaml", ".yml")) else f"{name}.yaml"
    source_tree = Path(__file__).resolve().parents[3] / "scenarios"
    for candidate in (Path(name), cwd / "scenarios" / file_name, source_tree / file_name):
        if regular_file_problem(candidate) is None:  # a name too long for a file is no scenario either
            return candidate
    raise GamedayError(f"no scenario '{name}' (looked in ./scenarios and {source_tree})")


def cmd_demo(args: argparse.Namespace) -> int:
    """Bring the stack up (idempotent: only what is missing or stale), wait until its alerting is quiet (no alert
    left from its start), then run the scenario as ``gameday run``. On Kubernetes, the local cluster with its real
    node first (``cluster up --real-node``, also idempotent). The cluster and the stack stay up afterwards, as on
    Docker."""
    from gameday.cli.main import build_parser
    from gameday.printable import markup_safe
    from gameday.scenario.loader import load_scenario
    from gameday.stack.quiet import wait_until_quiet
    from gameday.stack.state import stack_env

    console = _console()
    scenario = find_scenario(args.scenario or DEFAULT_DEMO_SCENARIOS[args.platform], Path.cwd())
    load_scenario(scenario)  # a scenario that does not validate stops here, before the stack is touched
    if args.platform == "kubernetes":
        config, run_env = _kubernetes_demo_up(console, args)
    else:
        stack = _stack(console, args)
        _print_status(console, stack.up(timeout=args.timeout))
        config, run_env = stack.config, stack_env(stack.config)
    wait_until_quiet(config, log=lambda message: console.print(f"[dim]{markup_safe(message)}[/]", soft_wrap=True))
    # Scenarios name the admin URLs through dsn_env; they go into this process's environment only.
    os.environ.update(run_env)
    console.print(f"running {scenario}", markup=False)
    sys.stdout.flush()
    # Through the parser, so `demo` runs exactly what `gameday run` would, with its defaults.
    run_args = build_parser().parse_args(["run", str(scenario), "--reports", args.reports])
    return int(run_args.func(run_args))


def _kubernetes_demo_up(console: Any, args: argparse.Namespace) -> tuple[Any, dict[str, str]]:
    """The local cluster with its real node, then the demo stack on it; the environment the run needs: the
    stack's admin URLs, and for the runbook's commands the kubectl the build made first on PATH (Debian's 1.20
    is too old for the cluster) and the cluster's kubeconfig, as docs/kubernetes.md tells a user to set them."""
    from dataclasses import replace

    from gameday.cluster.config import ClusterConfig
    from gameday.cluster.manager import LocalCluster
    from gameday.printable import markup_safe
    from gameday.stack.state import stack_env

    log = lambda message: console.print(f"[dim]{markup_safe(message)}[/]", soft_wrap=True)  # noqa: E731
    saved = LocalCluster.saved(ClusterConfig.from_env(os.environ))  # the ports and nodes the last `up` used
    cluster = LocalCluster(replace(saved.config, real_node=True), log=log)
    kubectl = cluster.config.binary("kubectl")  # not built: one line saying how, before anything starts
    cluster.up()  # starts only what is not running
    stack = _kubernetes_stack(console, args)
    _print_status(console, stack.up(timeout=args.timeout), platform="kubernetes")
    path = os.environ.get("PATH", "")
    return stack.config, {**stack_env(stack.config), "KUBECONFIG": str(cluster.config.kubeconfig),
                          "PATH": f"{kubectl.parent}{os.pathsep}{path}" if path else str(kubectl.parent)}


def _platform_option(parser: Any) -> None:
    parser.add_argument("--platform", choices=("docker", "kubernetes"), default="docker",
                        help="docker (default): containers on this machine's Docker Engine; kubernetes: pods on the "
                             "local cluster's real node (gameday cluster up --real-node)")


def register(sub: Any) -> None:
    p = sub.add_parser("stack", help="the built-in demo staging stack (checkout, postgres, redis, toxiproxy, ...)")
    stack_sub = p.add_subparsers(dest="stack_command", metavar="ACTION", required=True)

    q = stack_sub.add_parser("build", help="build the stack's images if their tags are missing (cached)")
    q.add_argument("--mirror", metavar="URL", help=MIRROR_HELP)
    q.set_defaults(func=cmd_stack_build)
    q = stack_sub.add_parser("up", help="start the stack (idempotent) and wait until every part is healthy")
    q.add_argument("--mirror", metavar="URL", help=MIRROR_HELP)
    q.add_argument("--timeout", type=arg_types.positive_seconds, default=120.0, help="seconds to wait for health (default 120)")
    _platform_option(q)
    q.set_defaults(func=cmd_stack_up)
    q = stack_sub.add_parser("down", help="remove every container of the stack (idempotent)")
    _platform_option(q)
    q.set_defaults(func=cmd_stack_down)
    q = stack_sub.add_parser("status", help="each part and its health; exit 1 unless all are healthy")
    _platform_option(q)
    q.set_defaults(func=cmd_stack_status)
    q = stack_sub.add_parser("file", help="print the stack file (stacks/demo.yaml) for the stack as configured now")
    q.add_argument("-o", "--output", help="write it to this file (e.g. stacks/demo.yaml) instead of stdout")
    _platform_option(q)
    q.set_defaults(func=cmd_stack_file)

    p = sub.add_parser("demo", help="bring the demo stack up if needed and run a demo scenario end to end")
    p.add_argument("--scenario", default=None,
                   help="scenario name or file (default: " + ", ".join(f"{v} on {k}" for k, v in
                                                                    DEFAULT_DEMO_SCENARIOS.items()) + ")")
    p.add_argument("--reports", default="reports", help="folder for run reports (default: reports)")
    p.add_argument("--timeout", type=arg_types.positive_seconds, default=120.0, help="seconds to wait for the stack's health")
    p.add_argument("--mirror", metavar="URL", help=MIRROR_HELP)
    _platform_option(p)
    p.set_defaults(func=cmd_demo)
