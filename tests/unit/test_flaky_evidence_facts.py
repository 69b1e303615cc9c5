"""The time and resource facts of a flaky test, from the durations and classes recorded."""

from __future__ import annotations

from pytest_atom_gates.attempts import Attempt
from pytest_atom_gates.failures import Failure
from pytest_atom_gates.flaky_evidence import _resources, _time


def failed(seconds: float, exception: str = "AssertionError", *bases: str) -> Attempt:
    failure = Failure(exception, f"{exception}: x", None, None, None, "", exception_bases=bases)
    return Attempt("failed", seconds, "call", f"{exception}: x", None, failure)


def test_a_slow_failed_attempt_against_the_passing_ones() -> None:
    passed = [(2, Attempt("passed", 0.1)), (3, Attempt("passed", 0.3))]
    assert _time([(1, failed(0.8))], passed) == [
        "time: attempt 1 took 4.0 times as long as the passing ones (800.0 ms against 200.0 ms)"
    ]
    assert _time([(1, failed(0.39))], passed) == []  # under twice the passing ones' mean
    assert _time([(1, failed(0.04))], [(2, Attempt("passed", 0.001))]) == []  # under 50 ms


def test_a_resource_error_by_its_nearest_base() -> None:
    assert _resources([(1, failed(0.1, "ServiceDown", "ConnectionRefusedError", "OSError"))]) == [
        "resource: attempt 1 raised ServiceDown, a connection error"
    ]
    assert _resources([(1, failed(0.1, "ValueError"))]) == []
