"""Install plugins for the length of a test, through real entry points, as ``pip install`` would.

    with installed_plugins({"gameday.faults": {"restart": "mypackage.faults:ContainerRestart"}}):
        FaultRegistry().driver_class("restart")    # loaded and checked exactly as in a real drill

A test of a plugin then goes through what a user's drill goes through: the entry point is found, the
object imported and checked against its contract (gameday.plugins), and a broken one is the same one
line. Values are ``module:attribute``; a module a test defined itself may be named by ``__name__``.
"""

from __future__ import annotations

import contextlib
import importlib
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from gameday.platforms.registry import installed_platforms
from gameday.plugins import installed_probe_kinds


@contextlib.contextmanager
def installed_plugins(groups: Mapping[str, Mapping[str, str]], *,
                      distribution: str = "gameday-test-plugins") -> Iterator[None]:
    """Entry points ``{group: {name: "module:attribute"}}`` are installed inside the ``with`` block and
    gone after it (a distribution's metadata in a temporary folder at the front of ``sys.path``)."""
    site = Path(tempfile.mkdtemp(prefix="gameday-plugins-"))
    dist = site / f"{distribution.replace('-', '_')}-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0\n", encoding="utf-8")
    lines = [line for group, names in groups.items()
             for line in (f"[{group}]", *(f"{name} = {value}" for name, value in names.items()), "")]
    (dist / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    installed_platforms.cache_clear()  # the process-wide registries are read again, with these
    installed_probe_kinds.cache_clear()
    try:
        yield
    finally:
        sys.path.remove(str(site))
        importlib.invalidate_caches()
        installed_platforms.cache_clear()
        installed_probe_kinds.cache_clear()
        shutil.rmtree(site, ignore_errors=True)
