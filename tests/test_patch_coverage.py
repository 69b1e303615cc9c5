"""TQ-06 patch coverage: every line a change touches is tested, judged in the run.

Each inner project is a git repository: a base commit, then a change (committed, staged,
unstaged or untracked) that the run compares with ``--atom-gates-changed-since=main``. The
runs measure coverage in a subprocess, single process and under ``-n 2``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GatedRun, Gates, no_traceback, run_git

pytestmark = [
    pytest.mark.every_python,
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
]

BASE = """\
def add(a, b):
    return a + b


def sub(a, b):
    return a - b
"""

CHANGED = """\
def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def clamp(n, low, high):
    if n < low:
        return low
    return min(n, high)


def double(n):
    return add(n, n)


def never():  # pragma: no cover
    return 0
"""

TESTS = """\
from pkg.calc import add


def test_add():
    assert add(1, 2) == 3
"""

MORE_TESTS = """\

from pkg.calc import double


def test_double():
    assert double(2) == 4
"""


def make_repository(pytester: pytest.Pytester, branch: bool = True) -> None:
    """``pkg.calc`` and its test, committed on ``main``, with a coverage configuration."""
    pytester.mkpydir("pkg")
    (pytester.path / "pkg" / "calc.py").write_text(BASE, encoding="utf-8")
    pytester.makepyfile(test_calc=TESTS)
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\npythonpath = ["."]\n\n'
        f'[tool.coverage.run]\nsource = ["pkg"]\nbranch = {str(branch).lower()}\n'
    )
    ignored = ["*.json", "stdout", "stderr", "runpytest-*", "__pycache__/", ".coverage*"]
    (pytester.path / ".gitignore").write_text("\n".join(ignored) + "\n", encoding="utf-8")
    run_git(pytester, "init", "-q", "-b", "main")
    run_git(pytester, "add", ".")
    run_git(pytester, "commit", "-qm", "base")
    run_git(pytester, "checkout", "-qb", "topic")


def judged(pytester: pytest.Pytester, *args: str, base: str = "main") -> tuple[GatedRun, Any]:
    """A measured run of the inner project against ``base``, and its TQ-06 verdict."""
    run = Gates(pytester, with_coverage=True).run(
        f"--atom-gates-changed-since={base}", *args, subprocess=True
    )
    return run, run.verdict("TQ-06")


@pytest.fixture(params=["single", "xdist"])
def measured(request: pytest.FixtureRequest, pytester: pytest.Pytester) -> Gates:
    return Gates(pytester, request.param, with_coverage=True)


def test_every_uncovered_changed_line_is_named_and_fails(
    pytester: pytest.Pytester, measured: Gates
) -> None:
    make_repository(pytester, branch=False)
    (pytester.path / "pkg" / "calc.py").write_text(CHANGED, encoding="utf-8")
    run_git(pytester, "commit", "-qam", "clamp and double")  # committed on the branch
    with (pytester.path / "test_calc.py").open("a", encoding="utf-8") as tests:
        tests.write(MORE_TESTS)  # unstaged
    run = measured.run("--atom-gates-changed-since=main", subprocess=True)
    assert run.ret == 1, run.output
    assert no_traceback(run.output)
    verdict = run.verdict("TQ-06")
    # Changed: lines 7-20 of calc.py (19-20 excluded, the rest blank) and the tests, which
    # lie outside the coverage source.
    assert (verdict["verdict"], verdict["measured"], verdict["required"]) == (
        "FAIL",
        "50.00 % (3/6 lines)",
        ">= 100 % of changed lines",
    )
    assert verdict["reason"] == "3 of 6 changed lines not covered: pkg/calc.py:10-12"
    assert run.report["patch_coverage"]["files"] == [
        {
            "path": "pkg/calc.py",
            "lines": [9, 10, 11, 12, 15, 16],
            "missing": [10, 11, 12],
            "branches": 0,
            "missing_branches": [],
        }
    ]
    run.result.stdout.fnmatch_lines(
        [
            "atom-gates: TQ-05 coverage >= 25 % | TQ-06 patch coverage >= 100 % since main",
            "TQ-06  patch coverage  FAIL     50.00 % (3/6 lines) *>= 100 % of changed lines",
            "changed lines not covered (TQ-06, since main):",
            "  pkg/calc.py:10-12",
            "atom-gates: FAIL - TQ-06 patch coverage (seed *)",
        ]
    )


@pytest.mark.compat
def test_pytest_cov_measures_and_tq06_judges_its_data(
    pytester: pytest.Pytester, measured: Gates
) -> None:
    """With ``--cov`` pytest-cov measures; TQ-06 reads the same combined data TQ-05 does."""
    make_repository(pytester, branch=False)
    (pytester.path / "pkg" / "calc.py").write_text(CHANGED, encoding="utf-8")
    with (pytester.path / "test_calc.py").open("a", encoding="utf-8") as tests:
        tests.write(MORE_TESTS)
    run = measured.run(
        "--cov=pkg", "--cov-report=", "--atom-gates-changed-since=main", subprocess=True
    )
    assert run.ret == 1, run.output
    assert run.report["coverage"]["measured_by"] == "pytest-cov"
    verdict = run.verdict("TQ-06")
    assert (verdict["verdict"], verdict["measured"], verdict["reason"]) == (
        "FAIL",
        "50.00 % (3/6 lines)",
        "3 of 6 changed lines not covered: pkg/calc.py:10-12",
    )


BRANCHY = (
    BASE
    + """

