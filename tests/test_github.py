"""GitHub Actions: the step summary appended to its file, annotations in the log, never a crash."""

from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_atom_gates.ordering import shuffled_order
from pytest_atom_gates.reporting.github import (
    ANNOTATION_LIMIT,
    escape_data,
    escape_property,
    workflow_command,
)
from tests.conftest import GatedRun, Gates, no_traceback, reproduce_arguments

SUITE = """
    state = {}
    attempts = []

    def test_ok():
        pass

    def test_flaky():
        attempts.append(1)
        assert len(attempts) > 1, "not yet"

    def test_first():
        state["x"] = 1

    def test_second():
        assert "x" not in state, "100% polluted: x, y"
"""


def order_dependent_run(pytester: pytest.Pytester, gates: Gates) -> GatedRun:
    """SUITE under a seed that runs test_first before test_second, on one process or worker.

    test_second then fails in the shuffled run and passes alone: it is order-dependent.
    """
    names = ["test_ok", "test_flaky", "test_first", "test_second"]
    chains = [["test_s.py", f"test_s.py::{name}"] for name in names]
    seed = next(
        seed
        for seed in range(100)
        if (order := shuffled_order(chains, seed)).index(2) < order.index(3)
    )
    pytester.makepyfile(test_s=SUITE)
    same_worker = ("--dist=loadfile",) if gates.engine == "xdist" else ()
    return gates.run(f"--atom-gates-seed={seed}", "--atom-gates-min-pass-rate=50", *same_worker)


@pytest.fixture
def on_github(github_summary: Path) -> Path:
    """A GitHub Actions environment whose step summary already holds an earlier step's text."""
    github_summary.write_text("earlier step\n", encoding="utf-8")
    return github_summary


def test_step_summary_is_appended(
    pytester: pytest.Pytester, any_engine: Gates, on_github: Path
) -> None:
    run = order_dependent_run(pytester, any_engine)
    assert run.ret == 1  # TQ-01: test_second is order-dependent
    seed = run.report["seed"]
    text = on_github.read_text(encoding="utf-8")
    assert text.startswith(
        f"earlier step\n### atom-gates: FAIL - TQ-01 independence (seed {seed})\n"
    )
    assert "| TQ-01 | independence | \u274c FAIL | 1 order-dependent" in text
    assert "| TQ-02 | pass rate | \u2705 PASS | 75.00 % (3/4) | >= 50 % |" in text
    assert "#### Tolerated failures, within the TQ-02 minimum of 50 % (1)" in text
    assert "- `test_s.py::test_second` - `AssertionError: 100% polluted: x, y" in text
    assert "#### Flaky tests (1)" in text
    assert (
        "- `test_s.py::test_flaky` - `passed on attempt 2; attempt 1 failed in call: "
        "AssertionError: not yet`"
    ) in text
    assert "#### Order-dependent tests (1)" in text
    # Started as the run was: python -m pytest under xdist here, the pytest script in process.
    reproduce = re.search(r"```sh\n  ((?:python -m )?pytest .*)\n  ```", text)
    assert reproduce is not None
    assert reproduce_arguments(reproduce.group(1))[:2] == [
        "--atom-gates",
        f"--atom-gates-seed={seed}",
    ]
    assert "test_s.py::test_first " in reproduce.group(1)
    assert reproduce.group(1).endswith(" test_s.py::test_second")


def test_annotations_point_at_the_failing_lines(
    pytester: pytest.Pytester, gates: Gates, on_github: Path
) -> None:
    run = order_dependent_run(pytester, gates)
    commands = [line for line in run.result.outlines if line.startswith("::")]
    assert len(commands) == 4
    assert fnmatch(commands[0], "::error title=atom-gates TQ-01 independence::FAIL: *")
    assert commands[1] == (
        "::warning title=atom-gates TQ-04 determinism::WARN: 1 flaky, required flaky tests "
        "warn%0Aflaky: test_s.py::test_flaky"
    )
    assert fnmatch(
        commands[2],
        "::error file=test_s.py,line=15,title=test_s.py%3A%3Atest_second failed (tolerated "
        "by TQ-02)::AssertionError: 100%25 polluted: x, y*%0Aorder-dependent: fails after "
        "test_s.py::test_first (found in * runs). Reproduce:%0Apytest --atom-gates "
        "--atom-gates-seed=* test_s.py::test_first test_s.py::test_second",
    )
    assert commands[3] == (
        "::warning file=test_s.py,line=9,title=test_s.py%3A%3Atest_flaky is flaky::passed "
        "on attempt 2; attempt 1 failed in call: AssertionError: not yet"
    )


def test_warn_verdict_is_a_warning(
    pytester: pytest.Pytester, gates: Gates, on_github: Path
) -> None:
    pytester.makepyfile(test_s="def test_bad(): assert 0\n")
    run = gates.run("--atom-gates-mode=TQ-02:warn", "--atom-gates-mode=TQ-01:off")
    assert run.ret == 0
    run.result.stdout.fnmatch_lines(
        [
            "::warning title=atom-gates TQ-02 pass rate::WARN: 0.00 %25 (0/1), required >= 98 %25*",
            "::error file=test_s.py,line=1,title=test_s.py%3A%3Atest_bad failed::assert 0",
        ]
    )
    assert "| TQ-01 | independence | \u2796 OFF | - | - |" in on_github.read_text("utf-8")
    assert "WARN (warn only)" in on_github.read_text("utf-8")


