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
    status, output = _terminate_once(
        pytester, pytester.path / "started", ("-p", "no:randomly", *args), group=group, settle=0.2
    )
    assert (pytester.path / HISTORY).read_bytes() == history
    return status, output


def _terminate_once(
    pytester: pytest.Pytester,
    marker: Path,
    args: tuple[str, ...],
    *,
    group: bool = False,
    settle: float = 0.0,
) -> tuple[int, str]:
    """Run the gates in a session of their own; SIGTERM once ``marker`` appears (to the process
    group when ``group``); the exit status and the output."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--atom-gates",
        NO_COVERAGE,
        "--atom-gates-report=report.json",
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
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert time.monotonic() < deadline, f"{marker.name} never appeared"
            assert process.poll() is None, process.communicate()[0].decode()
            time.sleep(0.05)
        time.sleep(settle)  # inside the test's sleep by then
        if group:
            os.killpg(process.pid, signal.SIGTERM)
        else:
            process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
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
    assert "TQ-02  pass rate       FAIL" in output, output
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


def test_a_second_sigterm_ends_the_process_while_the_verdicts_are_made() -> None:
    """A gate that never returns must not make the process immune to SIGTERM."""
    script = (
        "import os, signal\n"
        "from pytest_atom_gates.signals import SigtermAsInterrupt\n"
        "handler = SigtermAsInterrupt()\n"
        "handler.install()\n"
        "with handler.raising_as(False):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    print('noted', handler.received, flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    print('survived', flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout) == (-signal.SIGTERM, "noted True\n")


CHECKED_SUITE = {
    "state": "POLLUTED = False\nREADY = False\n",
    "test_victim": """
import pathlib, time
import pytest, state

pytestmark = pytest.mark.atom_gates_keep_order

def test_polluter():
    state.POLLUTED = True

def test_victim():
    counter = pathlib.Path("victim.count")
    calls = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(calls))
    if calls >= 3:  # the polluter search: long enough to be interrupted
        pathlib.Path("searching").write_text("yes")
        time.sleep(60)
    assert not state.POLLUTED
""",
    "test_brittle": """
import pathlib
import state

def test_setter():
    with open("setter.log", "a") as log:
        log.write("ran\\n")
    state.READY = True

def test_needs_setter():
    assert state.READY
""",
}


def _brittle_seed() -> int:
    """A seed that runs the brittle test before its setter, and the victims' file first."""
    from pytest_atom_gates.ordering import shuffled_order

    chains = [
        ["test_victim.py", "test_victim.py::test_polluter"],
        ["test_victim.py", "test_victim.py::test_victim"],
        ["test_brittle.py", "test_brittle.py::test_setter"],
        ["test_brittle.py", "test_brittle.py::test_needs_setter"],
    ]
    return next(
        s for s in range(1000) if shuffled_order(chains, s, {"test_victim.py"})[2:] == [3, 2]
    )


def test_sigterm_during_the_checks_stops_them_all(pytester: pytest.Pytester) -> None:
    for name, text in CHECKED_SUITE.items():
        (pytester.path / f"{name}.py").write_text(text, encoding="utf-8")
    pytester.makeini("[pytest]\npythonpath = .\n")
    options = ("--atom-gates-reruns=0", "--atom-gates-min-pass-rate=0")
    status, output = _terminate_once(
        pytester, pytester.path / "searching", (*options, f"--atom-gates-seed={_brittle_seed()}")
    )
    assert status == 2, output
    assert no_traceback(output), output
    report = json.loads((pytester.path / "report.json").read_text(encoding="utf-8"))
    assert report["incomplete_reason"] == "interrupted: SIGTERM"
    assert report["run"]["interrupted"] == "SIGTERM"
    checks = {c["nodeid"]: c for c in report["order_checks"]}
    assert checks["test_victim.py::test_victim"]["search"]["detail"] == "interrupted"
    brittle = checks["test_brittle.py::test_needs_setter"]
    assert brittle["search"] == {
        "result": "not-analysed",
        "runs": 1,  # the file-order run that found it brittle
        "detail": "interrupted",
        "confirmations": 0,
    }
    # The setter ran in the run and in the file-order run that found the test brittle; no
    # search ran it after the signal.
    assert (pytester.path / "setter.log").read_text().splitlines() == ["ran", "ran"]
