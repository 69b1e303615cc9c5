"""TQ-05 coverage: measured over the whole run, complete under xdist, equal to ``coverage report``.

Inner runs measure a tiny package in subprocesses; every total is checked against what
coverage.py's own report computes from the data file the run left behind.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import coverage
import jsonschema
import pytest
from coverage.results import display_covered

from pytest_atom_gates.reporting.json_report import schema
from tests.conftest import GatedRun, Gates, no_traceback

# coverage.py's core (ctrace, sysmon) depends on the Python, also in xdist workers.
pytestmark = pytest.mark.every_python

CALC = """
def sign(n):
    if n > 0:
        return 1
    if n < 0:
        return -1
    return 0


def clamp(n, low, high):
    return max(low, min(n, high))


def only_in_a_child():
    total = 0
    for n in range(3):
        total += n
    return total
"""

TESTS = """
from pkg.calc import sign

def test_positive():
    assert sign(3) == 1

def test_negative():
    assert sign(-3) == -1
"""


def make_project(pytester: pytest.Pytester, run: str = "", report: str = "") -> None:
    """The package ``pkg`` and its tests, with a coverage configuration in pyproject.toml."""
    pytester.mkpydir("pkg")
    (pytester.path / "pkg" / "calc.py").write_text(CALC, encoding="utf-8")
    pytester.makepyfile(test_calc=TESTS)
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\ntestpaths = ["."]\n\n'
        f'[tool.coverage.run]\nsource = ["pkg"]\n{textwrap.dedent(run)}\n'
        f"[tool.coverage.report]\n{textwrap.dedent(report)}\n"
    )


def coverage_report(data_file: Path) -> tuple[float, str]:
    """What ``coverage report`` makes of a data file, with the configuration of the current
    directory: its total, and the figure on its TOTAL line."""
    cov = coverage.Coverage(data_file=str(data_file))
    cov.load()
    text = io.StringIO()
    total = cov.report(file=text)
    line = next(line for line in text.getvalue().splitlines() if line.startswith("TOTAL"))
    return total, line.split()[-1].rstrip("%")


def coverage_section(run: GatedRun) -> dict[str, Any]:
    report = run.report
    jsonschema.validate(report, schema())
    section: dict[str, Any] = report["coverage"]
    return section


def assert_equals_coverage_report(run: GatedRun, data_file: Path) -> None:
    total, shown = coverage_report(data_file)
    assert coverage_section(run)["totals"]["percent"] == total
    assert run.verdict("TQ-05")["measured"].startswith(f"{shown} %")


@pytest.fixture(params=["single", "xdist"])
def measured(request: pytest.FixtureRequest, pytester: pytest.Pytester) -> Gates:
    """Runs the gates with TQ-05 in a subprocess: single process, then ``-n 2``."""
    return Gates(pytester, request.param, with_coverage=True)


def test_total_equals_coverage_report(pytester: pytest.Pytester, measured: Gates) -> None:
    make_project(
        pytester,
        run='branch = true\nomit = ["*/skipped.py"]\ndata_file = "data/cov"',
        report="skip_covered = true",
    )
    (pytester.path / "pkg" / "skipped.py").write_text("def f():\n    return 1\n")
    (pytester.path / "pkg" / "__init__.py").write_text("from pkg import skipped\n")
    run = measured.run("--atom-gates-cov-report=term-missing", subprocess=True)
    assert run.ret == 0, run.output
    assert no_traceback(run.output)
    verdict = run.verdict("TQ-05")
    assert verdict["verdict"] == "PASS"
    assert verdict["required"] == ">= 25 %"
    assert_equals_coverage_report(run, pytester.path / "data" / "cov")
    section = coverage_section(run)
    assert section["measured_by"] == "atom-gates"
    assert section["sources"] == ["pkg"]
    assert section["complete"] is True
    assert section["data_file"] == str(pytester.path / "data" / "cov")
    assert not list(pytester.path.glob("data/cov.*")), "parallel files are combined away"
    assert section["totals"]["branches"] > 0
    assert [f["path"] for f in section["files"]] == ["pkg/__init__.py", "pkg/calc.py"]
    processes = {"main", "gw0", "gw1"} if measured.engine == "xdist" else {"main"}
    assert set(section["cores"]) == processes
    # Branch coverage rules out sys.monitoring before Python 3.14, so coverage.py traces.
    assert section["core"] == "ctrace"
    run.result.stdout.fnmatch_lines(
        [
            "TQ-05  coverage        PASS     * % (ctrace; pkg)*>= 25 %",
            "Name*Stmts*Miss*Branch*BrPart*Cover*Missing",
            "pkg/calc.py *",
            "coverage (TQ-05):",
            "  * % of * statements, * missing; * branches, * missing (ctrace; pkg)",
            "  data: data/cov",
        ]
    )


def test_below_the_minimum_and_per_package(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    pytester.mkpydir("other")
    (pytester.path / "other" / "tool.py").write_text("def f():\n    return 1\n")
    run = Gates(pytester, with_coverage=True).run(
        "--atom-gates-min-coverage=99.5",
        "--atom-gates-cov=pkg",
        "--atom-gates-cov=other",
        "--atom-gates-cov=ghost",
        "--atom-gates-min-coverage-per-package=pkg:50,other:60",
        "--atom-gates-cov-report=json:out/cov.json",
        "--atom-gates-cov-report=xml",
        subprocess=True,
    )
    assert run.ret == 1
    verdict = run.verdict("TQ-05")
    assert verdict["verdict"] == "FAIL"
    assert verdict["required"] == ">= 99.5 %"
    total, _ = coverage_report(pytester.path / ".coverage")
    assert coverage_section(run)["totals"]["percent"] == total
    # Compared to one decimal, as the minimum has one: shown to one decimal too.
    assert verdict["measured"].startswith(f"{display_covered(total, 1)} % (")
    section = coverage_section(run)
    assert section["sources"] == ["pkg", "other", "ghost"]
    assert section["unmatched_sources"] == ["ghost"]
    assert section["required"] == {"total": "99.5", "packages": {"pkg": "50", "other": "60"}}
    packages = {p["package"]: p for p in section["packages"]}
    assert packages["pkg"]["passed"] is True
    # other/tool.py is never imported: none of its 2 statements runs.
    assert packages["other"]["totals"]["statements"] == 2
    assert packages["other"]["passed"] is False
    assert verdict["reason"].startswith("total ")
    assert "is below the minimum of 99.5 %" in verdict["reason"]
    assert "package other: 0 %, minimum 60 %" in verdict["reason"]
    assert "sources that matched nothing: ghost" in verdict["reason"]
    assert json.loads((pytester.path / "out" / "cov.json").read_text())["totals"]
    assert (pytester.path / "coverage.xml").is_file()
    run.result.stdout.fnmatch_lines(
        [
            "  package pkg: * % (minimum 50 %)",
            "  package other: 0 % (minimum 60 %)",
            "  report json: out/cov.json",
            "  report xml: coverage.xml",
        ]
    )


def test_partial_run_warns_unless_strict(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    gates = Gates(pytester, with_coverage=True)
    partial = gates.run("-k", "positive", "--atom-gates-min-coverage=95", subprocess=True)
    assert partial.ret == 0, partial.output
    verdict = partial.verdict("TQ-05")
    assert verdict["verdict"] == "WARN"
    assert "partial run: -k 'positive'; only --atom-gates-strict fails it" in verdict["reason"]
    # Line coverage only: sys.monitoring measures from Python 3.12 on.
    expected = "sysmon" if sys.version_info >= (3, 12) else "ctrace"
    assert coverage_section(partial)["core"] == expected
    strict = gates.run(
        "-k", "positive", "--atom-gates-min-coverage=95", "--atom-gates-strict", subprocess=True
    )
    assert strict.ret == 1
    assert strict.verdict("TQ-05")["verdict"] == "FAIL"


@pytest.mark.parametrize("engine", ["single", "xdist"])
def test_a_selection_in_the_ini_files_addopts_leaves_the_coverage_gate_enforced(
    pytester: pytest.Pytester, engine: str
) -> None:
    """A project that leaves tests out with its own ``addopts`` runs its whole suite: its
    coverage minimum fails the run, rather than warning as on a partial run."""
    make_project(pytester)
    pyproject = pytester.path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8").replace(
            'testpaths = ["."]', 'testpaths = ["."]\naddopts = ["-k", "positive"]'
        ),
        encoding="utf-8",
    )
    gates = Gates(pytester, engine, with_coverage=True)
    run = gates.run("--atom-gates-min-coverage=95", subprocess=True)
    assert run.report["run"]["partial"] is None
    assert run.report["summary"]["selected"] == 1
    verdict = run.verdict("TQ-05")
    assert verdict["verdict"] == "FAIL"
    # test_positive alone: 5 of calc.py's 13 statements.
    assert verdict["reason"] == "total 38 % is below the minimum of 95 %"
    assert run.ret == 1


def test_nothing_measured(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    pytester.mkpydir("empty")
    gates = Gates(pytester, with_coverage=True)
    nothing = gates.run("--atom-gates-cov=no_such_package", subprocess=True)
    assert nothing.ret == 1
    verdict = nothing.verdict("TQ-05")
    assert verdict["measured"] == "n/a"
    assert verdict["reason"] == (
        "nothing measured: no coverage data was collected; "
        "sources that matched nothing: no_such_package"
    )
    assert coverage_section(nothing)["totals"] is None
    empty = gates.run("--atom-gates-cov=empty", "--atom-gates-cov=ghost", subprocess=True)
    assert empty.verdict("TQ-05")["reason"] == (
        "nothing measured: 0 statements in the measured files; sources that matched nothing: ghost"
    )
    assert coverage_section(empty)["totals"]["statements"] == 0


def test_a_source_folder_shadowed_by_the_package_that_ran_is_named(
    pytester: pytest.Pytester,
) -> None:
    """As under tox: the checkout has the folder ``pkg``, the tests import an installed ``pkg``."""
    make_project(pytester)
    installed = pytester.path / "site" / "pkg"
    installed.mkdir(parents=True)
    (installed / "__init__.py").write_text("")
    (installed / "calc.py").write_text(CALC, encoding="utf-8")
    # The tests in their own folder: pytest puts that folder, not the checkout, on sys.path.
    (pytester.path / "tests").mkdir()
    (pytester.path / "test_calc.py").rename(pytester.path / "tests" / "test_calc.py")
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["site"]\n\n'
        '[tool.coverage.run]\nsource = ["pkg"]\n'
    )
    run = Gates(pytester, with_coverage=True).run(subprocess=True)
    assert run.ret == 1, run.output
    verdict = run.verdict("TQ-05")
    assert verdict["measured"].startswith("0 %")
    assert verdict["reason"].startswith("total 0 % is below the minimum of 25 %; source 'pkg' is")
    assert f"but the package pkg ran from {installed}; measure it with" in verdict["reason"]
    assert verdict["reason"].endswith(
        "[run] source_pkgs (and [paths]), or install it in editable mode"
    )


def test_killed_worker_fails_with_the_partial_figure(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    pytester.makepyfile(
        test_crash="""
        import os
        from pkg.calc import clamp
        def test_dies():
            clamp(5, 0, 3)
            os._exit(3)
    """
    )
    # No reruns: the rerun would crash the replacement worker too.
    run = Gates(pytester, "xdist", with_coverage=True).run(
        "--atom-gates-mode=TQ-01:off", "--atom-gates-reruns=0"
    )
    assert run.ret == 1
    assert "INTERNALERROR" not in run.output
    verdict = run.verdict("TQ-05")
    assert verdict["verdict"] == "FAIL"
    section = coverage_section(run)
    [lost] = section["missing_workers"]
    total, shown = coverage_report(pytester.path / ".coverage")
    assert section["totals"]["percent"] == total
    assert (
        f"coverage incomplete: data from {lost} missing; partial figure {shown} %"
        in (verdict["reason"])
    )
    assert verdict["measured"].startswith(f"{shown} % partial (")
    assert section["complete"] is False


@pytest.mark.skipif(
    coverage.version_info < (7, 10), reason="[run] patch = subprocess is new in coverage.py 7.10"
)
def test_subprocesses_are_measured_when_configured(
    pytester: pytest.Pytester, measured: Gates
) -> None:
    make_project(pytester, run='patch = ["subprocess"]')
    pytester.makepyfile(
        test_child="""
        import subprocess, sys
        def test_child():
            code = "from pkg.calc import only_in_a_child; only_in_a_child()"
            subprocess.run([sys.executable, "-c", code], check=True)
    """
    )
    run = measured.run(subprocess=True)
    assert run.ret == 0, run.output
    assert_equals_coverage_report(run, pytester.path / ".coverage")
    cov = coverage.Coverage()
    cov.load()
    _, statements, _, missing, _ = cov.analysis2(str(pytester.path / "pkg" / "calc.py"))
    body_starts = CALC.splitlines().index("def only_in_a_child():") + 2  # 1-based, after def
    child_body = {line for line in statements if line >= body_starts}
    assert len(child_body) == 4
    assert not child_body & set(missing)


@pytest.mark.skipif(
    coverage.version_info < (7, 10), reason="[run] patch = subprocess is new in coverage.py 7.10"
)
def test_measured_subprocesses_are_handed_the_core_in_use(
    pytester: pytest.Pytester, measured: Gates
) -> None:
    """Where coverage.py refuses sysmon (branch coverage before Python 3.14), the subprocesses
    it measures get the core it fell back to, so they print no refusal of their own on stderr
    (where a user's test may read it)."""
    make_project(pytester, run='patch = ["subprocess"]\nbranch = true')
    pytester.makepyfile(
        test_child="""
        import subprocess, sys
        def test_child():
            code = "from pkg.calc import only_in_a_child; only_in_a_child()"
            child = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
            assert child.stderr == ""
    """
    )
    run = measured.run(subprocess=True)
    assert run.ret == 0, run.output
    assert_equals_coverage_report(run, pytester.path / ".coverage")


def test_why_the_core_is_not_sysmon_is_said_only_under_verbose(
    pytester: pytest.Pytester,
) -> None:
    """The figure's line names the core; why sysmon did not measure is a note for -v, not a
    line on every run that reads like an error."""
    make_project(pytester, run='core = "ctrace"')
    gates = Gates(pytester, with_coverage=True)
    run = gates.run(subprocess=True)
    assert run.ret == 0, run.output
    assert "core:" not in run.output
    run.result.stdout.fnmatch_lines(["  * % of 13 statements, * missing (ctrace; pkg)"])
    note = (
        "sys.monitoring needs Python 3.12 or newer"
        if sys.version_info < (3, 12)
        else "[run] core (or COVERAGE_CORE) chose ctrace"
    )
    verbose = gates.run("-v", subprocess=True)
    verbose.result.stdout.fnmatch_lines([f"  core: ctrace, not sysmon: {note}"])


SESSION_TEST = """
import subprocess, sys, time
from pathlib import Path

def test_child_while_the_other_session_runs():
    code = "from pkg import calc; calc.{call}"
    subprocess.run([sys.executable, "-c", code], check=True)
    Path("{name}.ready").touch()
    deadline = time.monotonic() + 60
    while not Path("{other}.ready").exists():
        assert time.monotonic() < deadline, "the other session never started"
        time.sleep(0.05)
"""


@pytest.mark.skipif(
    coverage.version_info < (7, 10), reason="[run] patch = subprocess is new in coverage.py 7.10"
)
def test_two_sessions_at_once_keep_their_own_data(pytester: pytest.Pytester) -> None:
    """Two sessions in one directory at the same time, as under tox run-parallel: each total
    counts its own subprocess's data and none of the other session's."""
    make_project(pytester, run='patch = ["subprocess"]')
    calls = {"a": ("only_in_a_child()", "b"), "b": ("clamp(1, 0, 2)", "a")}
    for name, (call, other) in calls.items():
        source = SESSION_TEST.format(call=call, name=name, other=other)
        pytester.makepyfile(**{f"test_session_{name}": source})
    sessions = {
        name: subprocess.Popen(
            [
                *(sys.executable, "-m", "pytest", "--atom-gates", f"test_session_{name}.py"),
                *(f"--atom-gates-report={name}.json", "--atom-gates-mode=TQ-01:off"),
            ],
            cwd=pytester.path,
            stdout=subprocess.DEVNULL,
        )
        for name in calls
    }
    assert {name: child.wait(timeout=180) for name, child in sessions.items()} == {"a": 0, "b": 0}
    missing = {}
    for name in calls:
        report = json.loads((pytester.path / f"{name}.json").read_text(encoding="utf-8"))
        assert report["coverage"]["problems"] == []
        files = {Path(f["path"]).as_posix(): f for f in report["coverage"]["files"]}
        missing[name] = files["pkg/calc.py"]["missing"]
    # calc.py has 13 statements; importing it runs the 3 def lines. a's child then runs the 4
    # lines of only_in_a_child, b's the 1 line of clamp: 6 and 9 missing, 5 if data mixed.
    assert missing == {"a": 6, "b": 9}
    assert (pytester.path / ".coverage").is_file()
    assert not list(pytester.path.glob(".coverage.*")), "session data files left behind"


def test_another_tracer_means_coverage_is_not_measured(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    pytester.makepyfile(test_settrace="import sys\ndef test_off():\n    sys.settrace(None)\n")
    code = (
        "import sys, pytest\n"
        "sys.settrace(lambda *args: None)\n"
        "raise SystemExit(pytest.main(sys.argv[1:]))\n"
    )
    report = pytester.path / "atom-gates-report.json"
    run = GatedRun(
        pytester.run(
            sys.executable,
            "-c",
            code,
            "--atom-gates",
            f"--atom-gates-report={report}",
            "test_calc.py",
        ),
        report,
    )
    verdict = run.verdict("TQ-05")
    # Partial (one file of the suite): a warning, with the reason.
    assert verdict["verdict"] == "WARN"
    assert verdict["reason"].startswith(
        "coverage could not be measured: a debugger or another tracer is active "
        "(sys.gettrace() is builtins.function)"
    )
    pytester.makepyprojecttoml('[tool.coverage.run]\nsource = ["pkg"]\ncore = "ctrace"\n')
    replaced = Gates(pytester, with_coverage=True).run(subprocess=True)
    assert replaced.ret == 1
    assert replaced.verdict("TQ-05")["reason"].startswith(
        "coverage could not be measured completely: the trace function was replaced during the run"
    )


def test_switched_off_measures_nothing(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    run = Gates(pytester).run()
    assert run.ret == 0
    assert run.verdict("TQ-05")["verdict"] == "OFF"
    assert coverage_section(run)["measured_by"] is None
    assert not (pytester.path / ".coverage").exists()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--atom-gates-min-coverage=lots", "'lots' (not a number). Accepted: a percentage*"),
        ("--atom-gates-cov-report=pdf", "'pdf' (unknown report 'pdf'). Accepted: term, *"),
        (
            "--atom-gates-cov-report=term:out.txt",
            "'term:out.txt' (term is shown in the terminal and takes no path)*",
        ),
        (
            "--atom-gates-min-coverage-per-package=core",
            "'core' (missing ':' between package and percentage). Accepted: PACKAGE:PCT*",
        ),
        ("--atom-gates-min-coverage-per-package=core:101", "'core:101' (outside 0..100)*"),
    ],
)
def test_bad_coverage_settings(pytester: pytest.Pytester, option: str, message: str) -> None:
    pytester.makepyfile(test_ok="def test_ok(): pass\n")
    result = pytester.runpytest("--atom-gates", option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    name = option.partition("=")[0]
    result.stderr.fnmatch_lines([f"ERROR: {name}: invalid value {message}"])
    assert no_traceback(result.stdout.str() + result.stderr.str())


def test_bad_coverage_configuration_and_report_path(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_ok="def test_ok(): pass\n")
    (pytester.path / "blocker").write_text("a file where a folder should be")
    result = pytester.runpytest("--atom-gates", "--atom-gates-cov-report=html:blocker")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --atom-gates-cov-report: cannot write the html report to *blocker: *"]
    )
    pytester.makepyprojecttoml('[tool.coverage.run]\ndata_file = "blocker/cov"\n')
    result = pytester.runpytest_subprocess("--atom-gates")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: TQ-05: cannot write coverage.py's data file *blocker?cov: "
            "*blocker is a file, not a directory. Set ?run? data_file*"
        ]
    )
    assert "collected" not in result.stdout.str()
    pytester.makepyprojecttoml('[tool.coverage.run]\nconcurrency = ["warp"]\n')
    result = pytester.runpytest_subprocess("--atom-gates")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: TQ-05: coverage.py cannot measure with its configuration: *warp*"]
    )
    assert no_traceback(result.stdout.str() + result.stderr.str())