def test_quarantined_failures_are_listed_not_annotated(
    pytester: pytest.Pytester, gates: Gates, on_github: Path
) -> None:
    pytester.makepyfile(
        test_s="""
        import pytest

        @pytest.mark.atom_gates_quarantine("ticket 42")
        def test_known_bad():
            assert 0, "known"

        def test_ok():
            pass
    """
    )
    run = gates.run("--atom-gates-mode=TQ-01:off")
    assert run.ret == 0
    assert not [line for line in run.result.outlines if line.startswith("::")]
    text = on_github.read_text("utf-8")
    assert "#### Quarantined tests, counted by no gate (1)" in text
    assert "- `test_s.py::test_known_bad` - `failed` (marker: ticket 42)" in text
    assert "Failed tests" not in text


def test_a_failure_annotation_keeps_the_compared_values(
    pytester: pytest.Pytester, gates: Gates, on_github: Path
) -> None:
    pytester.makepyfile(
        test_s="""
        def test_discount():
            price = 200.0
            assert price == 180.0, "discount of 10% should apply"
    """
    )
    run = gates.run("--atom-gates-mode=TQ-01:off")
    assert (
        "::error file=test_s.py,line=3,title=test_s.py%3A%3Atest_discount failed::"
        "AssertionError: discount of 10%25 should apply%0Aassert 200.0 == 180.0"
    ) in run.result.outlines


def test_a_failure_points_at_its_frame_inside_the_repository(
    pytester: pytest.Pytester, gates: Gates, on_github: Path
) -> None:
    """A helper of the repository that fails is annotated where it failed, which a pull
    request changing it shows; a failure inside the standard library points at the test."""
    pytester.makepyfile(helper="def check(value):\n    assert value, 'not valid'\n")
    pytester.makepyfile(
        test_s="""
        import json
        from helper import check

        def test_uses_helper():
            check(False)

        def test_parses():
            json.loads("{")
    """
    )
    pytester.syspathinsert()
    run = gates.run("--atom-gates-mode=TQ-01:off")
    run.result.stdout.fnmatch_lines(
        ["::error file=helper.py,line=2,title=test_s.py%3A%3Atest_uses_helper failed::*"]
    )
    run.result.stdout.fnmatch_lines(
        ["::error file=test_s.py,line=7,title=test_s.py%3A%3Atest_parses failed::*"]
    )


def test_annotations_stop_at_githubs_limit_with_gates_first(
    pytester: pytest.Pytester, gates: Gates, on_github: Path
) -> None:
    pytester.makepyfile(
        test_s="""
        import pytest
        @pytest.mark.parametrize("n", range(15))
        def test_bad(n): assert 0
    """
    )
    run = gates.run("--atom-gates-order-checks=0")
    errors = [line for line in run.result.outlines if line.startswith("::error ")]
    assert len(errors) == ANNOTATION_LIMIT
    assert errors[0].startswith("::error title=atom-gates TQ-02 pass rate::FAIL")
    assert "#### Failed tests (15)" in on_github.read_text("utf-8")


def test_missing_summary_variable_is_said_once(
    pytester: pytest.Pytester, gates: Gates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    run = gates.run()
    assert run.ret == 0
    lines = [line for line in run.result.outlines if "GITHUB_STEP_SUMMARY" in line]
    assert lines == ["atom-gates: GITHUB_STEP_SUMMARY is not set: no step summary written"]
    assert no_traceback(run.output)


def test_unwritable_summary_is_said_once(
    pytester: pytest.Pytester, gates: Gates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.mkdir("a-directory")))
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    run = gates.run()
    assert run.ret == 0
    lines = [line for line in run.result.outlines if "step summary" in line]
    assert len(lines) == 1
    assert re.fullmatch(
        r"atom-gates: could not append the step summary to .*a-directory: .+", lines[0]
    )
    assert no_traceback(run.output)


@pytest.mark.parametrize("actions", [None, "false"])
def test_nothing_outside_github_actions(
    pytester: pytest.Pytester,
    gates: Gates,
    monkeypatch: pytest.MonkeyPatch,
    on_github: Path,
    actions: str | None,
) -> None:
    if actions is None:
        monkeypatch.delenv("GITHUB_ACTIONS")
    else:
        monkeypatch.setenv("GITHUB_ACTIONS", actions)
    pytester.makepyfile(test_s="def test_bad(): assert 0\n")
    run = gates.run("--atom-gates-mode=TQ-01:off")
    assert run.ret == 1
    assert not [line for line in run.result.outlines if line.startswith("::")]
    assert on_github.read_text("utf-8") == "earlier step\n"


def test_nothing_without_atom_gates(pytester: pytest.Pytester, on_github: Path) -> None:
    pytester.makepyfile(test_s="def test_bad(): assert 0\n")
    result = pytester.runpytest()
    assert result.ret == 1
    assert not [line for line in result.outlines if line.startswith("::")]
    assert on_github.read_text("utf-8") == "earlier step\n"


def _unescape(text: str) -> str:
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, raw)
    return text


@given(st.text())
def test_escaped_property_has_no_separators_and_round_trips(text: str) -> None:
    escaped = escape_property(text)
    assert not set(escaped) & {":", ",", "\r", "\n"}
    assert _unescape(escaped) == text


@given(st.text())
def test_escaped_message_stays_on_one_line_and_round_trips(text: str) -> None:
    escaped = escape_data(text)
    assert "\n" not in escaped
    assert "\r" not in escaped
    assert _unescape(escaped) == text


def test_workflow_command_leaves_out_missing_properties() -> None:
    assert workflow_command("warning", "a\nb", file="t.py", line=None, title="x:y") == (
        "::warning file=t.py,title=x%3Ay::a%0Ab"
    )
    assert workflow_command("error", "50%") == "::error::50%25"