def clamp(n, low, high):
    if n < low:
        return low
    return min(n, high)
"""
)

BRANCHY_TESTS = (
    TESTS
    + """
from pkg.calc import clamp


def test_clamp():
    assert clamp(5, 0, 9) == 5
"""
)


def test_a_branch_out_of_a_changed_line_must_be_taken(pytester: pytest.Pytester) -> None:
    make_repository(pytester, branch=True)
    (pytester.path / "pkg" / "calc.py").write_text(BRANCHY, encoding="utf-8")
    pytester.makepyfile(test_calc=BRANCHY_TESTS)
    _run, verdict = judged(pytester)
    assert (verdict["verdict"], verdict["measured"]) == (
        "FAIL",
        "66.66 % (3/4 lines, 1/2 branches)",
    )
    assert verdict["reason"] == (
        "1 of 4 changed lines not covered: pkg/calc.py:11; "
        "1 of 2 branches from changed lines never taken: pkg/calc.py:10->11"
    )


def test_a_covered_change_passes_and_a_lower_minimum_tolerates_what_it_names(
    pytester: pytest.Pytester,
) -> None:
    make_repository(pytester, branch=False)
    (pytester.path / "pkg" / "calc.py").write_text(BRANCHY, encoding="utf-8")
    both = BRANCHY_TESTS + "    assert clamp(-1, 0, 9) == 0\n"
    pytester.makepyfile(test_calc=both)
    gates = Gates(pytester, with_coverage=True)
    run = gates.run("--atom-gates-changed-since=main", subprocess=True)
    covered = run.verdict("TQ-06")
    assert (covered["verdict"], covered["measured"], covered["reason"]) == (
        "PASS",
        "100.00 % (4/4 lines)",
        None,
    )
    assert "changed lines not covered" not in run.output
    pytester.makepyfile(test_calc=BRANCHY_TESTS)
    tolerant = gates.run(
        "--atom-gates-changed-since=main", "--atom-gates-min-patch-coverage=75", subprocess=True
    ).verdict("TQ-06")
    assert (
        tolerant["verdict"],
        tolerant["measured"],
        tolerant["required"],
        tolerant["reason"],
    ) == (
        "PASS",
        "75.00 % (3/4 lines)",
        ">= 75 % of changed lines",
        "1 of 4 changed lines not covered: pkg/calc.py:11",
    )


def test_a_change_without_executable_lines_in_the_source_has_nothing_to_judge(
    pytester: pytest.Pytester,
) -> None:
    """A renamed module (renames are followed: it changed nowhere), a comment and the tests."""
    make_repository(pytester)
    run_git(pytester, "mv", "pkg/calc.py", "pkg/arith.py")
    arith = pytester.path / "pkg" / "arith.py"
    arith.write_text("# Sums and differences.\n" + BASE, encoding="utf-8")
    pytester.makepyfile(test_calc=TESTS.replace("pkg.calc", "pkg.arith"))
    _run, verdict = judged(pytester)
    assert (verdict["verdict"], verdict["measured"], verdict["reason"]) == (
        "PASS",
        "n/a (0 lines)",
        "nothing to judge: no executable line of the coverage source changed since main "
        "(2 changed files)",
    )


def test_a_changed_module_coverage_never_measured_fails(pytester: pytest.Pytester) -> None:
    make_repository(pytester)
    (pytester.path / "pkg" / "fresh.py").write_text("def fresh():\n    return 1\n")  # untracked
    run, verdict = judged(pytester)
    assert (verdict["verdict"], verdict["measured"], verdict["reason"]) == (
        "FAIL",
        "0.00 % (0/2 lines)",
        "changed lines coverage.py never measured: pkg/fresh.py (2)",
    )
    run.result.stdout.fnmatch_lines(["  pkg/fresh.py:1-2 (never measured)"])


def test_a_small_change_below_the_minimum_lines_is_not_judged(pytester: pytest.Pytester) -> None:
    make_repository(pytester)
    (pytester.path / "pkg" / "calc.py").write_text(BRANCHY, encoding="utf-8")
    _run, verdict = judged(pytester, "--atom-gates-patch-min-lines=5")
    assert (verdict["verdict"], verdict["reason"]) == (
        "PASS",
        "not judged: 4 changed executable lines since main, fewer than "
        "--atom-gates-patch-min-lines=5",
    )


def test_a_partial_run_warns_unless_strict(pytester: pytest.Pytester) -> None:
    make_repository(pytester, branch=False)
    (pytester.path / "pkg" / "calc.py").write_text(BRANCHY, encoding="utf-8")
    gates = Gates(pytester, with_coverage=True)
    partial = gates.run(
        "--atom-gates-changed-since=main", "test_calc.py::test_add", subprocess=True
    )
    verdict = partial.verdict("TQ-06")
    assert verdict["verdict"] == "WARN"
    assert verdict["reason"] == (
        "3 of 4 changed lines not covered: pkg/calc.py:10-12 (partial run: node id "
        "test_calc.py::test_add; only --atom-gates-strict fails it)"
    )
    strict = gates.run(
        "--atom-gates-changed-since=main",
        "--atom-gates-strict",
        "test_calc.py::test_add",
        subprocess=True,
    )
    assert strict.verdict("TQ-06")["verdict"] == "FAIL"


def test_without_a_base_or_coverage_the_gate_is_off_and_says_why(pytester: pytest.Pytester) -> None:
    make_repository(pytester)
    gates = Gates(pytester, with_coverage=True)
    no_base = gates.run(subprocess=True)
    assert no_base.verdict("TQ-06")["verdict"] == "OFF"
    assert no_base.verdict("TQ-06")["reason"] == (
        "no base to compare with: --atom-gates-changed-since=REF (or auto on a pull request)"
    )
    no_base.result.stdout.fnmatch_lines(
        ["atom-gates: TQ-06 patch coverage off (no --atom-gates-changed-since)"]
    )
    no_coverage = Gates(pytester).run("--atom-gates-changed-since=main")  # TQ-05 off
    assert no_coverage.verdict("TQ-06")["verdict"] == "OFF"
    assert no_coverage.verdict("TQ-06")["reason"] == (
        "TQ-05 coverage is off: nothing measures the change"
    )


def test_a_base_git_cannot_find_is_a_usage_error_before_any_test(pytester: pytest.Pytester) -> None:
    make_repository(pytester)
    result = pytester.runpytest(
        "--atom-gates", "--atom-gates-changed-since=nowhere", "--atom-gates-new-test-runs=0"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: --atom-gates-changed-since=nowhere: no such revision in {pytester.path}. "
            "Accepted: a branch, tag or commit git knows (fetch it first: shallow CI "
            "checkouts lack the base branch), or auto on a pull request."
        ]
    )
    result.stdout.no_fnmatch_line("*collected*")


def test_in_ci_shards_the_merge_judges_the_change_over_every_shards_data(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each shard defers TQ-06; ``atom-gates merge`` judges it on the combined data with the
    change the shards recorded: a line only the other shard covers is covered."""
    from pytest_atom_gates import cli

    make_repository(pytester, branch=False)
    (pytester.path / "pkg" / "calc.py").write_text(BRANCHY, encoding="utf-8")
    pytester.makepyfile(
        test_clamp="from pkg.calc import clamp\n\ndef test_low():\n"
        "    assert clamp(-1, 0, 9) == 0\n"
    )
    for k in (1, 2):
        folder = pytester.path / "shards" / str(k)
        result = pytester.runpytest_subprocess(
            "--atom-gates",
            "--atom-gates-changed-since=main",
            f"--atom-gates-shard={k}/2",
            "--atom-gates-seed=5",
            f"--atom-gates-report={folder / 'report.json'}",
        )
        assert result.ret == 0, result.stdout.str()
        shutil.move(pytester.path / ".coverage", folder / ".coverage")
        shard = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        (own,) = [v for v in shard["verdicts"] if v["gate"] == "TQ-06"]
        assert own["verdict"] == "DEFERRED"
        assert own["reason"].startswith(f"judged by atom-gates merge over all 2 shards; shard {k}")
    capsys.readouterr()
    code = cli.main(["merge", "shards/1/report.json", "shards/2/report.json", "-o", "m.json"])
    out = capsys.readouterr().out
    assert code == 1, out
    merged = json.loads((pytester.path / "m.json").read_text(encoding="utf-8"))
    (judged,) = [v for v in merged["verdicts"] if v["gate"] == "TQ-06"]
    assert (judged["verdict"], judged["measured"], judged["reason"]) == (
        "FAIL",
        "75.00 % (3/4 lines)",
        "1 of 4 changed lines not covered: pkg/calc.py:12",
    )


