"""Every gate decision pinned by a test that breaks when the decision breaks.

Each test asserts the exact figure or message of one rule; changing the rule (a ``>=`` to ``>``,
which attempts count, where a path is resolved) makes it fail.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from pytest_atom_gates.clock import Stopwatch
from pytest_atom_gates.reporting.atomic import write_atomically
from tests.conftest import Gates
from tests.test_reruns import OUTAGE

# -- 1. the partial-run rule ---------------------------------------------------------------


@pytest.mark.parametrize("arg", [".", "tests"])
def test_paths_that_cover_testpaths_are_a_whole_run(pytester: pytest.Pytester, arg: str) -> None:
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    tests = pytester.mkdir("tests")
    (tests / "test_one.py").write_text("def test_one():\n    pass\n", encoding="utf-8")
    run = Gates(pytester).run(arg)
    assert run.report["run"]["partial"] is None
    narrower = Gates(pytester).run("tests/test_one.py")
    assert narrower.report["run"]["partial"] == "paths narrower than testpaths"


# -- 2. the per-test budget applies to each attempt ------------------------------------------


def test_the_per_test_budget_applies_to_each_attempt(pytester: pytest.Pytester) -> None:
    """Each attempt takes 0.6 s, within the 1 s budget however busy the machine (0.4 s to
    spare); the two together take more than 1 s."""
    pytester.makepyfile(
        test_s="""
        import pathlib
        import time

        def test_flaky():
            time.sleep(0.6)
            mark = pathlib.Path("attempted")
            if not mark.exists():
                mark.write_text("once")
                assert 0, "first attempt"
        """
    )
    run = Gates(pytester).run("--atom-gates-max-test-duration=1")
    assert run.outcomes() == {"test_s.py::test_flaky": "flaky"}
    (test,) = run.report["tests"]
    durations = [a["duration"] for a in test["attempts"]]
    assert len(durations) == 2
    assert min(durations) >= 0.6
    assert sum(durations) > 1
    verdict = run.verdict("TQ-03")
    assert (verdict["verdict"], verdict["data"]["over_test_budget"]) == ("PASS", [])


# -- 3. the session clock ---------------------------------------------------------------------


def test_clocks_left_patched_until_the_session_ends_cannot_fool_tq03(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_frozen="""
        import time

        def test_freezes_for_good():
            real = time.monotonic
            deadline = real() + 0.6
            time.perf_counter = lambda: 0.0
            time.monotonic = lambda: 0.0
            while real() < deadline:
                pass
        """
    )
    run = Gates(pytester).run("--atom-gates-max-duration=0.5", subprocess=True)
    verdict = run.verdict("TQ-03")
    assert verdict["verdict"] == "FAIL"
    assert verdict["data"]["elapsed"] > 0.5


def test_the_stopwatch_reads_the_clock_it_was_given() -> None:
    readings = iter([10.0, 12.5, 13.0])
    watch = Stopwatch(lambda: next(readings))
    assert watch.elapsed() == 2.5
    assert watch.elapsed() == 3.0


def test_the_stopwatch_is_not_fooled_by_a_patched_time_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    watch = Stopwatch()
    monkeypatch.setattr(time, "perf_counter", lambda: 1e9)
    assert 0 <= watch.elapsed() < 60


# -- 4. inconclusive alone-runs -----------------------------------------------------------

FAILS_ONCE_THEN = """
import pathlib
import pytest

def test_changes_alone():
    mark = pathlib.Path("ran-once")
    if mark.exists():  # the alone-run
        {alone}
    mark.write_text("yes")
    assert 0, "in the run"
