"""Never a silent minute: while TQ-01's checks run after the last test, the terminal says how far
they are; a line at least every 10 s in a CI log, a live line on a terminal, one closing line
under -q."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest

from tests.conftest import NO_COVERAGE, Gates

# Fails at once in the run; its alone-run (the first question) takes 11 s, so the checks last
# longer than the 10 s between two lines of a log.
SLOW_TO_CHECK = """import pathlib, time

def test_slow_to_check():
    calls = pathlib.Path("calls.txt")
    count = len(calls.read_text().splitlines()) if calls.exists() else 0
    calls.write_text("call\\n" * (count + 1))
    if count == 1:
        time.sleep(11)
    assert False, "broken"
"""
ARGS = ("--atom-gates-reruns=0", "--atom-gates-min-pass-rate=0", "-p", "no:randomly")
PROGRESS = re.compile(
    r"atom-gates: TQ-01's checks: (\d+) questions? asked \(limit 1000\), (\d) of 1 tests "
    r"settled, (\d+) s, \d+ s of their time left"
)
CLOSING = re.compile(r"atom-gates: TQ-01's checks done: 2 questions, 1 of 1 tests settled in \S+ s")


def test_a_log_gets_a_line_at_the_start_and_every_10_s(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(test_slow=SLOW_TO_CHECK)
    run = gates.run(*ARGS, subprocess=True)
    assert run.report["order_checks"][0]["result"] == "fails-alone"
    lines = run.result.stdout.lines
    shown = [PROGRESS.fullmatch(line) for line in lines]
    progress = [m for m in shown if m is not None]
    # One as the checks start, one 10 s later, while the 11 s alone-run runs (a machine busy
    # enough to stretch the checks past 20 s adds a third).
    assert [(m[1], m[2]) for m in progress[:2]] == [("0", "0"), ("1", "0")]
    assert len(progress) in (2, 3)
    assert len([line for line in lines if CLOSING.fullmatch(line)]) == 1


def test_quiet_shows_only_the_closing_line(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(test_broken="def test_broken():\n    assert False\n")
    run = gates.run(*ARGS, "-q")
    lines = run.result.stdout.lines
    assert [line for line in lines if "TQ-01's checks" in line] == [
        next(line for line in lines if CLOSING.fullmatch(line))
    ]
    assert not any(PROGRESS.fullmatch(line) for line in lines)


def test_a_terminal_gets_one_live_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_slow=SLOW_TO_CHECK)
    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--atom-gates", NO_COVERAGE, *ARGS],
        cwd=pytester.path,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:  # the terminal closed: the child has ended
            break
        if not chunk:
            break
        output += chunk
    child.wait(60)
    os.close(leader)
    text = re.sub(r"\x1b\[[0-9;]*m", "", output.decode(errors="replace"))
    # Rewritten in place about once a second: the seconds count up on one line.
    seconds = [int(m[3]) for m in re.finditer(PROGRESS.pattern, text)]
    assert len(seconds) >= 2
    assert seconds == sorted(seconds)
    assert all(f"\r{m[0]}" in text for m in re.finditer(PROGRESS.pattern, text))
    assert len(CLOSING.findall(text)) == 1