@pytest.mark.compat
def test_pytest_cov_measures_and_tq05_takes_its_total(
    pytester: pytest.Pytester, measured: Gates
) -> None:
    make_project(pytester)
    run = measured.run("--cov=pkg", "--cov-report=term", subprocess=True)
    assert run.ret == 0, run.output
    total, shown = coverage_report(pytester.path / ".coverage")
    section = coverage_section(run)
    assert section["measured_by"] == "pytest-cov"
    assert section["totals"]["percent"] == total
    assert section["sources"] == ["pkg"]
    verdict = run.verdict("TQ-05")
    assert verdict["measured"].startswith(f"{shown} % (pytest-cov, ctrace; pkg)")
    # One tracer only: pytest-cov's total, printed by pytest-cov itself, is the same figure.
    run.result.stdout.fnmatch_lines([f"TOTAL * {shown}%"])


@pytest.mark.compat
def test_a_bare_cov_is_pytest_covs_measurement_too(pytester: pytest.Pytester) -> None:
    """``--cov`` without a source: pytest-cov measures what its configuration says."""
    make_project(pytester)
    run = Gates(pytester, with_coverage=True).run("--cov", "--cov-report=", subprocess=True)
    assert run.ret == 0, run.output
    total, shown = coverage_report(pytester.path / ".coverage")
    section = coverage_section(run)
    assert section["measured_by"] == "pytest-cov"
    assert section["totals"]["percent"] == total
    assert run.verdict("TQ-05")["measured"].startswith(f"{shown} % (pytest-cov, ")


