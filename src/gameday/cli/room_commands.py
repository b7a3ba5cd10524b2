"""``gameday room``: the drill room, a game day in the browser with every participant at their own seat.

    gameday room scenarios/x.yaml               live: a real fault; the team acts from their seats
    gameday room --speed 30 scenarios/x.yaml    tabletop: no fault, scenario time 30x faster
    gameday room --resume <run-id>              continue a drill whose process died, as facilitate --resume

It prints the facilitator's link and one join link per seat, and serves until Ctrl-C (a drill still
running is then stopped and its faults reverted). Needs the ``room`` extra (Starlette and uvicorn).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gameday.cli import arg_types
from gameday.clock import Clock
from gameday.errors import GamedayError
from gameday.loopback import is_loopback

LOOPBACK = "127.0.0.1"


def link_host(host: str) -> str:
    """The host part of the printed links for ``--host``: 0.0.0.0 or :: (every interface) is no address another
    machine can open, so the links name this machine (socket.gethostname()); an IPv6 address is bracketed."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.is_unspecified:
        return socket.gethostname()
    return f"[{host}]" if address.version == 6 else host


def _listen(host: str, port: int) -> socket.socket:
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(64)
    except OSError as exc:
        raise GamedayError(f"--host {host} --port {port}: cannot listen there: {exc.strerror or exc}") from exc
    return sock


def scorecard_view(run_dir: Path, history: str | None) -> Mapping[str, Any]:
    """The one finish step (reports, history) and the scorecard as the room shows it."""
    from gameday.finish import finish_run

    finished = finish_run(run_dir, history=history)
    card = finished.scorecard
    return {"overall": card.overall, "overall_meaning": card.overall_meaning, "overall_reason": card.overall_reason,
            "tally": card.tally, "points": card.points, "max_points": card.max_points,
            "capabilities": [{"id": c.id, "title": c.title, "rating": c.rating, "reason": c.reason}
                             for c in card.capabilities],
            "problems": finished.problems}


def build_room(args: argparse.Namespace, env: Mapping[str, str], *, clock: Clock | None = None) -> Any:
    """The Room for these arguments: a new drill (its engine starts when the facilitator says) or a resumed one;
    ``clock`` is the room's own (its request budgets), never the drill's."""
    from gameday.facilitator.drill import DrillHost, ResumedHost
    from gameday.room.room import Room
    from gameday.timeline import Event

    history = getattr(args, "history", None)

    def finish(run_dir: Path) -> Mapping[str, Any]:
        return scorecard_view(run_dir, history)

    if args.resume:
        from gameday.cli.common import run_dir

        if args.scenario or args.speed or args.tabletop:
            raise GamedayError("--resume takes a run id only (the scenario and mode come from the run)")
        resumed = ResumedHost(run_dir(args.reports, args.resume), env=env)

        def resume_host(listener: Callable[[Event], None]) -> Any:
            resumed.timeline.subscribe(listener)
            return resumed

        return Room(resumed.scenario, make_host=resume_host, finish=finish, seats=args.seats,
                    mode=resumed.mode, speed=resumed.speed if resumed.tabletop else None, clock=clock)
    if not args.scenario:
        raise GamedayError("name a scenario file, or --resume <run-id>")
    from gameday.scenario.loader import load_scenario

    scenario_file = Path(args.scenario)
    scenario = load_scenario(scenario_file)
    tabletop = bool(args.tabletop or args.speed)

    def new_host(listener: Callable[[Event], None]) -> Any:
        return DrillHost(scenario, scenario_file, reports_dir=Path(args.reports), env=env, speed=args.speed,
                         tabletop=tabletop, listeners=[listener], run_id=getattr(args, "run_id", None))

    return Room(scenario, make_host=new_host, finish=finish, seats=args.seats,
                mode="tabletop" if tabletop else "live", speed=args.speed, clock=clock)


def cmd_room(args: argparse.Namespace) -> int:
    try:
        from gameday.room.app import create_app
        from gameday.room.serve import serve
    except ImportError as exc:
        raise GamedayError(f"gameday room needs the room extra ({exc.name} is missing): "
                           "pip install 'gameday[room]'") from None
    from rich.console import Console

    from gameday.cli.common import check_report_sections
    from gameday.printable import markup_safe as safe

    console = Console(highlight=False)
    check_report_sections()
    room = build_room(args, dict(os.environ))
    sock = _listen(args.host, args.port)
    port = sock.getsockname()[1]
    shown = link_host(args.host)
    base = f"http://{shown}:{port}"
    app = create_app(room, reports_dir=Path(args.reports), history=getattr(args, "history", None))
    console.rule(f"[bold]gameday drill room: {safe(room.scenario.name)}[/]")
    console.print("[bold yellow]THIS IS A DRILL[/] - " + (
        f"a tabletop exercise: no real fault is injected; scenario time runs {room.speed or 1.0:g}x"
        if room.mode == "tabletop" else
        f"a real fault is injected into the {safe(room.scenario.stack.environment)} stack when the facilitator "
        "starts the drill, and reverted at the end"))
    if not is_loopback(args.host):
        console.print(f"[bold red]warning:[/] --host {safe(args.host)} shares the room with every machine that "
                      "can reach it; the links travel in clear over HTTP: share them only on a network you trust")
    if shown != args.host and not shown.startswith("["):  # every interface: named after this machine
        console.print(f"[dim]The links name this machine ({safe(shown)}): where that name does not resolve for the "
                      "others, give them this machine's address in its place.[/]")
    facilitator, seats = room.links(base)
    # Never wrapped: a link cut in two does not open.
    console.print(f"Facilitator (keep this one to yourself): {safe(facilitator)}", soft_wrap=True)
    for number, link in enumerate(seats, 1):
        console.print(f"Seat {number}: {safe(link)}", soft_wrap=True)
    console.print(f"[dim]Past runs: {safe(base)}/reports/ (from any link). Ctrl-C closes the room.[/]")
    try:
        serve(app, sock)
    finally:
        room.close()
        sock.close()
    status = room.status
    if status.run_dir is not None:
        console.print(f"{safe(status.outcome or status.phase)}  report: {safe(str(status.run_dir / 'report.md'))}")
    if status.error:
        console.print(f"[red]{safe(status.error)}[/]")
    if status.phase == "finished" and status.outcome == "passed":
        return 0
    if status.phase == "waiting":
        return 0  # closed before a drill started: nothing happened
    return 130 if status.outcome in (None, "interrupted") else 1


def register(sub: Any) -> None:
    p = sub.add_parser("room", help="the drill room: a game day in the browser, each participant at their own seat")
    p.add_argument("scenario", nargs="?", help="the scenario file")
    p.add_argument("--speed", type=arg_types.speed, metavar="N",
                   help="tabletop practice: no real fault; scenario time runs N times faster")
    p.add_argument("--tabletop", action="store_true", help="no real fault (implied by --speed)")
    p.add_argument("--resume", metavar="RUN_ID", help="continue a drill whose process died")
    p.add_argument("--host", default=LOOPBACK,
                   help="address to listen on (default 127.0.0.1: this machine only; another shares the room)")
    p.add_argument("--port", type=arg_types.port, default=0,
                   help="port (default: a free one)")
    p.add_argument("--seats", type=arg_types.positive_int, default=5, help="join links to print (default 5, at most 20)")
    p.add_argument("--reports", default="reports", help="folder for run reports (default: reports)")
    p.add_argument("--history", type=arg_types.history, help="history database: a SQLite file or postgresql:// URL "
                                     "(default: $GAMEDAY_HISTORY or reports/history.sqlite)")
    p.set_defaults(func=cmd_room)
