"""Fault matrix: verdicts that must never be wrong (false PASS, false FAIL).

Each test is a case a hostile but realistic user found; it failed before the mechanism behind it
was mended.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

from tests.conftest import NO_COVERAGE, Gates, no_traceback

PKG_M = "def used():\n    return 1\n" + "".join(
    f"\n\ndef unused_{n}():\n    return {n}\n" for n in range(5)
)
"""12 statements; the tests below run 7 of them (58.33 %)."""

TESTS_X = """
from pkg.m import used

def test_a():
    assert used() == 1

def test_b():
    pass

def test_c():
    pass

def test_fail():
    assert 0
"""


def _coverage_project(pytester: pytest.Pytester, report_section: str = "") -> None:
    pytester.mkpydir("pkg")
    (pytester.path / "pkg" / "__init__.py").write_text("")
    (pytester.path / "pkg" / "m.py").write_text(PKG_M)
    pytester.makepyfile(test_x=TESTS_X)
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\ntestpaths = ["."]\n\n'
        '[tool.coverage.run]\nsource = ["pkg"]\n\n'
        f"[tool.coverage.report]\n{report_section}\n"
    )


@pytest.mark.compat
def test_cov_fail_under_of_pytest_cov_is_never_lowered(pytester: pytest.Pytester) -> None:
    """Case 1: pytest-cov's FAIL at 80 % must not become TQ-05 PASS at 25 %."""
    _coverage_project(pytester)
    run = Gates(pytester, with_coverage=True).run(
        "--cov=pkg",
        "--cov-fail-under=80",
        "--atom-gates-min-pass-rate=50",
        "--atom-gates-reruns=0",
        subprocess=True,
    )
    assert run.ret == 1, run.output
    verdict = run.verdict("TQ-05")
    assert verdict["verdict"] == "FAIL"
    assert verdict["required"] == ">= 80 % (--cov-fail-under)"
    assert verdict["reason"] == ("total 58 % is below the minimum of 80 % set by --cov-fail-under")
    assert verdict["data"]["min_coverage_source"] == "--cov-fail-under"


