"""Evidence for every flaky test: what its attempts themselves show, each fact with its evidence,
in the terminal, the JSON report, the page and the step summary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Gates

FLAKY_CONNECTION = """import pathlib, threading, time

def test_flaky_connection():
    mark = pathlib.Path("mark")
    if not mark.exists():
        mark.write_text("")
        # A thread the test leaves waiting, and a slow, refused first attempt.
        threading.Thread(target=threading.Event().wait, daemon=True).start()
        time.sleep(0.3)
        raise ConnectionRefusedError("db refused")
"""
SUBCLASS = """import pathlib

class ServiceDown(ConnectionRefusedError):
    pass

def test_service():
    mark = pathlib.Path("mark-service")
    if not mark.exists():
        mark.write_text("")
        raise ServiceDown("payments")
"""
TIMED_OUT = """import pathlib, pytest

def test_timed_out():
    mark = pathlib.Path("mark-timeout")
    if not mark.exists():
        mark.write_text("")
        pytest.fail("Timeout (>1.0s) from pytest-timeout.")
"""


def evidence_of(report: dict[str, object], nodeid: str) -> list[str]:
    flaky = report["determinism"]["flaky"]  # type: ignore[index]
    entry = next(e for e in flaky if e["nodeid"] == nodeid)  # type: ignore[union-attr]
    facts: list[str] = entry["evidence"]
    return facts


def test_each_fact_a_flaky_tests_attempts_show(
    pytester: pytest.Pytester, any_engine: Gates, github_summary: Path
) -> None:
    pytester.makepyfile(test_flaky=FLAKY_CONNECTION, test_timeout=TIMED_OUT, test_sub=SUBCLASS)
    html = pytester.path / "page.html"
    run = any_engine.run("--atom-gates-reruns=1", "-p", "no:randomly", f"--atom-gates-html={html}")
    facts = evidence_of(run.report, "test_flaky.py::test_flaky_connection")
    assert len(facts) == 5
    assert facts[0] == (
        "raised: attempt 1 raised ConnectionRefusedError at test_flaky.py:10 in call; "
        "attempt 2 passed"
    )
    assert re.fullmatch(
        r"order: passed again after the [012] tests that ran before its first "
        r"attempt",
        facts[1],
    )
    assert re.fullmatch(
        r"time: attempt 1 took [\d.]+ times as long as the passing ones \([\d.]+ m?s against "
        r"[\d.]+ m?s\)",
        facts[2],
    )
    assert facts[3] == "resource: attempt 1 raised ConnectionRefusedError, a connection error"
    assert facts[4] == "threads: 1 thread started by attempt 1 still alive when it failed"
    timed_out = evidence_of(run.report, "test_timeout.py::test_timed_out")
    assert (
        timed_out[0]
        == "raised: attempt 1 raised Failed at test_timeout.py:7 in call; attempt 2 passed"
    )
    # A library's own error class is judged by its nearest base that names a resource.
    assert evidence_of(run.report, "test_sub.py::test_service")[-1] == (
        "resource: attempt 1 raised ServiceDown, a connection error"
    )
    # The thread the other test left is not this test's doing: no threads fact here.
    assert re.fullmatch(r"order: passed again after the [012] tests .*", timed_out[1])
    assert timed_out[2:] == [
        "time: attempt 1 hit a timeout (Failed: Timeout (>1.0s) from pytest-timeout.)"
    ]
    # One line per flaky test in the terminal, every fact in the page and the step summary.
    run.result.stdout.fnmatch_lines([f"    evidence: {' | '.join(facts)}"])
    page = html.read_text(encoding="utf-8")
    summary = github_summary.read_text(encoding="utf-8")
    for fact in facts:
        assert f"<li>{fact}</li>" in page.replace("&gt;", ">").replace("&lt;", "<")
        assert f"  - {fact}" in summary