@pytest.mark.compat
def test_pytest_cov_with_a_killed_worker(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    pytester.makepyfile(test_crash="import os\ndef test_dies():\n    os._exit(3)\n")
    run = Gates(pytester, "xdist", with_coverage=True).run(
        "--cov=pkg", "--atom-gates-mode=TQ-01:off", "--atom-gates-reruns=0"
    )
    assert run.ret == 1
    verdict = run.verdict("TQ-05")
    assert verdict["verdict"] == "FAIL"
    assert "coverage incomplete: data from gw" in verdict["reason"]
    assert coverage_section(run)["measured_by"] == "pytest-cov"


def _module_covering(covered: int, statements: int) -> str:
    """A module of ``statements`` statements of which importing it runs ``covered``."""
    lines = [f"a{n} = {n}" for n in range(covered - 1)]
    lines.append("def never():")
    lines += [f"    b{n} = {n}" for n in range(statements - covered)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("covered", "statements", "precision", "passes"),
    [
        (246, 1000, 0, True),  # 24.6 % shows as 25 %: coverage.py passes it
        (244, 1000, 0, False),  # 24.4 % shows as 24 %
        (2000, 8001, 2, True),  # 24.9969 % shows as 25.00 %
        (1000, 4001, 2, False),  # 24.9938 % shows as 24.99 %
    ],
)
def test_tq05_at_the_boundary_agrees_with_coverage_report(
    pytester: pytest.Pytester, covered: int, statements: int, precision: int, passes: bool
) -> None:
    make_project(pytester, report=f"precision = {precision}")
    (pytester.path / "pkg" / "calc.py").write_text(_module_covering(covered, statements))
    pytester.makepyfile(test_calc="import pkg.calc\n\ndef test_imports():\n    pass\n")
    run = Gates(pytester, with_coverage=True).run(subprocess=True)
    oracle = subprocess.run(
        [sys.executable, "-m", "coverage", "report", "--fail-under=25"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (oracle.returncode == 0) is passes, oracle.stdout
    verdict = run.verdict("TQ-05")
    assert verdict["verdict"] == ("PASS" if passes else "FAIL"), verdict
    shown = display_covered(100 * covered / statements, precision)
    core = coverage_section(run)["core"]  # ctrace, or sysmon on Python 3.12 and newer
    assert verdict["measured"] == f"{shown} % ({core}; pkg)"


def test_a_package_minimum_with_branches_equals_coverage_report_on_its_files(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester, run="branch = true")
    pytester.mkpydir("other")
    (pytester.path / "other" / "tool.py").write_text(
        "def pick(n):\n    if n:\n        return 1\n    return 0\n\n\nVALUE = pick(1)\n"
    )
    pytester.makepyfile(test_other="import other.tool\n\ndef test_tool():\n    pass\n")
    run = Gates(pytester, with_coverage=True).run(
        "--atom-gates-cov=pkg",
        "--atom-gates-cov=other",
        "--atom-gates-min-coverage-per-package=other:0,pkg:0",
        subprocess=True,
    )
    cov = coverage.Coverage(data_file=str(pytester.path / ".coverage"))
    cov.load()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(pytester.path)
        expected = {
            package: cov.report(include=[f"{package}/*"], file=io.StringIO())
            for package in ("pkg", "other")
        }
    packages = {p["package"]: p["totals"] for p in coverage_section(run)["packages"]}
    assert {name: totals["percent"] for name, totals in packages.items()} == expected
    assert packages["other"]["branches"] == 2
    assert packages["other"]["missing_branches"] == 1


def test_the_plugins_own_modules_are_never_in_the_users_figure(pytester: pytest.Pytester) -> None:
    """With no source configured coverage.py measures all code run, and an editable install of
    the plugin lies outside site-packages: its modules must still not count."""
    pytester.makepyfile(app="def double(x):\n    return 2 * x\n")
    pytester.makepyfile(
        test_app="from app import double\ndef test_double():\n    assert double(2) == 4\n"
    )
    run = Gates(pytester, with_coverage=True).run(subprocess=True)
    files = [entry["path"] for entry in run.report["coverage"]["files"]]
    assert not [path for path in files if "pytest_atom_gates" in path]
    assert "app.py" in files


def test_a_test_that_points_coverage_at_a_missing_rcfile_costs_no_verdict(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(app="def double(x):\n    return 2 * x\n")
    pytester.makepyfile(
        test_app="""
        import os
        from app import double
        def test_double():
            os.environ["COVERAGE_RCFILE"] = "missing.rc"
            assert double(2) == 4
        """
    )
    run = Gates(pytester, with_coverage=True).run(subprocess=True)
    assert run.verdict("TQ-05")["verdict"] == "PASS"
    assert run.ret == 0
    assert (
        "a test changed COVERAGE_RCFILE during the run: coverage.py was given the value the "
        "session started with"
    ) in run.report["coverage"]["warnings"]
    assert not list(pytester.path.glob(".coverage.atom-gates-*"))


def test_the_ratchet_fails_a_run_whose_coverage_dropped_and_keeps_the_baseline(
    pytester: pytest.Pytester,
) -> None:
    """A whole run records its figures; the next fails naming the file whose covered lines
    it lost, and the baseline stays as it was, so the drop cannot pass by being recorded."""
    make_project(pytester)
    gates = Gates(pytester, with_coverage=True)
    args = ("--atom-gates-coverage-baseline=baseline.json", "--atom-gates-coverage-drop=1")
    first = gates.run(*args, subprocess=True)
    assert first.verdict("TQ-05")["verdict"] == "PASS"
    recorded = json.loads((pytester.path / "baseline.json").read_text(encoding="utf-8"))
    assert recorded["files"]["pkg/calc.py"]["missing"] == 6
    first.result.stdout.fnmatch_lines(["  baseline: recorded in baseline.json"])
    pytester.makepyfile(test_calc=TESTS.replace("def test_negative", "def _not_run_negative"))
    second = gates.run(*args, subprocess=True)
    verdict = second.verdict("TQ-05")
    assert verdict["verdict"] == "FAIL"
    assert verdict["reason"] == (
        "covered lines lost since the baseline, outside the change: pkg/calc.py (-2); the "
        "total fell 15.38 points since the baseline (53.85 % -> 38.46 %), more than the 1 "
        "allowed (--atom-gates-coverage-drop)"
    )
    assert json.loads((pytester.path / "baseline.json").read_text(encoding="utf-8")) == recorded
    second.result.stdout.fnmatch_lines(
        ["  baseline: compared with baseline.json; kept, since coverage dropped"]
    )
