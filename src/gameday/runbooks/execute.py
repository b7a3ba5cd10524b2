"""Follow a runbook against a live fault and judge whether it works.

Each step's runnable blocks (```` ```sh {run} ````) are run in order, each with a timeout, with
``sh -e`` (``bash -e`` for ``bash`` blocks: the first failing command fails the step), in the
runbook's folder, with the caller's environment minus secrets (envfilter.py). Each step is recorded
as a ``runbook.step`` event; then the Verify section's runnable blocks run (numbered after the
steps), then the scenario's steady-state probes are checked until a deadline, and the verdict is
recorded as ``runbook.judged``.

Events: ``runbook.started``, ``runbook.step``, ``runbook.judged``; their details are in the event
catalogue, gameday/events.py.

Definitions used by the verdict:
    restored         every steady-state probe is green before the deadline, and no fault was reverted
                     by the harness before that (a service that only came back when the harness
                     reverted the fault was not restored by the runbook). With no probes, the
                     runnable Verify blocks decide; with neither, nothing is restored.
    time_to_restore  from the fault taking effect (``fault.effective``, else ``fault.injected``, else
                     the runbook's start) to the first all-green probe round.
    failing step     a runnable block exited non-zero or timed out (exit code 124).
    idle step        a step with no runnable block, or whose blocks succeeded while no steady-state
                     probe changed state (green <-> red) during the step or within ``settle_s`` after
                     it: the step changed nothing the users of the service could see. A diagnostic
                     step (``docker logs``) is idle by this definition; that is reported, not failed.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from gameday import events as ev
from gameday.clock import Clock
from gameday.observe.probes import Prober
from gameday.runbooks.dangerous import dangerous_commands
from gameday.runbooks.envfilter import command_env, redact, secret_values
from gameday.runbooks.parse import CodeBlock, Runbook, Step, parse_file
from gameday.scenario.durations import parse_duration
from gameday.scenario.model import ProbeSpec, Scenario
from gameday.timeline import Timeline

DEFAULT_STEP_TIMEOUT = 30.0
DEFAULT_SETTLE = 1.0
"""Seconds a step is given to show an effect on the probes before it counts as idle."""
MAX_OUTPUT_CHARS = 2000
"""Output kept per step in the timeline (head and tail); the full output is not stored."""
MAX_COMMAND_CHARS = 1000
READ_LIMIT = 256_000
"""Bytes of output read back for redaction before the cut to MAX_OUTPUT_CHARS."""
TIMEOUT_EXIT_CODE = 124
"""Recorded as a timed-out step's exit code, as timeout(1) does."""

Outcome = Literal["done", "failed", "skipped"]


@dataclass(frozen=True)
class StepResult:
    step: int
    title: str
    outcome: Outcome
    command: str
    exit_code: int | None
    duration_s: float
    output: str
    section: str = "steps"
    idle: bool = False
    reason: str = ""

    def details(self) -> dict[str, object]:
        return {"step": self.step, "title": self.title, "outcome": self.outcome, "command": self.command,
                "exit_code": self.exit_code, "duration_s": round(self.duration_s, 3), "output": self.output,
                "section": self.section, "idle": self.idle, "reason": self.reason}


@dataclass(frozen=True)
class RunbookVerdict:
    runbook: str
    restored: bool
    time_to_restore_s: float | None
    failing_steps: list[int]
    idle_steps: list[int]
    steps: list[StepResult] = field(default_factory=list)
    restored_by: str | None = None
    reason: str = ""

    @property
    def works(self) -> bool:
        """The runbook restored service and none of its steps failed."""
        return self.restored and not self.failing_steps


