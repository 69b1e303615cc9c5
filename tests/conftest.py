"""Shared helpers: run pytest with the gates on a suite written by the test, read its report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import coverage  # noqa: F401  (see below)
import hypothesis  # noqa: F401  (see below)
import pytest

# Hypothesis is imported here, before any in-process pytester run takes its sys.modules snapshot:
# otherwise its pytest plugin imports (and pytest rewrites) the whole package again in every run.
# Coverage.py too: its C tracer cannot be imported a second time into the same process.

NO_COVERAGE = "--atom-gates-mode=TQ-05:off"
"""For inner runs that test another gate: TQ-05 would measure them, and in process it cannot
measure while the outer run's coverage does (another tracer is active)."""

pytest_plugins = ["pytester"]


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


def no_traceback(output: str) -> bool:
    return "Traceback" not in output and "INTERNALERROR" not in output