def test_report_fail_under_of_coverage_py_is_never_lowered(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    """Case 1: ``[report] fail_under = 80`` in the coverage configuration stands."""
    _coverage_project(pytester, "fail_under = 80")
    any_engine.with_coverage = True
    run = any_engine.run("--atom-gates-min-pass-rate=50", "--atom-gates-reruns=0", subprocess=True)
    assert run.ret == 1, run.output
    assert no_traceback(run.output)
    verdict = run.verdict("TQ-05")
    core = run.report["coverage"]["core"]  # ctrace, or sysmon on Python 3.12 and newer
    assert (verdict["verdict"], verdict["measured"], verdict["required"]) == (
        "FAIL",
        f"58 % ({core}; pkg)",
        ">= 80 % ([report] fail_under in pyproject.toml)",
    )
    assert verdict["reason"] == (
        "total 58 % is below the minimum of 80 % set by [report] fail_under in pyproject.toml"
    )
    assert run.report["coverage"]["required"]["total"] == "80.0"


def test_a_lower_user_minimum_leaves_tq05_own(pytester: pytest.Pytester) -> None:
    """The stricter minimum wins: ``fail_under = 10`` does not lower TQ-05's 60."""
    _coverage_project(pytester, "fail_under = 10")
    run = Gates(pytester, with_coverage=True).run(
        "--atom-gates-min-pass-rate=50",
        "--atom-gates-reruns=0",
        "--atom-gates-min-coverage=60",
        subprocess=True,
    )
    assert run.ret == 1, run.output
    verdict = run.verdict("TQ-05")
    assert verdict["required"] == ">= 60 %"
    assert verdict["reason"] == "total 58 % is below the minimum of 60 %"


def test_no_source_anywhere_says_that_tests_are_measured(pytester: pytest.Pytester) -> None:
    """Case 2: with no source configured, the TQ-05 line says what the figure includes."""
    pytester.makepyfile(test_one="def test_one():\n    assert True\n")
    run = Gates(pytester, with_coverage=True).run(subprocess=True)
    assert run.ret == 0, run.output
    measured = run.verdict("TQ-05")["measured"]
    core = run.report["coverage"]["core"]  # ctrace, or sysmon on Python 3.12 and newer
    assert re.fullmatch(rf"\d+ % \({core}; all code run, tests included\)", measured), measured
    assert "test_one.py" in [f["path"] for f in run.report["coverage"]["files"]]
    run.result.stdout.fnmatch_lines([f"TQ-05  coverage        PASS     {measured}*>= 25 %"])


SKIPPED_AND_XFAIL = """
import pytest

def test_ok():
    pass

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass

@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert 0
"""


@pytest.mark.parametrize(
    ("engine", "name"),
    [("single", "test_skipped"), ("single", "test_xfail"), ("xdist", "test_skipped")],
)
def test_an_ide_run_of_one_skipped_or_xfail_test_warns(
    pytester: pytest.Pytester, engine: str, name: str
) -> None:
    """Case 4: a partial run in which nothing counts is a WARN, exit 0, like plain pytest."""
    pytester.makepyfile(test_calc=SKIPPED_AND_XFAIL)
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\naddopts = ["--atom-gates"]\n')
    any_engine = Gates(pytester, engine)
    run = any_engine.run(f"test_calc.py::{name}")
    assert run.ret == 0, run.output
    verdict = run.verdict("TQ-02")
    outcome = "skipped" if name == "test_skipped" else "xfailed"
    assert (verdict["verdict"], verdict["measured"], verdict["reason"]) == (
        "WARN",
        "n/a (0 tests counted)",
        "nothing ran: the 1 selected test was skipped, xfailed or xpassed "
        f"(partial run: node id test_calc.py::{name}; only --atom-gates-strict fails it)",
    )
    assert run.outcomes() == {f"test_calc.py::{name}": outcome}
    strict = Gates(pytester).run(f"test_calc.py::{name}", "--atom-gates-strict")
    assert strict.ret == 1
    assert strict.verdict("TQ-02")["verdict"] == "FAIL"


def test_a_whole_run_in_which_nothing_counts_still_fails(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(
        test_calc="import pytest\n\n@pytest.mark.skip\ndef test_skipped():\n    pass\n"
    )
    run = gates.run()
    assert run.ret == 1
    assert run.verdict("TQ-02")["verdict"] == "FAIL"


def test_quitting_pdb_keeps_the_failure(pytester: pytest.Pytester) -> None:
    """Case 5: ``q`` at the ``--pdb`` prompt; the failure stays a failure, and TQ-04 says why
    reruns are off."""
    pytester.makepyfile(
        test_fail="def test_fails():\n    assert 1 == 2\n\ndef test_ok():\n    pass\n"
    )
    report = pytester.path / "report.json"
    result = pytester.run(
        sys.executable,
        "-m",
        "pytest",
        "--atom-gates",
        NO_COVERAGE,
        f"--atom-gates-report={report}",
        "-p",
        "no:randomly",
        "test_fail.py::test_fails",
        "--pdb",
        stdin=b"q\n",
    )
    assert result.ret == 2, result.stdout.str()
    result.stdout.fnmatch_lines(["FAILED test_fail.py::test_fails - assert 1 == 2"])
    data = json.loads(report.read_text(encoding="utf-8"))
    assert [(t["nodeid"], t["outcome"]) for t in data["tests"]] == [
        ("test_fail.py::test_fails", "failed")
    ]
    tq04 = next(v for v in data["verdicts"] if v["gate"] == "TQ-04")
    assert tq04["reason"] == "reruns are off (--pdb): flakiness was not measured"
    assert data["incomplete_reason"] == "interrupted: pytest.exit(): Quitting debugger"


def test_a_session_wide_freezegun_fixture_leaves_durations_true(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    """Case 6: time frozen for the whole session; durations come from the plugin's own clock."""
    pytest.importorskip("freezegun")
    pytester.makeconftest(
        """
        import pytest
        from freezegun import freeze_time

        @pytest.fixture(scope="session", autouse=True)
        def frozen():
            with freeze_time("1999-12-31 23:59:59"):
                yield
        """
    )
    pytester.makepyfile(
        test_sleep="""
        import time
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_sleeps(n):
            time.sleep(0.1)
        """
    )
    run = any_engine.run("--atom-gates-max-test-duration=10")
    assert run.ret == 0, run.output
    assert run.verdict("TQ-03")["verdict"] == "PASS"
    durations = [t["duration"] for t in run.report["tests"]]
    assert len(durations) == 3
    assert all(0.1 <= d < 5 for d in durations), durations


def test_under_xdist_the_clock_covers_workers_that_linger(pytester: pytest.Pytester) -> None:
    """Case 7: a worker kept alive 4 s by a non-daemon thread is time the session took."""
    pytester.makepyfile(
        test_thread="""
        import threading
        import time

        def test_leaves_a_thread():
            threading.Thread(target=time.sleep, args=(4,)).start()

        def test_other():
            pass
        """
    )
    run = Gates(pytester, "xdist").run("--atom-gates-max-duration=3")
    assert run.ret == 1, run.output
    verdict = run.verdict("TQ-03")
    assert verdict["verdict"] == "FAIL"
    assert verdict["data"]["elapsed"] >= 4
    assert verdict["reason"] == (
        f"the session took {verdict['measured']}, over its budget of 3.00 s"
    )
