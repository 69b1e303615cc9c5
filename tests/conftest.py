"""Shared helpers: run pytest with the gates on a suite written by the test, read its report."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pkgutil
import shlex
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import coverage  # noqa: F401  (see below)
import hypothesis  # noqa: F401  (see below)
import pytest

import pytest_atom_gates

# In-process pytester runs drop the modules imported during the run. The plugin imports most of
# its modules only when a run is switched on, so they are imported here, before the first run, or
# every run would load fresh copies beside the old ones (enum members would stop comparing equal).
# Hypothesis likewise, or its pytest plugin would import and rewrite the whole package every run.
# Coverage.py too: its C tracer cannot be imported a second time into the same process.
for _module in pkgutil.walk_packages(pytest_atom_gates.__path__, "pytest_atom_gates."):
    # A part that needs an optional extra which is not installed is skipped.
    with contextlib.suppress(ImportError):
        importlib.import_module(_module.name)

NO_COVERAGE = "--atom-gates-mode=TQ-05:off"
"""For inner runs that test another gate: TQ-05 would measure them, and in process it cannot
measure while the outer run's coverage does (another tracer is active); without that, it takes
this suite's own modules for code imported before it started, and imports them again in a
subprocess (seconds per run)."""

CHECKS_UNTIMED = "--atom-gates-order-check-time=1000000000"
"""For inner runs whose TQ-01 checks must all run, however busy the machine: a share this large
of the run's time leaves only TQ-03's hour. 100,000 % of an inner run that lasts a fraction of
a second is under the checks' two-minute floor, which 44 fresh processes outlasted on a
loaded machine."""

WITHOUT_HYPOTHESIS = ("-p", "no:hypothesispytest")
"""For inner runs, whose suites never use Hypothesis: its pytest plugin imports the whole of
Hypothesis at the end of every session (0.3 s of CPU per process), and the inner runs' TQ-01
checks start hundreds of processes. Without it, the fresh-process scenarios take 2.4x less."""

WITHOUT_JSON_REPORT = ("-p", "no:pytest_jsonreport", "-p", "no:metadata")
"""For inner runs that do not ask for pytest-json-report's report: its plugin and the
pytest-metadata it needs cost every pytest process the suite starts about a tenth of its CPU."""

pytest_plugins = ["pytester"]

GITHUB_VARIABLES = ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_WORKSPACE", "GITHUB_BASE_REF")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks the xdist twin of every test that runs both single-process and under xdist.

    The twin proves xdist parity, which depends on the plugin and xdist, not on the Python:
    one Python's environment runs the twins (tox.ini), the others run the single-process half.
    Where the Python does matter under xdist (coverage.py's core), a module says so with
    ``every_python``.
    """
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "xdist" not in callspec.id.split("-"):
            continue
        if item.get_closest_marker("every_python") is None:
            item.add_marker(pytest.mark.xdist_twin)


@pytest.fixture(autouse=True)
def _off_github(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner runs never see the GitHub job this suite may itself run in.

    Otherwise their deliberate failures would land in the real job's step summary and log.
    Tests of the GitHub output set the variables themselves.
    """
    for name in GITHUB_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def github_summary(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A GitHub Actions environment for the inner runs; the step summary file it names."""
    summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(pytester.path))
    return summary


@dataclass
class GatedRun:
    """The outcome of one inner pytest run: its terminal result and parsed JSON report."""

    result: pytest.RunResult
    report_path: Path

    @property
    def ret(self) -> int:
        return int(self.result.ret)

    @property
    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.report_path.read_text(encoding="utf-8"))
        return data

    @property
    def output(self) -> str:
        return self.result.stdout.str() + self.result.stderr.str()

    def verdict(self, gate: str) -> dict[str, Any]:
        return next(v for v in self.report["verdicts"] if v["gate"] == gate)

    def outcomes(self) -> dict[str, str]:
        return {t["nodeid"]: t["outcome"] for t in self.report["tests"]}


