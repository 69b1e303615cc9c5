"""TQ-03 duration: the controller's clock against the session budget and the per-test budget."""

from __future__ import annotations

import pytest

from tests.conftest import Gates


def test_within_budget(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(test_s="def test_quick(): pass\n")
    run = gates.run()
    verdict = run.verdict("TQ-03")
    assert verdict["verdict"] == "PASS"
    assert 0 < verdict["data"]["elapsed"] < 3600
    assert verdict["required"] == "<= 3600 s"


def test_over_budget_fails(pytester: pytest.Pytester, any_engine: Gates) -> None:
    pytester.makepyfile(test_s="import time\ndef test_slow(): time.sleep(0.6)\n")
    run = any_engine.run("--atom-gates-max-duration=0.5")
    assert run.ret == 1
    verdict = run.verdict("TQ-03")
    assert verdict["verdict"] == "FAIL"
    assert verdict["data"]["elapsed"] > 0.5
    assert "over its budget of 0.50 s" in verdict["reason"]


def test_patched_clocks_cannot_fool_the_session_clock(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    # Like freezegun: every module attribute that is one of time's clocks is replaced by a frozen
    # one while the test runs.
    pytester.makepyfile(
        test_frozen="""
        import sys, time
        def test_frozen():
            real = {name: getattr(time, name) for name in ("perf_counter", "monotonic", "time")}
            patched = []
            for module in list(sys.modules.values()):
                for attribute, value in list(getattr(module, "__dict__", {}).items()):
                    for name, clock in real.items():
                        if value is clock:
                            setattr(module, attribute, lambda: 0.0)
                            patched.append((module, attribute, clock))
            try:
                deadline = real["monotonic"]() + 0.6
                while real["monotonic"]() < deadline:
                    pass
            finally:
                for module, attribute, clock in patched:
                    setattr(module, attribute, clock)
    """
    )
    run = gates.run("--atom-gates-max-duration=0.5")
    verdict = run.verdict("TQ-03")
    assert verdict["verdict"] == "FAIL"
    assert verdict["data"]["elapsed"] > 0.5


def test_per_test_budget(pytester: pytest.Pytester, any_engine: Gates) -> None:
    pytester.makepyfile(
        test_s="""
        import time
        def test_slow(): time.sleep(0.4)
        def test_fast(): pass
    """
    )
    run = any_engine.run("--atom-gates-max-test-duration=0.3")
    assert run.ret == 1
    verdict = run.verdict("TQ-03")
    assert verdict["verdict"] == "FAIL"
    assert [entry["nodeid"] for entry in verdict["data"]["over_test_budget"]] == [
        "test_s.py::test_slow"
    ]
    assert "1 over the per-test budget: test_s.py::test_slow" in verdict["reason"]


def test_stop_on_budget_stops_and_marks_the_run_incomplete(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    pytester.makepyfile(
        test_s="""
        import time, pytest
        @pytest.mark.parametrize("n", range(40))
        def test_step(n):
            time.sleep(0.05)
    """
    )
    run = any_engine.run("--atom-gates-max-duration=0.3", "--atom-gates-stop-on-budget")
    assert run.ret == 1
    report = run.report
    assert report["complete"] is False
    assert report["summary"]["not-run"] > 0
    duration = run.verdict("TQ-03")
    assert duration["verdict"] == "FAIL"
    assert duration["data"]["stopped_on_budget"] is True
    assert "the budget ran out and the run was stopped" in duration["reason"]
    pass_rate = run.verdict("TQ-02")
    assert pass_rate["verdict"] == "FAIL"
    assert "did not run" in pass_rate["reason"]


def test_slowest_tests_are_listed(pytester: pytest.Pytester, gates: Gates) -> None:
    """Ranked by what each took, which a busy machine stretches but never shortens: the
    figures are bounded below, not matched."""
    pytester.makepyfile(
        test_s="""
        import time
        def test_a(): time.sleep(0.3)
        def test_b(): time.sleep(0.1)
        def test_c(): pass
    """
    )
    run = gates.run("--atom-gates-slowest=2")
    lines = run.result.outlines
    start = lines.index("slowest 2 tests:")
    listed = [line.split() for line in lines[start + 1 : start + 3]]
    assert [(words[1], words[2]) for words in listed] == [
        ("s", "test_s.py::test_a"),
        ("s", "test_s.py::test_b"),
    ]
    assert float(listed[0][0]) >= 0.3
    assert float(listed[1][0]) >= 0.1
    run.result.stdout.no_fnmatch_line("* s  test_s.py::test_c")
