"""TQ-05 counts what ran before measuring could start, as ``coverage run -m pytest`` does.

A package loaded as a ``-p`` plugin (or by an installed plugin, or by pytest itself) is imported
before any hook of this plugin runs: its module-level lines ran unmeasured. Each scenario is held
against the oracle, ``coverage run -m pytest`` then ``coverage report``, single process and
under ``-n 2``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from pytest_atom_gates.cov.imported_early import unmeasured_note
from tests.conftest import Gates, no_traceback
from tests.test_coverage import coverage_report, coverage_section

pytestmark = pytest.mark.every_python

PLUGIN = """\
import os

GREETING = "hello"
LEVELS = {"low": 1, "high": 2}


def shout(text):
    return text.upper() + "!"


def unused(text):
    if text:
        return text * 2
    return ""


class Marker:
    name = "early"

    def describe(self):
        return self.name
"""


def make_project(pytester: pytest.Pytester, conftest: str = "") -> None:
    """The package ``early`` with one function tested, measured with branches."""
    pytester.mkpydir("early")
    (pytester.path / "early" / "plugin.py").write_text(PLUGIN, encoding="utf-8")
    pytester.makepyfile(
        test_shout="from early.plugin import shout\n\n"
        "def test_shout():\n    assert shout('hi') == 'HI!'\n"
    )
    if conftest:
        pytester.makeconftest(conftest)
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\npythonpath = ["."]\n\n'
        '[tool.coverage.run]\nsource = ["early"]\nbranch = true\n'
    )


def coverage_run(pytester: pytest.Pytester, *args: str) -> subprocess.CompletedProcess[str]:
    """``coverage run -m pytest ARGS``, its data in ``oracle.cov``."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG")
    }
    return subprocess.run(
        [
            *(sys.executable, "-m", "coverage", "run", "--data-file=oracle.cov", "-m", "pytest"),
            *("-p", "no:cacheprovider", "-p", "no:randomly", *args),
        ],
        cwd=pytester.path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def oracle(pytester: pytest.Pytester, *args: str) -> tuple[float, str]:
    """``coverage run -m pytest ARGS``, then what ``coverage report`` makes of its data."""
    done = coverage_run(pytester, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return coverage_report(pytester.path / "oracle.cov")


@pytest.fixture(params=["single", "xdist"])
def measured(request: pytest.FixtureRequest, pytester: pytest.Pytester) -> Gates:
    return Gates(pytester, request.param, with_coverage=True)


@pytest.mark.parametrize(
    ("args", "conftest"),
    [
        (("-p", "early.plugin"), ""),  # imported before any hook of the gates
        ((), "import early.plugin\n"),  # imported by the conftest, at its top
    ],
    ids=["dash-p-plugin", "conftest-import"],
)
def test_the_total_equals_coverage_run_for_code_imported_at_start(
    pytester: pytest.Pytester, measured: Gates, args: tuple[str, ...], conftest: str
) -> None:
    make_project(pytester, conftest)
    total, shown = oracle(pytester, *args)
    assert (total, shown) == (60.0, "60")  # 9 of 13 statements, neither of the 2 branches
    run = measured.run(*args, subprocess=True)
    assert run.ret == 0, run.output
    assert no_traceback(run.output)
    assert coverage_section(run)["totals"]["percent"] == total
    assert run.verdict("TQ-05")["measured"].startswith(f"{shown} % ")
    assert not list(pytester.path.glob(".coverage.*")), "the import's data is combined away"


def test_import_time_lines_that_could_not_be_measured_are_named_in_the_reason(
    pytester: pytest.Pytester,
) -> None:
    """When the import cannot be repeated, a failing TQ-05 says why its figure may be low and
    which command gives the exact one."""
    make_project(
        pytester,
        "import pytest_atom_gates.cov.imported_early as early\nearly.IMPORT_TIMEOUT = 1e-9\n",
    )
    run = Gates(pytester, with_coverage=True).run(
        "-p", "early.plugin", "--atom-gates-min-coverage=90", subprocess=True
    )
    assert run.ret == 1, run.output
    verdict = run.verdict("TQ-05")
    assert verdict["reason"] == (
        "total 7 % is below the minimum of 90 %; the import-time lines of 2 measured modules "
        "imported before measuring started (early, early.plugin) count as missing: importing "
        "them again took longer than 0 s; `coverage run -m pytest` then `coverage report` "
        "gives the exact figure"
    )


def test_a_module_that_imports_only_inside_pytest_is_named_in_the_reason(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester)
    plugin = pytester.path / "early" / "plugin.py"
    plugin.write_text(
        "import sys\nif 'pytest' not in sys.modules:\n    raise RuntimeError('pytest only')\n"
        + PLUGIN,
        encoding="utf-8",
    )
    run = Gates(pytester, with_coverage=True).run(
        "-p", "early.plugin", "--atom-gates-min-coverage=90", subprocess=True
    )
    assert run.ret == 1, run.output
    assert run.verdict("TQ-05")["reason"].endswith(
        "(early, early.plugin) count as missing: importing them again failed for early.plugin "
        "(RuntimeError: pytest only); `coverage run -m pytest` then `coverage report` gives the "
        "exact figure"
    )


def test_the_note_names_five_modules_and_counts_the_rest() -> None:
    names = tuple(f"pkg.m{i}" for i in range(7))
    assert unmeasured_note(names, "why") == (
        "the import-time lines of 7 measured modules imported before measuring started "
        "(pkg.m0, pkg.m1, pkg.m2, pkg.m3, pkg.m4 and 2 more) count as missing: why; "
        "`coverage run -m pytest` then `coverage report` gives the exact figure"
    )


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["single", "xdist"])
def test_under_coverage_run_tq05_reads_that_measurement(
    pytester: pytest.Pytester, workers: tuple[str, ...]
) -> None:
    """``coverage run -m pytest --atom-gates``: no second tracer, no false "already measuring";
    the figure is the outside measurement's, xdist workers' data included, and equals what
    ``coverage report`` then reads from its data file."""
    make_project(pytester)
    done = coverage_run(
        pytester, "-p", "early.plugin", "--atom-gates", "--atom-gates-report=r.json", *workers
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert no_traceback(done.stdout + done.stderr)
    report = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    total, shown = coverage_report(pytester.path / "oracle.cov")
    assert (total, shown) == (60.0, "60")
    assert report["coverage"]["measured_by"] == "coverage run"
    assert report["coverage"]["totals"]["percent"] == total
    (verdict,) = [v for v in report["verdicts"] if v["gate"] == "TQ-05"]
    assert verdict["verdict"] == "PASS"
    assert re.fullmatch(r"60 % \(coverage run, (ctrace|sysmon); early\)", verdict["measured"])


def test_an_import_that_ends_the_process_is_said_not_taken_for_measured(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester)
    plugin = pytester.path / "early" / "plugin.py"
    plugin.write_text(
        "import os, sys\nif 'pytest' not in sys.modules:\n    os._exit(0)\n" + PLUGIN,
        encoding="utf-8",
    )
    run = Gates(pytester, with_coverage=True).run(
        "-p", "early.plugin", "--atom-gates-min-coverage=90", subprocess=True
    )
    assert run.verdict("TQ-05")["reason"].endswith(
        "(early, early.plugin) count as missing: importing them again ended the process before "
        "its data was saved; `coverage run -m pytest` then `coverage report` gives the exact "
        "figure"
    )
    assert any(
        "importing them again ended the process" in w for w in run.report["coverage"]["warnings"]
    )
