"""JUnit XML for CI systems: one test case per scenario, each failed expectation a failure message."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from pathlib import Path

from gameday.engine.suite import SuiteResult


def junit_xml(result: SuiteResult, *, suite_name: str = "gameday") -> str:
    failures = sum(1 for e in result.entries if e.exit_code == 1)
    errors = sum(1 for e in result.entries if e.exit_code not in (0, 1))
    suites = ET.Element("testsuites", name=suite_name, tests=str(len(result.entries)), failures=str(failures),
                        errors=str(errors), time=f"{result.wall_s:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=suite_name, tests=str(len(result.entries)), failures=str(failures),
                          errors=str(errors), skipped="0", time=f"{result.wall_s:.3f}", hostname=socket.gethostname(),
                          timestamp=_timestamp(result))
    for entry in result.entries:
        # No `file` attribute: the common (Jenkins junit-10) schema does not allow it; the path is in system-out.
        case = ET.SubElement(suite, "testcase", name=entry.name, classname=f"gameday.{entry.stack_name}",
                             time=f"{entry.wall_s:.3f}")
        if entry.exit_code not in (0, 1):
            error = ET.SubElement(case, "error", message=_error_message(entry), type=entry.outcome)
            error.text = entry.stderr.strip()[-4000:]
        else:
            failed = entry.failed_expectations
            for event in failed:
                failure = ET.SubElement(case, "failure", type="expectation",
                                        message=f"{event.details.get('name')}: {event.details.get('detail')}")
                failure.text = f"run {entry.run_id}; report {entry.run_dir / 'report.md'}"
            if entry.exit_code == 1 and not failed:
                failure = ET.SubElement(case, "failure", type=entry.outcome, message=f"run ended: {entry.outcome}")
                failure.text = entry.stderr.strip()[-4000:]
        out = ET.SubElement(case, "system-out")
        out.text = (f"scenario {entry.path}: not a valid scenario, not run" if entry.scenario is None else
                    f"scenario {entry.path}; run {entry.run_id}: {entry.outcome}; report {entry.run_dir / 'report.md'}")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _error_message(entry: object) -> str:
    stderr = getattr(entry, "stderr", "")
    lines = [ln for ln in stderr.splitlines() if ln.startswith("gameday: error:")]
    return lines[-1][len("gameday: error: "):] if lines else f"run ended: {getattr(entry, 'outcome', '?')}"


def _timestamp(result: SuiteResult) -> str:
    for entry in result.entries:
        if entry.events:
            return entry.events[0].at.rstrip("Z").split(".")[0]
    return "1970-01-01T00:00:00"


def write_junit(result: SuiteResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(result), encoding="utf-8")