class RunbookSession:
    """One responder following one runbook; the facilitator's scripted responder may drive it step by step.

    ``run_step(n)`` runs step n; ``verify()`` runs the Verify blocks; ``judge()`` waits for the probes
    and records the verdict. ``execute_runbook`` does all three in order.
    """

    def __init__(
        self,
        runbook: Runbook | Path,
        *,
        scenario: Scenario | None,
        timeline: Timeline,
        env: Mapping[str, str],
        clock: Clock,
        step_timeout: float = DEFAULT_STEP_TIMEOUT,
        settle_s: float = DEFAULT_SETTLE,
        actor: str = "runbook",
        stop_on_failure: bool = True,
        cancel: threading.Event | None = None,
    ) -> None:
        self.runbook = runbook if isinstance(runbook, Runbook) else parse_file(runbook)
        self.scenario = scenario
        self.timeline = timeline
        self.env = dict(env)
        self.clock = clock
        self.step_timeout = step_timeout
        self.settle_s = settle_s
        self.actor = actor
        self.stop_on_failure = stop_on_failure
        self.cancel = cancel or threading.Event()
        self.results: list[StepResult] = []
        self._secrets = secret_values(self.env)
        self._prober = Prober(scenario.stack if scenario is not None else None)
        self._started = False
        self._start_offset = 0.0
        self._failed = False

    @property
    def probes(self) -> list[ProbeSpec]:
        return list(self.scenario.steady_state.probes) if self.scenario is not None else []

    @property
    def total_steps(self) -> int:
        """Steps plus Verify blocks: every number a ``runbook.step`` event of this runbook may carry."""
        return len(self.runbook.steps) + len(self.runbook.verify_blocks)

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._start_offset = self.timeline.now()
        self.timeline.record(ev.RUNBOOK_STARTED, actor=self.actor, runbook=self.runbook.name,
                             path=str(self.runbook.path), steps=len(self.runbook.steps), total_steps=self.total_steps)

    # --- steps ------------------------------------------------------------------------------

    def run_all(self) -> list[StepResult]:
        self.start()
        for step in self.runbook.steps:
            self.run_step(step.number)
        return self.results

    def run_step(self, number: int) -> StepResult:
        """Run step ``number`` (1-based) and record it; an unknown number is recorded as a failed step."""
        self.start()
        step = next((s for s in self.runbook.steps if s.number == number), None)
        if step is None:
            return self._record(StepResult(number, "", "failed", "", None, 0.0, "",
                                           reason=f"the runbook has no step {number}"))
        if self.cancel.is_set():
            return self._record(self._skipped(step, "the run ended before this step"))
        if self._failed and self.stop_on_failure:
            return self._record(self._skipped(step, "an earlier step failed"))
        blocks = step.runnable_blocks
        if not blocks:
            return self._record(StepResult(step.number, step.title, "skipped", "", None, 0.0, "", idle=True,
                                           reason="no runnable command (a step for a person)"))
        before = self._probe_state()
        result = self._run_blocks(step.number, step.title, blocks, "steps")
        if result.outcome == "done" and self.probes:
            changed = self._changed_since(before)
            if not changed:
                result = _replace(result, idle=True, reason="no steady-state probe changed state")
        return self._record(result)

    def verify(self) -> list[StepResult]:
        """Run the Verify section's runnable blocks, numbered after the steps."""
        self.start()
        out = []
        for offset, block in enumerate(self.runbook.verify_blocks, start=1):
            number = len(self.runbook.steps) + offset
            if self.cancel.is_set():
                out.append(self._record(StepResult(number, "Verify", "skipped", self._command(block.code), None, 0.0,
                                                   "", section="verify", reason="the run ended before this step")))
                continue
            out.append(self._record(self._run_blocks(number, "Verify", (block,), "verify")))
        return out

    def _skipped(self, step: Step, reason: str) -> StepResult:
        command = "\n".join(b.code for b in step.runnable_blocks)
        return StepResult(step.number, step.title, "skipped", self._command(command), None, 0.0, "", reason=reason)

    def _run_blocks(self, number: int, title: str, blocks: tuple[CodeBlock, ...], section: str) -> StepResult:
        outputs: list[str] = []
        started = self.clock.monotonic()
        exit_code: int | None = 0
        reason = ""
        for block in blocks:
            dangers = dangerous_commands(block.code)
            if dangers:  # a drill runs on the harness's machine: never rm -rf / or curl | sh, whatever the runbook says
                exit_code, reason = None, f"not run: dangerous command ({dangers[0].message}); see `gameday runbook lint`"
                break
            timeout = self.step_timeout
            if block.timeout_text:
                try:
                    timeout = parse_duration(block.timeout_text)
                except ValueError:
                    pass  # the linter reports it; the default timeout applies
            exit_code, output, timed_out = run_block(
                block, env=command_env(self.env, block.env_grants), cwd=self.runbook.path.parent, timeout=timeout
            )
            outputs.append(output)
            if timed_out:
                reason = f"timed out after {timeout:g}s"
                break
            if exit_code != 0:
                reason = f"exited with status {exit_code}"
                break
        duration = self.clock.monotonic() - started
        outcome: Outcome = "done" if exit_code == 0 else "failed"
        if outcome == "failed":
            self._failed = True
        command = "\n".join(b.code.rstrip("\n") for b in blocks)
        return StepResult(number, title, outcome, self._command(command), exit_code, duration,
                          self._output("".join(outputs)), section=section, reason=reason)

    def _command(self, text: str) -> str:
        return _truncate(redact(text, self._secrets), MAX_COMMAND_CHARS)

    def _output(self, text: str) -> str:
        return _truncate(redact(text, self._secrets), MAX_OUTPUT_CHARS)

    def _record(self, result: StepResult) -> StepResult:
        self.results.append(result)
        self.timeline.record(ev.RUNBOOK_STEP, actor=self.actor, runbook=self.runbook.name,
                             total_steps=self.total_steps, **result.details())
        return result

    # --- probes -----------------------------------------------------------------------------

    def _probe_state(self) -> tuple[bool, ...]:
        return tuple(self._prober.check(p).ok for p in self.probes)

    def _changed_since(self, before: tuple[bool, ...]) -> bool:
        deadline = self.clock.monotonic() + self.settle_s
        while True:
            if self._probe_state() != before:
                return True
            if self.clock.monotonic() >= deadline or self.cancel.is_set():
                return False
            self.clock.sleep(0.2)

    # --- verdict ----------------------------------------------------------------------------

    def judge(self, restore_timeout: float | None = None) -> RunbookVerdict:
        """Wait for every probe to be green and record who restored service: the runbook if that came before
        the harness began reverting the fault, else "harness revert" (or nobody, red at the deadline)."""
        self.start()
        limit = restore_timeout if restore_timeout is not None else (
            self.scenario.expect.recovers_within if self.scenario is not None else 60.0)
        failing = [r.step for r in self.results if r.outcome == "failed"]
        idle = [r.step for r in self.results if r.idle]
        restored, restored_at, restored_by, reason = self._wait_restored(limit)
        origin = self._fault_origin()
        ttr = round(restored_at - origin, 3) if restored and restored_at is not None else None
        verdict = RunbookVerdict(
            runbook=self.runbook.name, restored=restored, time_to_restore_s=ttr, failing_steps=failing,
            idle_steps=idle, steps=list(self.results), restored_by=restored_by, reason=reason,
        )
        self.timeline.record(
            ev.RUNBOOK_JUDGED, actor=self.actor, runbook=self.runbook.name, restored=restored,
            time_to_restore_s=ttr, failing_steps=failing, idle_steps=idle, restored_by=restored_by, reason=reason,
            steps_run=sum(1 for r in self.results if r.outcome != "skipped"), total_steps=self.total_steps,
        )
        self._prober.close()
        return verdict

    def _wait_restored(self, limit: float) -> tuple[bool, float | None, str | None, str]:
        if not self.probes:
            verify = [r for r in self.results if r.section == "verify"]
            if not verify:
                return False, None, None, "nothing to judge by: the scenario has no probes and Verify runs nothing"
            if all(r.outcome == "done" for r in verify):
                return True, self.timeline.now(), "runbook", "the Verify commands passed (no probes to check)"
            return False, None, None, "a Verify command failed (no probes to check)"
        deadline = self.clock.monotonic() + limit
        last_red = ""
        while True:
            results = [self._prober.check(p) for p in self.probes]
            now = self.timeline.now()
            reverted_at = self._harness_revert_offset()
            if all(r.ok for r in results):
                if reverted_at is not None and reverted_at <= now:
                    return (False, None, "harness revert",
                            "service came back only after the harness reverted the fault")
                return True, now, "runbook", "every steady-state probe is green"
            last_red = "; ".join(f"{r.probe}: {r.error}" for r in results if not r.ok)
            # Once the harness has begun reverting, the runbook can no longer be credited; the judge still
            # waits for the outcome it reports (green by the harness revert, or red at the deadline), so the
            # verdict never depends on whether the revert or a probe round came first.
            if self.clock.monotonic() >= deadline:
                after = " although the harness reverted the fault" if reverted_at is not None else ""
                return False, None, None, f"probes still red after {limit:g}s{after} ({last_red})"
            if self.cancel.is_set():
                return False, None, None, f"the run ended with probes still red ({last_red})"
            self.clock.sleep(min(p.interval for p in self.probes))

    def _harness_revert_offset(self) -> float | None:
        """When the harness first reverted a fault (a revert before the runbook began counts too)."""
        # revert.started: a container the revert starts is green before fault.reverted is written.
        offsets = [e.offset for e in list(self.timeline.events)
                   if e.kind in (ev.REVERT_STARTED, ev.FAULT_REVERTED, ev.REVERT_FAILED)]
        return min(offsets) if offsets else None

    def _fault_origin(self) -> float:
        events = list(self.timeline.events)
        for kind in (ev.FAULT_EFFECTIVE, ev.FAULT_INJECTED):
            offsets = [e.offset for e in events if e.kind == kind]
            if offsets:
                return min(offsets)
        return self._start_offset

    def close(self) -> None:
        self._prober.close()


