"""The HTML report opened in headless Chromium (Debian's ``chromium``): charts and scorecard actually render.

Chromium runs with no network features (background networking, component updates, sync off) and a
throwaway profile; the page is a local file that fetches nothing. If chromium is missing the test
fails and says how to install it, it is never skipped.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from gameday.report.render import render_run
from tests.report.png import Image, read_png

WIDTH, HEIGHT = 1280, 2000


def screenshot(page: Path, out: Path, profile: Path) -> subprocess.CompletedProcess[str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed: run `apt-get install -y chromium` (CI installs Debian's chromium)")
    return subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--hide-scrollbars", f"--screenshot={out}", f"--window-size={WIDTH},{HEIGHT}", page.as_uri()],
        capture_output=True, text=True, timeout=90, check=False,
    )


def colour_counts(image: Image, step: int = 2) -> Counter[tuple[int, ...]]:
    """How often each colour occurs, sampling every ``step``-th pixel of every ``step``-th row."""
    counts: Counter[tuple[int, ...]] = Counter()
    n = image.channels
    for y in range(0, image.height, step):
        row = image.rows[y]
        counts.update(tuple(row[x:x + 3]) for x in range(0, image.width * n, n * step))
    return counts


def near(counts: Counter[tuple[int, ...]], wanted: tuple[int, int, int], tolerance: int = 6) -> int:
    """Sampled pixels within ``tolerance`` of a colour."""
    return sum(n for c, n in counts.items() if all(abs(c[i] - wanted[i]) <= tolerance for i in range(3)))


def test_report_html_renders_charts_and_scorecard_in_chromium(run_dir: Path, tmp_path: Path) -> None:
    render_run(run_dir)
    png = tmp_path / "report.png"
    done = screenshot(run_dir / "report.html", png, tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    assert png.is_file() and png.stat().st_size > 20_000

    image = read_png(png)
    assert (image.width, image.height) == (WIDTH, HEIGHT)
    counts = colour_counts(image)
    assert len(counts) > 200, f"the page looks blank: only {len(counts)} distinct colours"
    # The overall rating badge (S, #65a30d) is drawn, and so are the charts: the fault window's pale red
    # shading (#dc2626 at 9% on white), the red failed-check crosses and error line, the blue latency line.
    assert near(counts, (0x65, 0xA3, 0x0D)) > 100, "no S rating badge"
    assert near(counts, (250, 234, 234), tolerance=4) > 2000, "no shaded fault window"
    assert near(counts, (0xDC, 0x26, 0x26), tolerance=30) > 50, "no red chart marks"
    assert near(counts, (0x25, 0x63, 0xEB), tolerance=30) > 50, "no latency line"


def test_the_blank_page_check_can_fail() -> None:
    blank = Image(40, 30, 3, [bytes([255, 255, 255]) * 40 for _ in range(30)])
    counts = colour_counts(blank)
    assert len(counts) == 1 and near(counts, (0x65, 0xA3, 0x0D)) == 0