class Gates:
    """Runs the inner suite with ``--atom-gates``, in process or in a subprocess with xdist.

    TQ-05 is off unless ``with_coverage`` is true; a test can still set its mode with ``args``.
    """

    def __init__(
        self, pytester: pytest.Pytester, engine: str = "single", with_coverage: bool = False
    ) -> None:
        self.pytester = pytester
        self.engine = engine
        self.with_coverage = with_coverage

    def run(self, *args: str, subprocess: bool = False, report: bool = True) -> GatedRun:
        path = self.pytester.path / "atom-gates-report.json"
        argv = ["--atom-gates", *([] if self.with_coverage else [NO_COVERAGE]), *args]
        if not any(arg.startswith("--atom-gates-rerun-delay") for arg in args):
            argv.append("--atom-gates-rerun-delay=0")  # the pause itself is tested on its own
        argv.extend(WITHOUT_HYPOTHESIS)
        if not any(arg.startswith("--json-report") for arg in args):
            argv.extend(WITHOUT_JSON_REPORT)
        if report:
            argv.append(f"--atom-gates-report={path}")
        if self.engine == "xdist":
            result = self.pytester.runpytest_subprocess("-n", "2", *argv)
        elif subprocess:
            result = self.pytester.runpytest_subprocess(*argv)
        else:
            result = self.pytester.runpytest(*argv)
        return GatedRun(result, path)


@pytest.fixture
def gates(pytester: pytest.Pytester) -> Gates:
    """Runs the gates in the same process (fast) unless a test asks for a subprocess."""
    return Gates(pytester)


@pytest.fixture(params=["single", "xdist"])
def any_engine(request: pytest.FixtureRequest, pytester: pytest.Pytester) -> Gates:
    """Runs the gates once in a single process and once under ``pytest-xdist -n 2``."""
    return Gates(pytester, request.param)


def reproduce_arguments(command: str) -> list[str]:
    """A reproduce command's arguments after how it starts pytest (``pytest`` or
    ``python -m pytest``, as the run was started)."""
    words = shlex.split(command)
    start = 3 if words[:3] == ["python", "-m", "pytest"] else 1
    assert words[start - 1] == "pytest", command
    return words[start:]


def no_traceback(output: str) -> bool:
    return "Traceback" not in output and "INTERNALERROR" not in output


@pytest.fixture(scope="session")
def junit_schema(pytestconfig: pytest.Config) -> Any:
    """The JUnit XML schema of Jenkins' xUnit plugin, which knows Maven Surefire's
    ``flakyFailure``, ``rerunFailure`` and their errors: pytest checks its own JUnit XML against
    it and ships it in its source distribution (``testing/example_scripts/junit-10.xsd``). Taken
    from the installed pytest's, from the package index, kept in pytest's cache."""
    import xmlschema

    folder = pytestconfig.cache.mkdir("junit-schema") if pytestconfig.cache else None
    assert folder is not None, "the cache provider is needed to keep the schema"
    schema = folder / f"junit-10-pytest-{pytest.__version__}.xsd"
    if not schema.exists():
        sdist = ("--no-deps", "--no-binary", ":all:", f"pytest=={pytest.__version__}")
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", *sdist, "-q", "-d", str(folder)],
            check=False,
            capture_output=True,
            text=True,
            timeout=600,
        )
        archive = folder / f"pytest-{pytest.__version__}.tar.gz"
        if done.returncode != 0 or not archive.exists():
            message = f"pytest's source distribution could not be fetched: {done.stderr[-500:]}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        with tarfile.open(archive) as sdist:
            member = sdist.extractfile(
                f"pytest-{pytest.__version__}/testing/example_scripts/junit-10.xsd"
            )
            assert member is not None
            partial = schema.with_suffix(f".{os.getpid()}")
            partial.write_bytes(member.read())
            os.replace(partial, schema)
    return xmlschema.XMLSchema(str(schema))


def run_git(pytester: pytest.Pytester, *args: str) -> None:
    """git in the inner project, as a committer who needs no configuration of the machine's."""
    subprocess.run(
        ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", *args],
        cwd=pytester.path,
        check=True,
        capture_output=True,
    )
