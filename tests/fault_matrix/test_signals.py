"""Fault matrix: SIGTERM (``timeout``, ``docker stop``, a cancelled CI job) is an interrupt.

The run ends as it does for Ctrl-C: a verdict in the terminal, the report written and marked
incomplete, the flake history untouched; in one process and under ``pytest-xdist -n 2``, whether
the signal reaches the controller alone or the whole process group.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import NO_COVERAGE, no_traceback

SLOW_SUITE = """
import pathlib
import time

import pytest

pytestmark = pytest.mark.atom_gates_keep_order

def test_done():
    pass

def test_slow():
    pathlib.Path("started").write_text("yes")
    time.sleep(60)
"""

HISTORY = Path(".pytest_cache", "d", "atom_gates", "history.json")


def _run_and_terminate(pytester: pytest.Pytester, *args: str, group: bool) -> tuple[int, str]:
    pytester.makepyfile(test_slow=SLOW_SUITE)
    # A first, complete run leaves a history behind; the interrupted run must not change it.
    first = pytester.runpytest_subprocess("--atom-gates", NO_COVERAGE, "-k", "test_done")
    assert first.ret == 0, first.stdout.str()
    history = (pytester.path / HISTORY).read_bytes()
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--atom-gates",
        NO_COVERAGE,
        "--atom-gates-report=report.json",
        "-p",
        "no:randomly",
        *args,
    ]
    process = subprocess.Popen(
        command,
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (pytester.path / "started").exists():
            assert time.monotonic() < deadline, "the slow test never started"
            assert process.poll() is None, process.communicate()[0].decode()
            time.sleep(0.05)
        time.sleep(0.2)  # inside time.sleep now
        if group:
            os.killpg(process.pid, signal.SIGTERM)
        else:
            process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert (pytester.path / HISTORY).read_bytes() == history
    return process.returncode, output


@pytest.mark.parametrize(
    ("args", "group"),
    [((), False), (("-n", "2"), False), (("-n", "2"), True)],
    ids=["single", "xdist-controller", "xdist-group"],
)
def test_sigterm_ends_the_run_with_verdicts_and_a_report(
    pytester: pytest.Pytester, args: tuple[str, ...], group: bool
) -> None:
    status, output = _run_and_terminate(pytester, *args, group=group)
    assert status == 2, output
    assert no_traceback(output), output
    assert "TQ-02  pass rate     FAIL" in output, output
    report = json.loads((pytester.path / "report.json").read_text(encoding="utf-8"))
    assert report["complete"] is False
    reason = report["incomplete_reason"]
    # A worker that got the signal first relays it to the controller as a keyboard interrupt.
    expected = {"interrupted: SIGTERM"} | ({"interrupted: KeyboardInterrupt"} if group else set())
    assert reason in expected, reason
    outcomes = {t["nodeid"]: t["outcome"] for t in report["tests"]}
    assert outcomes["test_slow.py::test_done"] == "passed"
    assert outcomes["test_slow.py::test_slow"] == "not-run"
    tq02 = next(v for v in report["verdicts"] if v["gate"] == "TQ-02")
    assert tq02["verdict"] == "FAIL"


def test_a_handler_of_the_users_own_is_left_alone() -> None:
    from pytest_atom_gates.signals import SigtermAsInterrupt

    def mine(signum: int, frame: object) -> None:
        raise AssertionError("not called")

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        handler = SigtermAsInterrupt()
        handler.install()
        assert signal.getsignal(signal.SIGTERM) is mine
        handler.uninstall()
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_sigterm_raises_terminated_and_is_uninstalled() -> None:
    from pytest_atom_gates.signals import SigtermAsInterrupt, Terminated

    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        handler = SigtermAsInterrupt()
        handler.install()
        with pytest.raises(Terminated, match="SIGTERM"):
            signal.raise_signal(signal.SIGTERM)
        assert handler.received
        handler.uninstall()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)