def test_an_edited_line_inside_a_statement_counts_for_the_whole_statement(
    pytester: pytest.Pytester,
) -> None:
    """coverage.py reports a statement of several lines on its first line: an edit of a later
    line of it is an edit of that statement."""
    make_repository(pytester, branch=False)
    calc = pytester.path / "pkg" / "calc.py"
    calc.write_text(
        BASE.replace("    return a - b", "    return max(\n        a,\n        b,\n    )")
    )
    run_git(pytester, "commit", "-qam", "a statement of four lines")
    calc.write_text(calc.read_text().replace("        b,", "        b - 1,"))
    _run, verdict = judged(pytester, base="topic")
    assert (verdict["verdict"], verdict["measured"], verdict["reason"]) == (
        "FAIL",
        "0.00 % (0/1 lines)",
        "1 of 1 changed lines not covered: pkg/calc.py:6",
    )


def test_a_file_name_with_a_space_and_a_users_diff_settings_hide_no_line(
    pytester: pytest.Pytester,
) -> None:
    make_repository(pytester, branch=False)
    run_git(pytester, "config", "diff.noprefix", "true")
    (pytester.path / "pkg" / "my calc.py").write_text("def mul(a, b):\n    return a * b\n")
    run_git(pytester, "add", "pkg/my calc.py")
    _run, verdict = judged(pytester)
    assert (verdict["verdict"], verdict["reason"]) == (
        "FAIL",
        "changed lines coverage.py never measured: pkg/my calc.py (2)",
    )


