"""Drill scenarios against a real busybox httpd container, and a terminal driver for the facilitator.

The demo stack's checkout scenarios need the whole stack; these tests use the busybox web container
from tests/conftest.py (host network, its own port) so they stay a few seconds each.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pexpect
import yaml

from gameday.timeline import Event, read_timeline

RUNBOOK = """# Web container down

## Serves
- symptom: the web page does not answer

## Steps
1. Check the container state
   ```sh {{run}}
   docker inspect -f '{{{{.State.Status}}}}' {name}
   ```
2. Start the container
   ```sh {{run}}
   docker start {name}
   ```
3. Tell the channel the service is back

## Verify
```sh {{run}}
wget -q -O /dev/null {url}
```

## Escalate
- not back after 5 minutes: page the platform team
"""


def drill_scenario(tmp_path: Path, *, container: str, url: str, duration: str = "4s", runbook: bool = True,
                   injects: list[dict[str, Any]] | None = None, responses: list[dict[str, Any]] | None = None,
                   name: str = "web-drill", severity: str = "SEV2", **extra: Any) -> Path:
    """A container_kill drill on one busybox httpd container, with a runbook and injects."""
    doc: dict[str, Any] = {
        "version": 1,
        "name": name,
        "severity": severity,
        "stack": {"targets": {"web": {"container": container}}},
        "steady_state": {"probes": [{"name": "web", "http": {"url": url, "timeout": "1s", "max_latency": "900ms"},
                                     "interval": "200ms"}]},
        "faults": [{"kind": "container_kill", "target": "web", "duration": duration}],
        "expect": {"recovers_within": "20s"},
        "injects": injects if injects is not None else [
            {"at": "300ms", "kind": "noise", "source": "#random", "text": "is the coffee machine broken again?"},
            {"unless": {"no_alert_by": "1s"}, "kind": "customer_report", "source": "Customer Success",
             "text": "3 enterprise customers report failed checkouts"},
        ],
    }
    if runbook:
        (tmp_path / "runbook.md").write_text(RUNBOOK.format(name=container, url=url))
        doc["runbook"] = "runbook.md"
    if responses is not None:
        doc["responses"] = responses
    doc.update(extra)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


class Terminal:
    """``gameday`` in a real pseudo-terminal, answered like a person would."""

    def __init__(self, *args: str, cwd: Path, timeout: float = 60, plain: bool = True) -> None:
        """``plain``: the line-by-line facilitator (``--plain``), which these tests read line by line; the
        full-screen one is read through a terminal emulator (test_drill_screen.py). ``timeout`` bounds each
        expect; it costs time only when the prompt never comes (a busy machine took 25 s to import Locust)."""
        if plain and args[:1] == ("facilitate",):
            args = ("facilitate", "--plain", *args[1:])
        self.child = pexpect.spawn(sys.executable, ["-m", "gameday", *args], cwd=str(cwd), encoding="utf-8",
                                   timeout=timeout, dimensions=(60, 200), env=None)
        self.log: list[str] = []
        self.child.logfile_read = _Log(self.log)

    def answer(self, prompt: str, text: str) -> None:
        self.child.expect(prompt)
        self.child.sendline(text)

    def expect(self, pattern: str | list[Any], timeout: float | None = None) -> int:
        return int(self.child.expect(pattern, timeout=timeout if timeout is not None else -1))

    def wait(self, timeout: float = 60) -> int:
        self.child.expect(pexpect.EOF, timeout=timeout)
        self.child.close()
        return int(self.child.exitstatus if self.child.exitstatus is not None else 128 + (self.child.signalstatus or 0))

    @property
    def output(self) -> str:
        return "".join(self.log)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


class _Log:
    def __init__(self, sink: list[str]) -> None:
        self.sink = sink

    def write(self, text: str) -> None:
        self.sink.append(text)

    def flush(self) -> None:
        pass


def only_run(reports: Path) -> Path:
    runs = [p for p in reports.iterdir() if (p / "timeline.jsonl").is_file()]
    assert len(runs) == 1, runs
    return runs[0]


def timeline_of(run_dir: Path) -> list[Event]:
    return read_timeline(run_dir / "timeline.jsonl")


def kinds(events: list[Event], *wanted: str) -> list[str]:
    return [e.kind for e in events if not wanted or e.kind in wanted]


def human(events: list[Event]) -> list[str]:
    """The human-side kinds in order (drill context on each)."""
    return [e.kind for e in events if e.details.get("drill") is True and e.kind != "run.started"]


def dump(events: list[Event]) -> str:
    return "\n".join(f"{e.offset:7.2f} {e.kind} {e.actor} {json.dumps(e.details)[:160]}" for e in events
                     if e.kind != "probe.checked")
