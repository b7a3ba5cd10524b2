"""A machine without Playwright still runs everything but the browser tests (``-m "not browser"``), and the
browser tests, when selected, fail with the sentence that says what to install (issue 18's audit)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Playwright made unimportable for this one interpreter, as on a machine that never installed it.
WITHOUT_PLAYWRIGHT = "import sys; sys.modules['playwright'] = None; import pytest; sys.exit(pytest.main(sys.argv[1:]))"


def pytest_without_playwright(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_PLAYWRIGHT, "-p", "no:cacheprovider",
                           f"--basetemp={tmp_path / 'inner'}", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def test_the_browser_tests_are_collected_and_deselected_without_playwright(tmp_path: Path) -> None:
    done = pytest_without_playwright(tmp_path, "--collect-only", "-q", "-m", "not browser", "tests/browser")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error" not in done.stdout.lower(), done.stdout
    assert "deselected" in done.stdout, done.stdout


def test_a_selected_browser_test_fails_saying_playwright_is_needed(tmp_path: Path) -> None:
    done = pytest_without_playwright(tmp_path, "-q", "-m", "browser", "-k", "fits_a_phone", "tests/browser")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the browser tests need Playwright" in done.stdout, done.stdout
    assert "1 error" in done.stdout or "1 failed" in done.stdout, done.stdout