def test_auto_off_a_pull_request_says_it_named_no_base(pytester: pytest.Pytester) -> None:
    make_repository(pytester)
    run = Gates(pytester, with_coverage=True).run(
        "--atom-gates-changed-since=auto", subprocess=True
    )
    assert run.verdict("TQ-06")["verdict"] == "OFF"
    assert run.verdict("TQ-06")["reason"] == "--atom-gates-changed-since=auto named no base"
    run.result.stdout.fnmatch_lines(
        [
            "atom-gates: TQ-06 patch coverage off (auto: no base)",
            "atom-gates: --atom-gates-changed-since=auto: GITHUB_BASE_REF is not set (not a pull "
            "request), so no file counts as changed",
            "atom-gates: no test counts as new: the flake history is empty (this run starts it) "
            "and --atom-gates-changed-since=auto named no base",
        ]
    )


def test_on_github_each_uncovered_range_is_annotated_and_in_the_step_summary(
    pytester: pytest.Pytester, github_summary: Path
) -> None:
    make_repository(pytester, branch=False)
    (pytester.path / "pkg" / "calc.py").write_text(CHANGED, encoding="utf-8")
    run = Gates(pytester, with_coverage=True).run(
        "--atom-gates-changed-since=main", subprocess=True
    )
    commands = [line for line in run.result.outlines if line.startswith("::")]
    assert commands == [
        "::error title=atom-gates TQ-06 patch coverage::FAIL: 33.33 %25 (2/6 lines), required "
        ">= 100 %25 of changed lines%0A4 of 6 changed lines not covered: pkg/calc.py:10-12, "
        "pkg/calc.py:16",
        "::error file=pkg/calc.py,line=10,endLine=12,title=atom-gates TQ-06 patch coverage::"
        "changed since main, not covered by any test",
        "::error file=pkg/calc.py,line=16,endLine=16,title=atom-gates TQ-06 patch coverage::"
        "changed since main, not covered by any test",
    ]
    summary = github_summary.read_text(encoding="utf-8")
    assert "#### Changed lines not covered (TQ-06, since main) (2)\n\n" in summary
    assert "- `pkg/calc.py:10-12`\n- `pkg/calc.py:16`\n" in summary


