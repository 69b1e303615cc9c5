"""TQ-01 alone-checks: rerun a failed test by itself in a fresh pytest process with the same seed.

A test that failed in the shuffled run and passes alone depends on what ran before it. The check
runs the plugin itself in the child (same seed, so the same per-test RNG seed) and reads the
child's JSON report; it never parses terminal output.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from pytest_atom_gates.gates.independence import (
    FAILS_ALONE,
    INCONCLUSIVE,
    ORDER_DEPENDENT,
    AloneCheck,
    OrderChecks,
)
from pytest_atom_gates.invocation import ARGS_FILES, Invocation
from pytest_atom_gates.ledger import FAILED, PASSED, Ledger

_CHILD_ENV_DROP = (
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_XDIST_TESTRUNUID",
    "PYTEST_CURRENT_TEST",
    # The child is given these options on its command line, less what it must not repeat.
    "PYTEST_ADDOPTS",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    # Set by coverage.py's subprocess measurement of this run, which has ended by now: the
    # child's data would only be left behind beside the combined data file.
    "COVERAGE_PROCESS_CONFIG",
)
_INLINE_LIMIT = 30
"""At most this many preceding tests go inline into a reproduce command; more go into a file."""


def _engine_overrides(config: pytest.Config) -> list[str]:
    """Switch off parallelism and coverage so the child runs exactly one process."""
    overrides = []
    if config.pluginmanager.hasplugin("xdist"):
        overrides += ["-n", "0"]
    if config.pluginmanager.hasplugin("_cov"):
        overrides.append("--no-cov")
    return overrides


def _args_file_name(nodeid: str) -> str:
    """A file name for ``nodeid``'s reproduce arguments, one per node id.

    The readable part drops punctuation (``test_x-y.py`` and ``test_x_y.py`` read alike), so a
    hash of the whole node id tells them apart.
    """
    readable = "".join(c if c.isalnum() else "_" for c in nodeid)[-60:]
    digest = hashlib.blake2b(nodeid.encode(), digest_size=6).hexdigest()
    return f"reproduce-{readable}-{digest}.txt"


class AloneChecker:
    """Runs the alone-checks of one session."""

    def __init__(self, config: pytest.Config, seed: int, extra_args: Sequence[str] = ()) -> None:
        self.config = config
        self.seed = seed
        self.extra_args = list(extra_args)
        self.invocation_dir = config.invocation_params.dir
        self.invocation = Invocation(config)
        self.engine = _engine_overrides(config)
        self._group_suffix = config.getoption("dist", "no") == "loadgroup"

    def cli_id(self, nodeid: str) -> str:
        """A node id as an argument that works from the invocation directory."""
        if self._group_suffix and "@" in nodeid:
            nodeid = nodeid.rsplit("@", 1)[0]
        path, sep, rest = nodeid.partition("::")
        target = self.config.rootpath / path
        try:
            relative = os.path.relpath(target, self.invocation_dir)
        except ValueError:  # another drive on Windows
            relative = str(target)
        return relative + sep + rest

    def command(self, invocation_args: Sequence[str]) -> list[str]:
        """The gates with this run's seed, the invocation's options, then one process."""
        return ["--atom-gates", f"--atom-gates-seed={self.seed}", *invocation_args, *self.engine]

    def reproduce_command(self, nodeid: str, ran_before: Sequence[str]) -> str:
        """The command that replays ``nodeid`` after the tests that ran before it.

        Long lists go into an argument file (``pytest @file``, one argument per line, pytest 8.2
        and newer) in pytest's cache, so the command stays short enough to paste.
        """
        args = [self.cli_id(n) for n in (*ran_before, nodeid)]
        command = ["pytest", *self.command(self.invocation.shown_args())]
        cache = getattr(self.config, "cache", None)
        if len(ran_before) <= _INLINE_LIMIT or cache is None or not ARGS_FILES:
            return shlex.join([*command, *args])
        try:
            args_file = cache.mkdir("atom_gates") / _args_file_name(nodeid)
            args_file.write_text("\n".join(args) + "\n", encoding="utf-8")
        except OSError:  # an unusable cache costs only the command's length
            return shlex.join([*command, *args])
        return shlex.join([*command, f"@{args_file}"])

    def run_alone(self, nodeid: str, timeout: float) -> tuple[str, str]:
        """Run one test alone; return its classification and a short detail."""
        with tempfile.TemporaryDirectory(prefix="atom-gates-alone-") as folder:
            report = Path(folder) / "alone.json"
            command = [
                sys.executable,
                "-m",
                "pytest",
                *self.command(self.invocation.child_args()),
                "-o",
                "addopts=",
                "--atom-gates-order-checks=0",
                "--atom-gates-reruns=0",
                # Its own TQ-05 would erase the coverage data file that the run which
                # started it has just written.
                "--atom-gates-mode=TQ-05:off",
                f"--atom-gates-report={report}",
                # Its own cache: the run's seed and last failures stay the run's.
                "-o",
                f"cache_dir={Path(folder) / 'cache'}",
                "-q",
                *self.extra_args,
                self.cli_id(nodeid),
            ]
            env = {k: v for k, v in os.environ.items() if k not in _CHILD_ENV_DROP}
            try:
                done = subprocess.run(
                    command,
                    cwd=self.invocation_dir,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                return INCONCLUSIVE, f"the alone-run took longer than {timeout:.0f} s"
            except OSError as exc:
                return INCONCLUSIVE, f"could not start the alone-run: {exc}"
            outcome = _outcome_in_report(report, nodeid)
            if outcome == PASSED:
                return ORDER_DEPENDENT, "passed when run alone"
            if outcome == FAILED:
                return FAILS_ALONE, "failed when run alone too"
            if outcome is not None:
                return INCONCLUSIVE, f"{outcome} when run alone"
            return INCONCLUSIVE, f"the alone-run gave no result ({_why_no_result(done)})"

    def check(
        self,
        ledger: Ledger,
        failed: Sequence[str],
        limit: int,
        budget_spent: Callable[[], bool] = lambda: False,
    ) -> OrderChecks:
        """Rerun up to ``limit`` of the ``failed`` tests alone, in the order they ran.

        Stops early when the session's time budget is spent (the alone-runs count towards it)
        or when interrupted; the tests left are reported unchecked, with the reason.
        """
        result = OrderChecks()
        for index, nodeid in enumerate(failed):
            reason = None
            if index >= limit:
                reason = f"limit of {limit} alone-runs (--atom-gates-order-checks)"
            elif budget_spent():
                reason = "the session's time budget is spent"
            if reason is not None:
                result.unchecked, result.skipped_reason = list(failed[index:]), reason
                break
            spent = ledger.durations.get(nodeid, 0.0)
            try:
                verdict, detail = self.run_alone(nodeid, timeout=max(120.0, 10 * spent))
            except KeyboardInterrupt:
                result.unchecked = list(failed[index:])
                result.skipped_reason = "interrupted during the alone-runs"
                break
            before = tuple(ledger.ran_before(nodeid))
            reproduce = self.reproduce_command(nodeid, before) if verdict == ORDER_DEPENDENT else ""
            result.checks.append(AloneCheck(nodeid, verdict, detail, before, reproduce))
        return result


def _why_no_result(done: subprocess.CompletedProcess[str]) -> str:
    """How a child that wrote no report ended, in words rather than a traceback's last line."""
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        return f"killed by {name}"
    lines = [line.strip() for line in f"{done.stderr}\n{done.stdout}".splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith(("Fatal Python error", "ERROR: "))]
    shown = fatal[0] if fatal else (lines[-1] if lines else "no output")
    return f"exit {done.returncode}: {shown}"


def _outcome_in_report(report: Path, nodeid: str) -> str | None:
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    tests = data.get("tests", []) if isinstance(data, dict) else []
    for test in tests:
        if isinstance(test, dict) and test.get("nodeid") == nodeid:
            outcome = test.get("outcome")
            return outcome if isinstance(outcome, str) else None
    return None