"""


@pytest.mark.parametrize(
    ("alone", "detail"),
    [
        ('pytest.skip("not here")', "skipped when run alone"),
        ('pytest.xfail("known")', "xfailed when run alone"),
        ("import os; os._exit(3)", "the alone-run gave no result (exit 3: "),
    ],
    ids=["skipped", "xfailed", "no-report"],
)
def test_an_alone_run_that_neither_passes_nor_fails_is_inconclusive(
    pytester: pytest.Pytester, gates: Gates, alone: str, detail: str
) -> None:
    pytester.makepyfile(test_s=FAILS_ONCE_THEN.format(alone=alone))
    run = gates.run("--atom-gates-reruns=0", "--atom-gates-min-pass-rate=0")
    (check,) = run.report["order_checks"]
    # A child that dies names its last line of output, which other plugins may have written.
    assert check["result"] == "inconclusive"
    assert check["detail"].startswith(detail), check["detail"]
    verdict = run.verdict("TQ-01")
    assert verdict["verdict"] == "WARN"
    assert verdict["reason"] == f"1 alone-runs inconclusive ({check['detail']})"


def test_an_alone_run_that_times_out_is_inconclusive(
    pytester: pytest.Pytester, gates: Gates, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_atom_gates import order_check

    def too_slow(*args: object, **kwargs: object) -> None:
        raise subprocess.TimeoutExpired(cmd="pytest", timeout=120)

    monkeypatch.setattr(order_check.AloneChecker, "ask", too_slow)
    pytester.makepyfile(test_s="def test_fails():\n    assert 0\n")
    run = gates.run("--atom-gates-reruns=0", "--atom-gates-min-pass-rate=0")
    (check,) = run.report["order_checks"]
    assert (check["result"], check["detail"]) == (
        "inconclusive",
        "the alone-run took longer than 120 s",
    )
    assert run.verdict("TQ-01")["verdict"] == "WARN"


# -- 5. the outage cap ------------------------------------------------------------------------


def test_the_outage_cap_stops_at_the_tenth_first_failure(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(test_s=OUTAGE)
    run = gates.run("--atom-gates-mode=TQ-01:off", "--atom-gates-mode=TQ-02:off")
    attempts = sorted(len(p.read_text()) for p in pytester.path.glob("down-*.txt"))
    # Nine tests got their two reruns; the tenth first failure reached the cap.
    assert attempts == [1] * 31 + [3] * 9
    verdict = run.verdict("TQ-04")
    assert verdict["reason"] == (
        "reruns stopped: 10 of 10 tests failed their first attempt (cap 20%, at least 10)"
    )


def test_the_outage_cap_counts_only_first_attempts(pytester: pytest.Pytester, gates: Gates) -> None:
    """Five broken tests among 40 make 15 failed attempts but only 5 first failures: no cap."""
    pytester.makepyfile(
        test_s="""
        import pytest

        @pytest.mark.parametrize("n", range(40))
        def test_some(n):
            assert n >= 5, "broken"
        """
    )
    run = gates.run(
        "--atom-gates-mode=TQ-01:off", "--atom-gates-mode=TQ-02:off", "--atom-gates-rerun-cap-min=6"
    )
    broken = [t for t in run.report["tests"] if t["outcome"] == "failed"]
    assert [len(t["attempts"]) for t in broken] == [3] * 5
    assert run.verdict("TQ-04")["data"]["capped"] == []


# -- 8. ini paths: tests/test_settings.py::test_report_path_from_ini_is_relative_to_the_ini_file


# -- 9. non-finite durations ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["1e999", "inf", "nan", "-inf"])
def test_a_non_finite_budget_is_a_usage_error(pytester: pytest.Pytester, value: str) -> None:
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = pytester.runpytest("--atom-gates", f"--atom-gates-max-duration={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --atom-gates-max-duration: invalid value {value!r} (*"])


# -- 10. atomic writes --------------------------------------------------------------------


def test_a_write_that_fails_halfway_leaves_the_previous_report_and_no_temporary_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "report.json"
    path.write_text('{"previous": true}', encoding="utf-8")

    def half_then_fail(stream: object) -> None:
        stream.write('{"new": ')  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomically(path, half_then_fail)
    assert json.loads(path.read_text(encoding="utf-8")) == {"previous": True}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_reader_never_sees_half_a_report(tmp_path: Path) -> None:
    """While the new text is being written, the path still holds the complete old one."""
    path = tmp_path / "report.json"
    path.write_text('{"previous": true}', encoding="utf-8")
    seen = []

    def write_and_look(stream: object) -> None:
        stream.write('{"new": ')  # type: ignore[attr-defined]
        seen.append(path.read_text(encoding="utf-8"))
        stream.write("true}")  # type: ignore[attr-defined]

    write_atomically(path, write_and_look)
    assert seen == ['{"previous": true}']
    assert json.loads(path.read_text(encoding="utf-8")) == {"new": True}


# -- 12. collection errors under --continue-on-collection-errors ---------------------------


def test_collection_errors_fail_tq02_when_the_run_goes_on(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    pytester.makepyfile(
        test_bad="import nonexistent_module_xyz\n",
        test_ok="def test_a():\n    pass\n\ndef test_b():\n    pass\n",
    )
    run = any_engine.run("--continue-on-collection-errors")
    assert run.ret == 1
    verdict = run.verdict("TQ-02")
    assert (verdict["verdict"], verdict["measured"], verdict["reason"]) == (
        "FAIL",
        "100.00 % (2/2)",
        "collection failed: 1 error (first: test_bad.py: "
        "ModuleNotFoundError: No module named 'nonexistent_module_xyz')",
    )