def test_the_changed_lines_and_the_uncovered_ones_equal_diff_covers(
    pytester: pytest.Pytester,
) -> None:
    """The oracle: diff-cover on the same diff and the same data names the same lines."""
    pytest.importorskip("diff_cover")
    make_repository(pytester, branch=False)
    (pytester.path / "pkg" / "calc.py").write_text(CHANGED, encoding="utf-8")
    run = Gates(pytester, with_coverage=True).run(
        "--atom-gates-changed-since=main",
        "--atom-gates-cov-report=xml:coverage.xml",
        subprocess=True,
    )
    diff_cover = subprocess.run(
        [
            *(sys.executable, "-m", "diff_cover.diff_cover_tool", "coverage.xml"),
            *("--compare-branch=main", "--json-report=diff-cover.json"),
        ],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert diff_cover.returncode == 0, diff_cover.stdout + diff_cover.stderr
    theirs = json.loads((pytester.path / "diff-cover.json").read_text(encoding="utf-8"))
    stats = theirs["src_stats"]["pkg/calc.py"]
    (ours,) = run.report["patch_coverage"]["files"]
    assert sorted(stats["covered_lines"] + stats["violation_lines"]) == ours["lines"]
    assert sorted(stats["violation_lines"]) == ours["missing"]
    assert (theirs["total_num_lines"], theirs["total_num_violations"]) == (6, 4)
