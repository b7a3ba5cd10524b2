"""`gameday ci`: a summary, JUnit XML that CI servers accept, non-zero exit on a failed expectation, --jobs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers import events, run_harness, web_scenario

pytestmark = pytest.mark.docker
XSD = Path(__file__).parent / "fixtures" / "junit.xsd"


def validate_junit(path: Path) -> ET.Element:
    import xmlschema

    xmlschema.XMLSchema(str(XSD)).validate(str(path))
    return ET.parse(path).getroot()


def test_ci_writes_valid_junit_and_fails_on_a_failed_expectation(tmp_path: Path, web_container) -> None:
    good_web, bad_web = web_container(), web_container()
    good = web_scenario(tmp_path, container=good_web.name, url=good_web.url, duration="1s", name="good")
    bad = web_scenario(tmp_path, container=bad_web.name, url=bad_web.url, duration="1s", name="bad", during_fault="up")
    done = run_harness("ci", str(good), str(bad), "--junit", "out/junit.xml", "--reports", "reports", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 passed, 1 failed" in done.stdout

    root = validate_junit(tmp_path / "out" / "junit.xml")
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["good"].find("failure") is None
    failure = cases["bad"].find("failure")
    assert failure is not None and failure.get("message", "").startswith("probe web up during fault:")


def test_an_environment_error_is_a_junit_error(tmp_path: Path, docker_client) -> None:
    missing = web_scenario(tmp_path, container="gdtest-nobody-here", url="http://127.0.0.1:9/", name="missing")
    done = run_harness("ci", str(missing), "--junit", "junit.xml", cwd=tmp_path)
    assert done.returncode == 1
    case = validate_junit(tmp_path / "junit.xml").find("testsuite/testcase")
    assert case is not None
    error = case.find("error")
    assert error is not None and "gdtest-nobody-here" in error.get("message", "")


def test_an_invalid_scenario_is_a_junit_error_and_the_others_still_run(tmp_path: Path, web_container) -> None:
    web = web_container()
    good = web_scenario(tmp_path, container=web.name, url=web.url, duration="1s", name="good")
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nname: broken\nfaults:\n  - {kind: container_explode, target: web, duration: 1s}\n")
    done = run_harness("ci", str(broken), str(good), "--junit", "junit.xml", "--reports", "reports", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 passed, 1 failed" in done.stdout and "Traceback" not in done.stderr
    assert "broken.yaml:4:" in done.stderr and "unknown fault kind 'container_explode'" in done.stderr
    suite = validate_junit(tmp_path / "junit.xml").find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("errors") == "1"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    error = cases["broken"].find("error")
    assert error is not None and "broken.yaml:4:" in error.get("message", "") and error.get("type") == "invalid"
    assert cases["good"].find("error") is None and cases["good"].find("failure") is None
    assert [p.name for p in (tmp_path / "reports").iterdir() if p.is_dir()] != []  # the good one ran


def _span(run_dir: Path) -> tuple[str, str]:
    evs = events(run_dir)
    return evs[0]["at"], evs[-1]["at"]


def test_jobs_run_disjoint_scenarios_in_parallel_and_shared_ones_apart(tmp_path: Path, web_container) -> None:
    a, b = web_container(), web_container()
    first = web_scenario(tmp_path, container=a.name, url=a.url, duration="2s", name="first")
    second = web_scenario(tmp_path, container=b.name, url=b.url, duration="2s", name="second")
    same_target = web_scenario(tmp_path, container=a.name, url=a.url, duration="2s", name="third")
    done = run_harness("ci", str(first), str(second), str(same_target), "--jobs", "3", "--reports", "reports",
                       cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "with 3 job(s); one by one it would take" in done.stdout
    runs = {d.name.split("-", 1)[1].rsplit("-", 1)[0]: d for d in (tmp_path / "reports").iterdir() if d.is_dir()}
    (s1, e1), (s2, e2), (s3, e3) = _span(runs["first"]), _span(runs["second"]), _span(runs["third"])
    assert s2 < e1 and s1 < e2, "disjoint targets ran at the same time"
    assert s3 >= e1 or e3 <= s1, "scenarios on the same container never overlap"
