"""TQ-02 pass rate and the exit status it decides, with and without xdist."""

from __future__ import annotations

import json
import textwrap
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_atom_gates.gates.numbers import format_percent, meets_minimum
from tests.conftest import Gates, no_traceback


def suite(passing: int, failing: int = 0, extra: str = "") -> str:
    return textwrap.dedent(f"""
        import pytest
        @pytest.mark.parametrize("n", range({passing}))
        def test_pass(n):
            pass
        @pytest.mark.parametrize("n", range({failing}))
        def test_fail(n):
            assert n < 0, "deliberate"
    """) + textwrap.dedent(extra)


def test_all_pass(pytester: pytest.Pytester, any_engine: Gates) -> None:
    pytester.makepyfile(test_s=suite(20))
    run = any_engine.run()
    assert run.ret == 0
    verdict = run.verdict("TQ-02")
    assert (verdict["verdict"], verdict["measured"]) == ("PASS", "100.00 % (20/20)")
    assert run.report["complete"] is True


def test_tolerated_failure_exits_zero_and_is_listed(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    pytester.makepyfile(test_s=suite(49, 1))
    run = any_engine.run("--atom-gates-mode=TQ-01:off")
    assert run.ret == 0
    assert run.verdict("TQ-02")["measured"] == "98.00 % (49/50)"
    run.result.stdout.fnmatch_lines(
        [
            "tolerated failures, within the TQ-02 minimum of 98 % (1):",
            "  test_s.py::test_fail?0? - AssertionError: deliberate*",
            "atom-gates: PASS - every enforced gate passed (seed *)",
        ]
    )


def test_below_minimum_fails(pytester: pytest.Pytester, any_engine: Gates) -> None:
    pytester.makepyfile(test_s=suite(48, 2))
    run = any_engine.run("--atom-gates-mode=TQ-01:off")
    assert run.ret == 1
    verdict = run.verdict("TQ-02")
    assert verdict["verdict"] == "FAIL"
    assert verdict["measured"] == "96.00 % (48/50)"
    assert "2 tests of 50 did not pass" in verdict["reason"]
    run.result.stdout.fnmatch_lines(["failed tests (2):", "*atom-gates: FAIL - TQ-02 pass rate*"])


def test_exact_threshold_is_compared_exactly(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(test_s=suite(97, 3))  # exactly 97 %
    flags = ("--atom-gates-mode=TQ-01:off",)
    assert gates.run(*flags, "--atom-gates-min-pass-rate=97").ret == 0
    failing = gates.run(*flags, "--atom-gates-min-pass-rate=97.0001")
    assert failing.ret == 1
    assert failing.verdict("TQ-02")["measured"] == "97.00 % (97/100)"


@given(st.integers(0, 10_000), st.integers(1, 10_000), st.decimals(0, 100, places=2))
def test_displayed_rate_never_looks_better_than_the_verdict(
    passed: int, extra: int, minimum: Decimal
) -> None:
    counted = passed + extra - 1 if passed + extra > 1 else 1
    passed = min(passed, counted)
    shown = Decimal(format_percent(passed, counted).split()[0])
    assert meets_minimum(passed, counted, minimum) == (passed * 100 >= minimum * counted)
    if not meets_minimum(passed, counted, minimum):
        assert shown < minimum


def test_nothing_collected(pytester: pytest.Pytester, any_engine: Gates) -> None:
    pytester.makepyfile(test_s="x = 1\n")
    run = any_engine.run()
    assert run.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    verdict = run.verdict("TQ-02")
    assert verdict["verdict"] == "FAIL"
    assert "nothing ran: no tests were selected" in verdict["reason"]


def test_all_skipped_is_not_a_pass(pytester: pytest.Pytester, any_engine: Gates) -> None:
    pytester.makepyfile(
        test_s="""
        import pytest
        @pytest.mark.skip(reason="not today")
        def test_a(): pass
        @pytest.mark.xfail(reason="known")
        def test_b(): assert False
    """
    )
    run = any_engine.run()
    assert run.ret == 1
    verdict = run.verdict("TQ-02")
    assert verdict["verdict"] == "FAIL"
    assert "nothing ran: all 2 selected tests were skipped, xfailed or xpassed" in verdict["reason"]


def test_skips_and_xfails_leave_the_denominator(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    pytester.makepyfile(
        test_s="""
        import pytest
        def test_ok(): pass
        @pytest.mark.skip
        def test_skip(): pass
        @pytest.mark.xfail
        def test_xfail(): assert False
        @pytest.mark.xfail(strict=False)
        def test_xpass(): pass
        @pytest.mark.xfail(strict=True)
        def test_strict_xpass(): pass
    """
    )
    run = any_engine.run("--atom-gates-min-pass-rate=50", "--atom-gates-mode=TQ-01:off")
    assert run.outcomes() == {
        "test_s.py::test_ok": "passed",
        "test_s.py::test_skip": "skipped",
        "test_s.py::test_xfail": "xfailed",
        "test_s.py::test_xpass": "xpassed",
        "test_s.py::test_strict_xpass": "failed",
    }
    assert run.verdict("TQ-02")["measured"] == "50.00 % (1/2)"
    assert run.ret == 0


def test_setup_and_teardown_errors_fail_the_test(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    pytester.makepyfile(
        test_s="""
        import pytest
        @pytest.fixture
        def broken_setup():
            raise RuntimeError("no database")
        @pytest.fixture
        def broken_teardown():
            yield
            raise RuntimeError("cleanup failed")
        def test_setup(broken_setup): pass
        def test_teardown(broken_teardown): pass
        def test_ok(): pass
    """
    )
    run = any_engine.run("--atom-gates-mode=TQ-01:off")
    outcomes = run.outcomes()
    assert outcomes["test_s.py::test_setup"] == "failed"
    assert outcomes["test_s.py::test_teardown"] == "failed"
    phases = {t["nodeid"]: t["attempts"][-1]["phase"] for t in run.report["tests"]}
    assert phases["test_s.py::test_setup"] == "setup"
    assert phases["test_s.py::test_teardown"] == "teardown"
    assert run.verdict("TQ-02")["measured"] == "33.33 % (1/3)"
    assert run.ret == 1


def test_collection_error_fails(pytester: pytest.Pytester, any_engine: Gates) -> None:
    pytester.makepyfile(test_ok=suite(60), test_broken="import not_a_module\n")
    run = any_engine.run()
    assert run.ret == 1
    verdict = run.verdict("TQ-02")
    assert verdict["verdict"] == "FAIL"
    assert "collection failed: 1 error (first: test_broken.py: " in verdict["reason"]
    assert "not_a_module" in verdict["reason"]
    assert run.report["collection_errors"][0]["nodeid"] == "test_broken.py"
    assert run.report["complete"] is False


def test_stopping_early_fails_and_counts_tests_not_run(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    pytester.makepyfile(test_s=suite(200, 1))
    run = any_engine.run("-x", "--atom-gates-mode=TQ-01:off", "--atom-gates-min-pass-rate=0")
    assert run.ret == 1
    verdict = run.verdict("TQ-02")
    assert verdict["verdict"] == "FAIL"
    assert "run stopped early" in verdict["reason"]
    not_run = run.report["summary"]["not-run"]
    assert not_run > 0
    assert f"{not_run} selected test" in verdict["reason"]
    assert run.report["summary"]["selected"] == 201
    assert run.report["complete"] is False


def test_keyboard_interrupt_keeps_exit_2_and_writes_incomplete_report(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    pytester.makepyfile(
        test_s=suite(
            5,
            extra="""
        def test_zz_interrupt():
            raise KeyboardInterrupt
    """,
        )
    )
    run = any_engine.run(subprocess=True)
    assert run.ret == pytest.ExitCode.INTERRUPTED
    assert run.report["complete"] is False
    assert run.report["incomplete_reason"] == "interrupted: KeyboardInterrupt"
    assert run.verdict("TQ-02")["verdict"] == "FAIL"
    assert no_traceback(run.result.stderr.str())


@pytest.mark.parametrize("code", [7, 3])
def test_pytest_exit_keeps_its_code(pytester: pytest.Pytester, gates: Gates, code: int) -> None:
    pytester.makepyfile(
        test_s=f"""
        import pytest
        def test_leave():
            pytest.exit("enough", returncode={code})
    """
    )
    run = gates.run()
    assert run.ret == code
    assert run.report["run"]["interrupted"] == "pytest.exit(): enough"
    # Code 3 is pytest's own for an internal error, but this one was asked for.
    assert run.report["incomplete_reason"] == "interrupted: pytest.exit(): enough"
    run.result.stdout.fnmatch_lines(["atom-gates: FAIL - TQ-02 pass rate* (seed *)"])


def test_unittest_subtests_fail_their_test(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(
        test_s="""
        import unittest
        class T(unittest.TestCase):
            def test_cases(self):
                for n in range(3):
                    with self.subTest(n=n):
                        self.assertNotEqual(n, 1)
            def test_fine(self):
                pass
    """
    )
    run = gates.run("--atom-gates-mode=TQ-01:off")
    assert run.outcomes() == {
        "test_s.py::T::test_cases": "failed",
        "test_s.py::T::test_fine": "passed",
    }
    assert run.verdict("TQ-02")["measured"] == "50.00 % (1/2)"


def test_a_flaky_test_whose_subtest_failed_once_leaves_the_run_green(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """pytest says 1 for the failed subtest of the first attempt; the rerun passed, so the
    flaky test explains that 1 and the gates decide the exit status."""
    pytester.makepyfile(
        test_s="""
        import pathlib, unittest
        class T(unittest.TestCase):
            def test_cases(self):
                flag = pathlib.Path("attempted")
                first = not flag.exists()
                flag.write_text("x")
                for n in range(2):
                    with self.subTest(n=n):
                        self.assertFalse(first and n == 1)
                self.assertFalse(first)
    """
    )
    run = gates.run("--atom-gates-mode=TQ-01:off")
    assert run.outcomes() == {"test_s.py::T::test_cases": "flaky"}
    assert run.ret == 0
    assert "pytest reported a failure outside the tests" not in run.output
    run.result.stdout.fnmatch_lines(["atom-gates: PASS with warnings - TQ-04 determinism (seed *)"])


def test_deselection_marks_the_run_partial(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(test_s="def test_a(): pass\ndef test_b(): pass\ndef test_c(): pass\n")
    run = gates.run("-k", "not test_a")
    assert run.report["run"]["partial"] == "-k 'not test_a'"
    assert run.report["summary"]["selected"] == 2
    whole = gates.run()
    assert whole.report["run"]["partial"] is None
    by_node = gates.run("test_s.py::test_b")
    assert by_node.report["run"]["partial"] == "node id test_s.py::test_b"


SLOW_AND_QUICK = (
    "import pytest\n\n@pytest.mark.slow\ndef test_slow(): pass\n\n"
    "def test_quick(): pass\n\ndef test_other(): pass\n"
)


@pytest.mark.parametrize(
    ("ini", "environment", "given", "partial"),
    [
        # The project's own definition of its suite: a whole run.
        ('-m "not slow"', "", (), None),
        ("-k quick", "", (), None),
        ("--deselect test_s.py::test_other", "", (), None),
        ('-m "not slow" --deselect test_s.py::test_other', "", (), None),
        ("test_s.py", "", (), None),
        # Given for this run: partial, whatever the ini file says.
        ("", '-m "not slow"', (), "-m 'not slow'"),
        ("", "", ("-m", "not slow"), "-m 'not slow'"),
        ('-m "not slow"', "", ("-k", "quick"), "-k 'quick'"),
        ('-m "not slow"', "", ("-m", "slow"), "-m 'slow'"),
        ('-m "not slow"', "", ("--deselect", "test_s.py::test_other"), "--deselect"),
        ("", "", ("test_s.py::test_quick",), "node id test_s.py::test_quick"),
    ],
)
def test_selection_in_the_ini_files_addopts_is_the_suite_and_only_given_selection_is_partial(  # noqa: PLR0917
    pytester: pytest.Pytester,
    any_engine: Gates,
    monkeypatch: pytest.MonkeyPatch,
    ini: str,
    environment: str,
    given: tuple[str, ...],
    partial: str | None,
) -> None:
    pytester.makepyfile(test_s=SLOW_AND_QUICK)
    pytester.makeini(f"[pytest]\nmarkers =\n    slow: slow\naddopts = {ini}\n")
    if environment:
        monkeypatch.setenv("PYTEST_ADDOPTS", environment)
    run = any_engine.run(*given)
    assert run.report["run"]["partial"] == partial


@pytest.mark.parametrize(
    ("on_record", "partial"),
    [
        ({}, None),
        ({"test_gone.py::test_removed": True}, None),  # it runs everything
        ({"test_s.py::test_a": True}, "--lf"),
    ],
)
def test_only_a_last_failed_run_that_ran_a_subset_is_partial(
    pytester: pytest.Pytester, gates: Gates, on_record: dict[str, bool], partial: str | None
) -> None:
    pytester.makepyfile(test_s="def test_a(): pass\ndef test_b(): pass\n")
    lastfailed = pytester.path / ".pytest_cache" / "v" / "cache" / "lastfailed"
    lastfailed.parent.mkdir(parents=True)
    lastfailed.write_text(json.dumps(on_record), encoding="utf-8")
    run = gates.run("--lf")
    assert run.report["run"]["partial"] == partial
    assert run.report["summary"]["selected"] == (1 if partial else 2)