def execute_runbook(
    path: Path | Runbook,
    *,
    scenario: Scenario | None,
    timeline: Timeline,
    env: Mapping[str, str],
    clock: Clock,
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
    restore_timeout: float | None = None,
    settle_s: float = DEFAULT_SETTLE,
    actor: str = "runbook",
    cancel: threading.Event | None = None,
) -> RunbookVerdict:
    """Run every step, then Verify, then judge against the scenario's probes; records every event."""
    session = RunbookSession(path, scenario=scenario, timeline=timeline, env=env, clock=clock,
                             step_timeout=step_timeout, settle_s=settle_s, actor=actor, cancel=cancel)
    try:
        session.run_all()
        session.verify()
        return session.judge(restore_timeout)
    finally:
        session.close()


# --- running one block -----------------------------------------------------------------------


def run_block(block: CodeBlock, *, env: Mapping[str, str], cwd: Path, timeout: float) -> tuple[int, str, bool]:
    """(exit code, output, timed out) of one block; output is stdout and stderr interleaved, capped."""
    shell = ["bash", "-e", "-c"] if block.language == "bash" else ["/bin/sh", "-e", "-c"]
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(
                [*shell, block.code], cwd=cwd if cwd.is_dir() else None, env=dict(env), stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        except OSError as exc:
            return 127, f"cannot start {shell[0]}: {exc.strerror or exc}", False
        timed_out = False
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            proc.wait()
            code = TIMEOUT_EXIT_CODE
        return code, _read_capped(out), timed_out


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # The block's whole process group: a pipeline or a backgrounded child must not outlive its timeout.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read_capped(fh: BinaryIO) -> str:
    """The output, or its head and tail cut at line ends (a cut never splits a secret, so redaction holds)."""
    size = fh.seek(0, io.SEEK_END)
    fh.seek(0)
    if size <= READ_LIMIT:
        return fh.read().decode("utf-8", errors="replace")
    head = fh.read(READ_LIMIT // 2)
    fh.seek(size - READ_LIMIT // 2)
    tail = fh.read()
    head = head[: head.rfind(b"\n") + 1]
    tail = tail[tail.find(b"\n") + 1:]
    cut = size - len(head) - len(tail)
    return (head.decode("utf-8", errors="replace") + f"[... {cut} bytes cut ...]\n"
            + tail.decode("utf-8", errors="replace"))


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"


def _replace(result: StepResult, **changes: object) -> StepResult:
    from dataclasses import replace

    return replace(result, **changes)  # type: ignore[arg-type]
