"""The Kubernetes scale benchmark imports and reads its arguments (it is run on demand, never here:
benchmarks/k8s_scale.py)."""

from __future__ import annotations

import pytest

from benchmarks.k8s_scale import parse_args


def test_the_defaults_are_the_issues_scale() -> None:
    args = parse_args([])
    assert (args.nodes, args.replicas, args.percent, args.rounds, args.only) == (50, 1000, 10, 5, None)


def test_one_tool_can_be_chosen() -> None:
    assert parse_args(["--only", "chaos", "--rounds", "2"]).only == ["chaos"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--percent", "0"], "--percent: between 1 and 100"),
    (["--nodes", "1001"], "--nodes: between 1 and 1000"),
    (["--only", "litmus"], "invalid choice: 'litmus'"),
])
def test_bad_arguments_are_one_line_and_exit_2(argv: list[str], message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
