"""What a person reads: the header, the gate table, the lists, the closing line."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import NO_COVERAGE, Gates

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_header_names_seed_thresholds_and_reproduce_hint(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    result = pytester.runpytest(
        "--atom-gates", NO_COVERAGE, "--atom-gates-seed=77", "--atom-gates-mode=TQ-03:warn"
    )
    # The seed and its replay first, then the gates a few to a line, none over 100 characters.
    result.stdout.fnmatch_lines(
        [
            "atom-gates: seed 77 | reproduce with --atom-gates-seed=77",
            "atom-gates: TQ-01 independence | TQ-02 pass rate >= 98 % | "
            "TQ-03 duration <= 3600 s (warn)",
            "atom-gates: TQ-04 reruns 2 (1 s apart, same test seed) | TQ-05 coverage >= 25 % (off)",
            "atom-gates: TQ-06 patch coverage off (no --atom-gates-changed-since)",
        ]
    )
    gate_lines = [line for line in result.outlines if re.match(r"atom-gates: [A-Z]{2}-\d\d ", line)]
    assert len(gate_lines) == 3
    assert max(len(line) for line in gate_lines) <= 100


def test_table_and_closing_line(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\ndef test_bad(): assert 0\n")
    run = gates.run("--atom-gates-seed=3", "--atom-gates-mode=TQ-01:off")
    run.result.stdout.fnmatch_lines(
        [
            "*= atom-gates =*",
            "gate   name            verdict  measured *required",
            "TQ-01  independence    OFF      - *-",
            "TQ-02  pass rate       FAIL     50.00 % (1/2)  >= 98 %",
            "TQ-03  duration        PASS     * s *<= 3600 s",
            "  TQ-02 FAIL: 1 test of 2 did not pass, below the minimum of 98 %",
            "failed tests (1):",
            "  test_s.py::test_bad - assert 0",
            "atom-gates: FAIL - TQ-02 pass rate (seed 3)",
        ]
    )


def test_quiet_keeps_the_table_and_drops_the_details(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    run = gates.run("-q", "--atom-gates-html=page.html")
    # Where the report and the page went, as pytest-html says under -q too.
    run.result.stdout.fnmatch_lines(
        [
            "TQ-02  pass rate       PASS*",
            "report: atom-gates-report.json",
            "HTML page: page.html",
            "atom-gates: PASS - every enforced gate passed (seed *)",
        ]
    )
    run.result.stdout.no_fnmatch_line("slowest*")
    quieter = gates.run("-qq", "--atom-gates-html=page.html")
    quieter.result.stdout.no_fnmatch_line("report: *")
    quieter.result.stdout.no_fnmatch_line("HTML page: *")


def test_verbose_lists_everything(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(
        test_s="""
        import pytest
        @pytest.mark.parametrize("n", range(14))
        def test_bad(n): assert 0
    """
    )
    flags = ("--atom-gates-mode=TQ-01:off",)
    short = gates.run(*flags)
    short.result.stdout.fnmatch_lines(["failed tests (14):", "  ... and 4 more (-v lists all*"])
    full = gates.run(*flags, "-v")
    full.result.stdout.no_fnmatch_line("  ... and * more*")
    full.result.stdout.fnmatch_lines(["slowest 10 tests:"])


def test_warn_only_gate_is_labelled(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(test_s="def test_bad(): assert 0\n")
    run = gates.run("--atom-gates-mode=TQ-02:warn", "--atom-gates-mode=TQ-01:off")
    run.result.stdout.fnmatch_lines(
        [
            "TQ-02  pass rate       WARN (warn only)*",
            "atom-gates: PASS with warnings - TQ-02 pass rate (seed *)",
        ]
    )
    assert run.ret == 0


def test_collect_only_shows_the_seed_but_judges_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    result = pytester.runpytest("--atom-gates", "--collect-only")
    result.stdout.fnmatch_lines(
        ["atom-gates: seed *", "atom-gates: gates are not evaluated with --collect-only"]
    )
    result.stdout.no_fnmatch_line("*= atom-gates =*")
    assert result.ret == 0


def test_example_suite_shows_the_gate_table(pytester: pytest.Pytester) -> None:
    """README's first command, ``cd examples && pytest --atom-gates``: the example suite passes
    its gates with one tolerated failure."""
    examples = pytester.path / "examples"
    shutil.copytree(EXAMPLES, examples, ignore=shutil.ignore_patterns(".*"))
    os.chdir(examples)  # pytester restores the working directory after the test
    result = pytester.runpytest_subprocess("--atom-gates")
    assert result.ret == 0, result.stdout.str()
    # Without the lancedb extra its 10 tests skip, and the suite's own SK-01 gate (warn) says so.
    if importlib.util.find_spec("lancedb") is None:
        skipped = "SK-01  skipped tests   WARN (warn only)  14.5 % (10/69) *<= 2 %"
        closing = "atom-gates: PASS with warnings - SK-01 skipped tests (seed *)"
    else:
        skipped = "SK-01  skipped tests   PASS     0.0 % (0/69) *<= 2 %"
        closing = "atom-gates: PASS - every enforced gate passed (seed *)"
    result.stdout.fnmatch_lines(
        [
            "*= atom-gates =*",
            "TQ-01  independence    *PASS*",
            "TQ-02  pass rate       *PASS*",
            "TQ-03  duration        *PASS*",
            "TQ-05  coverage        *PASS     * % (*; core, api, tools)*",
            skipped,
            "BU-01  test budgets    *PASS *0 over budget *within test-budgets.json",
            "tolerated failures, within the TQ-02 minimum of 98 % (1):",
            "  tests/core/test_inventory.py::test_low_stock_counts_reservations - *",
            closing,
        ]
    )


def test_the_slowest_tests_are_ranked_by_one_run_and_say_what_all_their_runs_took(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """A test rerun twice is no slower for it: its line shows its longest run, and its runs'
    total beside it."""
    pytester.makepyfile(
        test_s="""
        import pathlib

        def test_flaky():
            runs = pathlib.Path("runs.txt")
            runs.write_text(runs.read_text() + "x" if runs.exists() else "x")
            assert len(runs.read_text()) == 3

        def test_quick():
            pass
        """
    )
    run = gates.run("--atom-gates-rerun-delay=0", "--atom-gates-mode=TQ-01:off", "-v")
    (line,) = [line for line in run.result.stdout.lines if "test_s.py::test_flaky" in line][-1:]
    match = re.fullmatch(
        r"  +(\d+\.\d\d) s  test_s\.py::test_flaky \(3 runs, (\d+\.\d\d) s in all\)", line
    )
    assert match, line
    longest, total = (float(figure) for figure in match.groups())
    assert longest <= total
    run.result.stdout.fnmatch_lines(
        ["slowest 2 tests:", "*test_s.py::test_*", "*test_s.py::test_*"]
    )
