"""The pytest plugin, exercised from a test project of its own (pytester), against a real container."""

from __future__ import annotations

import pytest

from tests.helpers import web_scenario

pytestmark = pytest.mark.docker


def test_a_team_keeps_a_resilience_check_beside_its_tests(pytester: pytest.Pytester, web_container) -> None:
    web = web_container()
    web_scenario(pytester.path, container=web.name, url=web.url, duration="1s", name="web-kill")
    web_scenario(pytester.path, container=web.name, url=web.url, duration="1s", name="web-up", during_fault="up")
    pytester.makepyfile(
        test_resilience="""
        import pytest

        @pytest.mark.gameday
        def test_web_survives_a_kill(gameday_run):
            result = gameday_run("web-kill.yaml")
            assert result.expectations_met, result.summary
            assert result.outcome == "passed"
            assert result.metrics.mttd is None or result.metrics.mttd >= 0
            assert (result.run_dir / "report.md").is_file()

        @pytest.mark.gameday
        def test_web_stays_up(gameday_run):
            result = gameday_run("web-up.yaml")
            assert result.expectations_met, result.summary

        def test_unrelated():
            assert True
        """
    )
    database = pytester.path / "resilience.sqlite"
    outcome = pytester.runpytest_subprocess("-m", "gameday", "-p", "no:cacheprovider", "--gameday-history", str(database))
    outcome.assert_outcomes(passed=1, failed=1, deselected=1)
    outcome.stdout.fnmatch_lines(["*NOT MET: probe web up during fault*"])
    # Both runs are in the history the team named, the failed one as failed.
    from gameday.history.store import History

    history = History(str(database))
    try:
        assert sorted((r.scenario, r.passed) for r in history.runs()) == [("web-kill", True), ("web-up", False)]
    finally:
        history.close()


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.gameday:*"])
