"""``gameday init``: discover a stack (a Compose file, or the running containers) and write a starter kit."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from gameday.printable import printable


def _discover(args: argparse.Namespace) -> Any:
    from gameday.errors import GamedayError
    from gameday.init.discover import from_compose, from_docker
    from gameday.platforms.compose_config import (
        PROJECT_LABEL,
        SERVICE_LABEL,
        ComposeFiles,
        find_compose,
        read_config,
    )
    from gameday.platforms.docker import docker_client, docker_errors

    if args.kubernetes:
        raise GamedayError(f"--kubernetes {args.kubernetes}: the Kubernetes platform is not available yet (it comes "
                           "with issue 15); use --compose FILE or --docker")
    if args.compose:
        file = Path(args.compose).resolve()
        if not file.is_file():
            raise GamedayError(f"--compose {args.compose}: no such file")
        command = find_compose()
        project_name = args.project or re.sub(r"[^a-z0-9_-]", "", file.parent.name.lower())
        files = ComposeFiles(files=(str(file),), working_dir=str(file.parent), project=project_name)
        project = read_config(files, command=command)
        containers: dict[str, str] = {}
        try:
            client = docker_client(None)
            with docker_errors():
                for c in client.containers.list(filters={"label": f"{PROJECT_LABEL}={project_name}"}):
                    containers.setdefault(c.labels.get(SERVICE_LABEL, ""), c.name)
        except GamedayError:
            pass  # a project that is not up (or no daemon): the file alone says enough
        return from_compose(project, files=files, command=command, containers=containers)
    client = docker_client(None)
    with docker_errors():
        running = client.containers.list()
    if not running:
        raise GamedayError("--docker: no running containers")
    return from_docker(running)


def say(text: str) -> None:
    print(printable(text))


def cmd_init(args: argparse.Namespace) -> int:
    from gameday.init.discover import mask
    from gameday.init.files import write_files
    from gameday.init.generate import Generator, InitOptions, admin_env

    found = _discover(args)
    stack = args.name or found.project or "staging"
    options = InitOptions(stack=stack, toxiproxy=args.toxiproxy, prometheus=args.prometheus,
                          alertmanager=args.alertmanager)
    generator = Generator(found, options)
    root = Path(args.dir)
    outcome = write_files(root, generator.files())
    say(f"found in {found.source}:")
    for svc in found.services:
        ports = ", ".join(map(str, svc.ports)) or "none found"
        say(f"  {svc.name}: {svc.kind}, ports {ports}{' (guessed)' if svc.ports_guessed else ''}; "
            f"restart: {svc.restart}{'; health check' if svc.healthcheck else ''}"
            + (f"; writable volume {', '.join(svc.writable_volumes)}" if svc.writable_volumes else ""))
        for dep in svc.depends:
            via = dep.via + (f" ({mask(dep.host)}:{dep.port})" if dep.port else "")
            say(f"    depends on {dep.service}: {via}")
    for title, names in (("wrote", outcome.written), ("updated", outcome.updated)):
        for name in names:
            say(f"{title} {root / name}")
    for name in outcome.edited:
        say(f"kept {root / name}: changed by hand since gameday init wrote it (not overwritten)")
    for name in outcome.removed:
        say(f"not written {root / name}: removed since gameday init wrote it")
    for name in outcome.foreign:
        say(f"kept {root / name}: it was there before and gameday init did not write it")
    say("a person must decide:")
    say(f"  - what may be faulted: the allowlist in {root / 'stacks' / f'{stack}.yaml'} is empty (allow: {{}}); "
        "its comments list what was found")
    for route in generator.routes:
        dep = route.dependency
        say(f"  - to fault {route.service.name} -> {dep.service}: create the Toxiproxy proxy {route.proxy} (listen "
            f"127.0.0.1:{route.listen_port()}, upstream {dep.host}:{dep.port}) and point {route.service.name}'s "
            f"{dep.env} at it")
    if generator.routes and not args.toxiproxy:
        say("  - where Toxiproxy runs: give --toxiproxy URL, or set toxiproxy: in the stack file")
    for name, (svc, _, _) in generator.credentials.items():
        say(f"  - {name}: export {admin_env(stack, svc.name)} (an admin connection URL; never in a file)")
    say("  - each scenario's expectations (which probes go red, which alerts page); see '# Decide:' in each")
    if any(s.writable_volumes for s in found.services):
        say("  - disk fills: how full, and whether a volume on the host's disk may be filled (allow_root_filesystem)")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("init", help="discover a stack and write a stack file, starter scenarios, runbooks and alert rules")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--compose", metavar="FILE", help="a Docker Compose file (read through `docker compose config`)")
    where.add_argument("--docker", action="store_true", help="the running Docker containers")
    where.add_argument("--kubernetes", metavar="NAMESPACE", help="a Kubernetes namespace (not available yet)")
    p.add_argument("--name", help="the stack's name (default: the Compose project's)")
    p.add_argument("--project", help="the Compose project name (default: the Compose file's folder)")
    p.add_argument("--dir", default=".", help="where to write stacks/, scenarios/, runbooks/, alerts/ (default: .)")
    p.add_argument("--toxiproxy", metavar="URL", help="Toxiproxy's API URL, for latency and outage scenarios")
    p.add_argument("--prometheus", metavar="URL", help="Prometheus's URL")
    p.add_argument("--alertmanager", metavar="URL", help="Alertmanager's URL")
    p.set_defaults(func=cmd_init)
