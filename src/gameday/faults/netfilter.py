"""gameday's own netfilter rules, through the ``iptables`` command (IPv4, table ``filter``).

The rules go in the host's network namespace, or in a container's own (``netns_pid``: every call is
``nsenter -t <pid> -n iptables ...``, this machine's iptables binary run inside the container's namespace,
so the container needs no iptables of its own).

A network fault's rules live in one chain of its own, ``GAMEDAY-<8 hex>-<fault id>`` (named from the run id
and fault id the engine stamps on the handle, so a later process finds it from the handle alone), jumped
to from INPUT and OUTPUT. Every rule, the jumps and the chain's own, carries the comment
``gameday <run id> <fault id>``:

    inject   create the chain, fill it, then insert the jumps (first in INPUT/OUTPUT); a rule already
             there (an inject retried) is not added twice
    revert   delete every rule of INPUT/OUTPUT that carries this fault's comment, then flush and delete
             the chain; each step is skipped when already done, so revert is idempotent
    live     what ``iptables -S`` shows now, so ``check()`` reads the kernel's rule set, not a journal

Nothing else is touched: no other chain (Docker's, kube's), no rule without our comment.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from gameday.errors import FaultError, RevertError
from gameday.handle import FaultHandle

IPTABLES = "iptables"
NSENTER = "nsenter"
TIMEOUT = 20.0
"""How long one iptables call may take, waiting for the xtables lock included."""
BUILTINS = ("INPUT", "OUTPUT")
CHAIN_PREFIX = "GAMEDAY-"


def chain_name(run_id: str, fault_id: str) -> str:
    """The fault's chain: at most 28 characters (the kernel's limit), the same from any process."""
    digest = hashlib.sha256(f"{run_id}/{fault_id}".encode()).hexdigest()[:8]
    tail = re.sub(r"[^A-Za-z0-9_]", "", fault_id)[:11]
    return f"{CHAIN_PREFIX}{digest}-{tail}" if tail else f"{CHAIN_PREFIX}{digest}"


def comment(run_id: str, fault_id: str) -> str:
    return f"gameday {run_id} {fault_id}"


@dataclass(frozen=True)
class Netfilter:
    """The rules of one fault, in the host's network namespace or (``netns_pid``) in that process's."""

    chain: str
    comment: str
    target: str
    reverting: bool = False
    netns_pid: int = 0
    """0: the host's network namespace; else a process of the container whose namespace the rules are in."""

    @classmethod
    def of(cls, handle: FaultHandle, *, reverting: bool = False, netns_pid: int = 0) -> Netfilter:
        """The rules of the fault behind ``handle``, named from the run and fault ids the engine stamps on it."""
        if not handle.run_id or not handle.fault_id:
            raise FaultError(f"{handle.kind} needs the run id and fault id the engine stamps on its handle "
                             "(they name its rules)", target=handle.target)
        return cls(chain=chain_name(handle.run_id, handle.fault_id), comment=comment(handle.run_id, handle.fault_id),
                   target=handle.target, reverting=reverting, netns_pid=netns_pid)

    def _run(self, argv: Sequence[str], *, ok_codes: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        error = RevertError if self.reverting else FaultError
        enter = [NSENTER, "-t", str(self.netns_pid), "-n", "--"] if self.netns_pid else []
        try:
            done = subprocess.run([*enter, IPTABLES, "-w", "10", *argv], capture_output=True, text=True,
                                  timeout=TIMEOUT, check=False)
        except FileNotFoundError as exc:
            missing = NSENTER if enter and exc.filename == NSENTER else IPTABLES
            raise error(f"{missing} is not installed on this machine", target=self.target) from exc
        except subprocess.TimeoutExpired as exc:
            raise error(f"{IPTABLES} {' '.join(argv)} did not finish within {TIMEOUT:g}s", target=self.target) from exc
        if done.returncode not in ok_codes:
            why = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
            where = f" (in the network namespace of process {self.netns_pid})" if self.netns_pid else ""
            raise error(f"{IPTABLES} {' '.join(argv)}{where}: {why}", target=self.target)
        return done

    def chain_exists(self) -> bool:
        return self._run(["-S", self.chain], ok_codes=(0, 1)).returncode == 0

    def ours(self, builtin: str) -> list[list[str]]:
        """The rules of ``builtin`` carrying this fault's comment, as ``-S`` prints them (after ``-A <chain>``)."""
        found = []
        for line in self._run(["-S", builtin]).stdout.splitlines():
            parts = shlex.split(line)
            if parts[:2] == ["-A", builtin] and _comment_of(parts) == self.comment:
                found.append(parts[2:])
        return found

    def apply(self, action: Sequence[Sequence[str]], jumps: Sequence[tuple[str, Sequence[str]]]) -> None:
        """Create the chain with ``action`` rules, then jump to it from each ``(builtin, match)``."""
        tag = ["-m", "comment", "--comment", self.comment]
        if self.chain_exists():
            self._run(["-F", self.chain])  # an inject retried after a crash: refill it from scratch
        else:
            self._run(["-N", self.chain])
        for rule in action:
            self._run(["-A", self.chain, *rule, *tag])
        for builtin, match in jumps:
            rule = [*match, *tag, "-j", self.chain]
            if self._run(["-C", builtin, *rule], ok_codes=(0, 1)).returncode != 0:
                self._run(["-I", builtin, "1", *rule])

    def remove(self) -> None:
        """Delete this fault's jumps, then its chain; what is already gone is skipped."""
        for builtin in BUILTINS:
            for rule in self.ours(builtin):
                self._run(["-D", builtin, *rule], ok_codes=(0, 1))
        if self.chain_exists():
            self._run(["-F", self.chain])
            self._run(["-X", self.chain])
        left = [b for b in BUILTINS if self.ours(b)]
        if left or self.chain_exists():
            where = ", ".join(left + ([self.chain] if self.chain_exists() else []))
            raise RevertError(f"gameday's rules are still in {where} after revert", target=self.target)

    def live(self) -> tuple[int, int]:
        """(jumps to the chain with our comment in INPUT/OUTPUT, rules in the chain); (0, 0) when none."""
        jumps = sum(1 for b in BUILTINS for rule in self.ours(b) if rule[-2:] == ["-j", self.chain])
        if not self.chain_exists():
            return jumps, 0
        lines = self._run(["-S", self.chain]).stdout.splitlines()
        return jumps, sum(1 for line in lines if line.startswith(f"-A {self.chain} "))


def _comment_of(parts: list[str]) -> str | None:
    for i, part in enumerate(parts[:-1]):
        if part == "--comment":
            return parts[i + 1]
    return None


def machine_facts() -> tuple[str, bool]:
    """This machine's iptables and kernel as one sentence for ``gameday plan``, and whether the statistic match
    loads. Reads only (``iptables -V``, the extensions' help, the kernel's config); FaultError when iptables is
    missing or not allowed."""
    try:
        version = subprocess.run([IPTABLES, "-V"], capture_output=True, text=True, timeout=TIMEOUT, check=False)
        readable = subprocess.run([IPTABLES, "-w", "10", "-S", "INPUT"], capture_output=True, text=True,
                                  timeout=TIMEOUT, check=False)
        statistic = subprocess.run([IPTABLES, "-m", "statistic", "-h"], capture_output=True, text=True,
                                   timeout=TIMEOUT, check=False)
        reject = subprocess.run([IPTABLES, "-j", "REJECT", "-h"], capture_output=True, text=True,
                                timeout=TIMEOUT, check=False)
    except FileNotFoundError as exc:
        raise FaultError(f"{IPTABLES} is not installed on this machine (network faults need it)") from exc
    except subprocess.TimeoutExpired as exc:
        raise FaultError(f"{IPTABLES} did not answer within {TIMEOUT:g}s") from exc
    if readable.returncode != 0:
        why = (readable.stderr.strip().splitlines() or [f"exit {readable.returncode}"])[-1]
        raise FaultError(f"cannot read this machine's rules with {IPTABLES} -S (needs root or CAP_NET_ADMIN): {why}")
    has_statistic = statistic.returncode == 0 and "statistic" in statistic.stdout
    has_reject = reject.returncode == 0 and "--reject-with" in reject.stdout
    name = version.stdout.strip() or IPTABLES
    return (f"netfilter: {name}, rules readable, statistic match {'available' if has_statistic else 'NOT available'}, "
            f"REJECT target {'available' if has_reject else 'NOT available'}, IPv4 only; no netem needed "
            f"({kernel_facts()}); IPv6 not covered: ip6tables is not used, so traffic over ::1 or any IPv6 address "
            "is not cut"), has_statistic


KERNEL_OPTIONS = (("netem", "CONFIG_NET_SCH_NETEM"), ("TBF", "CONFIG_NET_SCH_TBF"))
"""The qdiscs a network fault could have used, as the kernel's build configuration names them."""


def kernel_facts(config: str | None = None, release: str | None = None) -> str:
    """``kernel 6.18.44: netem not built, TBF built in``, from /proc/config.gz or /boot/config-<release>."""
    import os

    release = release or os.uname().release
    text = _kernel_config(release) if config is None else config
    if text is None:
        return f"kernel {release}: its build configuration is not readable, so netem and TBF are unknown"
    values = dict(re.findall(r"^(CONFIG_\w+)=(\S+)", text, flags=re.MULTILINE))
    said = {"y": "built in", "m": "a module"}
    return f"kernel {release}: " + ", ".join(f"{name} {said.get(values.get(option, ''), 'not built')}"
                                             for name, option in KERNEL_OPTIONS)


def _kernel_config(release: str) -> str | None:
    import gzip
    from pathlib import Path

    try:
        return gzip.decompress(Path("/proc/config.gz").read_bytes()).decode("utf-8", errors="replace")
    except (OSError, EOFError):
        pass
    try:
        return Path(f"/boot/config-{release}").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
