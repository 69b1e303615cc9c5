"""Each attempt the ledger records, field by field."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pytest_atom_gates.attempts import Attempt
from pytest_atom_gates.failures import Failure
from pytest_atom_gates.ledger import (
    CRASH_PHASE,
    REPEAT,
    RERUN,
    CollectionError,
    Ledger,
    _crash_line,
    exception_text,
)
from tests.unit.builders import report


def _crashed(message: str) -> SimpleNamespace:
    return SimpleNamespace(reprcrash=SimpleNamespace(message=message))


def _made(
    nodeid: str, when: str, outcome: str, seconds: float, **extra: object
) -> pytest.TestReport:
    made = report(nodeid, when, outcome, duration=seconds)
    for name, value in extra.items():
        setattr(made, name, value)
    return made


def test_attempts_field_by_field() -> None:
    ledger = Ledger()
    ledger.set_selected(["t.py::flaky", "t.py::xf", "t.py::skip"])
    ledger.record(_made("t.py::flaky", "setup", "passed", 0.5), "gw1")
    failure = _made("t.py::flaky", "call", RERUN, 1.0, longrepr=_crashed("ValueError: one\ntwo"))
    ledger.record(failure, "gw1")
    ledger.record(_made("t.py::flaky", "setup", "passed", 0.25), "gw1")
    ledger.record(_made("t.py::flaky", "call", "passed", 0.25), "gw1")
    ledger.record(_made("t.py::flaky", "teardown", "passed", 0.5), "gw1")
    ledger.record(_made("t.py::xf", "setup", "passed", 0.0))
    ledger.record(_made("t.py::xf", "call", "skipped", 0.5, wasxfail="known bug"))
    ledger.record(_made("t.py::xf", "teardown", "passed", 0.0))
    skip = _made("t.py::skip", "setup", "skipped", 0.125, longrepr=("t.py", 3, "Skipped: later"))
    ledger.record(skip)
    ledger.record(_made("t.py::skip", "teardown", "passed", 0.0))
    ledger.finish()
    assert ledger.attempts("t.py::flaky") == [
        Attempt(
            "failed",
            1.5,
            "call",
            "ValueError: one",
            "gw1",
            Failure("ValueError", "ValueError: one\ntwo", None, None, None, str(failure.longrepr)),
        ),
        Attempt("passed", 1.0, None, None, "gw1"),
    ]
    assert ledger.durations == {"t.py::flaky": 2.5, "t.py::xf": 0.5, "t.py::skip": 0.125}
    assert ledger.attempts("t.py::xf") == [Attempt("xfailed", 0.5, "call", "known bug", None)]
    assert ledger.attempts("t.py::skip") == [
        Attempt("skipped", 0.125, "setup", "Skipped: later", None)
    ]
    assert ledger.attempts("t.py::never") == []
    assert ledger.counts() == {"flaky": 1, "xfailed": 1, "skipped": 1}


def test_a_plain_pass_is_one_attempt_and_a_crash_keeps_earlier_time() -> None:
    ledger = Ledger()
    for when in ("setup", "call", "teardown"):
        ledger.record(_made("t.py::ok", when, "passed", 0.5))
    ledger.record(_made("t.py::dies", "setup", "passed", 0.5), "gw0")
    crash = report("t.py::dies", CRASH_PHASE, "failed", duration=0.0)
    crash.longrepr = "worker 'gw0' crashed while running 't.py::dies'"  # type: ignore[assignment]
    ledger.record(crash, "gw0")
    ledger.finish()
    assert ledger.attempts("t.py::ok") == [Attempt("passed", 1.5)]
    assert ledger.attempts("t.py::dies") == [
        Attempt(
            "failed",
            0.5,
            "crash",
            "worker 'gw0' crashed while running 't.py::dies'",
            "gw0",
            Failure(None, "", None, None, None, "worker 'gw0' crashed while running 't.py::dies'"),
        )
    ]
    assert ledger.nodeids() == ["t.py::ok", "t.py::dies"]


def test_a_rescheduled_test_keeps_its_earlier_time() -> None:
    ledger = Ledger()
    for when in ("setup", "call", "teardown"):
        ledger.record(_made("t.py::a", when, "passed", 1.0), "gw0")
    for when in ("setup", "call", "teardown"):
        ledger.record(_made("t.py::a", when, "passed", 1.0), "gw1")
    assert ledger.durations["t.py::a"] == 6.0
    assert ledger.sequences == {"gw0": ["t.py::a"], "gw1": ["t.py::a"]}


def test_reported_tests_beyond_the_selection_are_known_after_it() -> None:
    ledger = Ledger()
    ledger.set_selected(["t.py::a"])
    ledger.record(_made("t.py::extra", "setup", "passed", 0.0))
    ledger.record(_made("t.py::failed", "call", "failed", 0.0))
    assert ledger.nodeids() == ["t.py::a", "t.py::failed", "t.py::extra"]
    assert Ledger().nodeids() == []


def test_tests_still_running_at_the_end_are_known_once() -> None:
    # "b" (selected) and "c" (not selected, with a failed call) never reached their teardown:
    # each is reported once, whether it has a record or not.
    ledger = Ledger()
    ledger.set_selected(["t.py::a", "t.py::b"])
    for when in ("setup", "call", "teardown"):
        ledger.record(_made("t.py::a", when, "passed", 0.0))
    ledger.record(_made("t.py::b", "setup", "passed", 0.0))
    ledger.record(_made("t.py::c", "setup", "passed", 0.0))
    ledger.record(_made("t.py::c", "call", "failed", 0.0))
    assert ledger.nodeids() == ["t.py::a", "t.py::b", "t.py::c"]
    ledger.finish()
    assert list(ledger.outcomes()) == [
        ("t.py::a", "passed"),
        ("t.py::b", "not-run"),
        ("t.py::c", "failed"),
    ]
    selected_only = Ledger()
    selected_only.set_selected(["t.py::a", "t.py::b"])
    selected_only.record(_made("t.py::b", "setup", "passed", 0.0))
    selected_only.record(_made("t.py::b", "call", "failed", 0.0))
    assert selected_only.nodeids() == ["t.py::a", "t.py::b"]


def _finished(selected: list[str], outcomes: dict[str, str]) -> Ledger:
    """A finished ledger where each test in ``outcomes`` ran once with that report outcome."""
    ledger = Ledger()
    ledger.set_selected(selected)
    for nodeid, outcome in outcomes.items():
        ledger.record(_made(nodeid, "setup", "passed", 0.0))
        ledger.record(_made(nodeid, "call", outcome, 0.0))
        ledger.record(_made(nodeid, "teardown", "passed", 0.0))
    ledger.finish()
    return ledger


def test_after_finish_every_reading_agrees_with_the_outcome_of_each_test() -> None:
    selected = ["t.py::p1", "t.py::f1", "t.py::s1", "t.py::p2", "t.py::gone", "t.py::f2"]
    ran = {"t.py::p1": "passed", "t.py::f1": "failed", "t.py::s1": "skipped"}
    ran.update({"t.py::p2": "passed", "t.py::f2": "failed"})
    ledger = _finished(selected, ran)
    expected = {**ran, "t.py::gone": "not-run"}
    assert list(ledger.outcomes()) == [(n, expected[n]) for n in selected]
    assert [ledger.outcome(n) for n in selected] == [expected[n] for n in selected]
    assert ledger.counts() == {"passed": 2, "failed": 2, "skipped": 1, "not-run": 1}
    assert ledger.counts(excluding={"t.py::p1", "t.py::f1", "t.py::unknown"}) == {
        "passed": 1,
        "failed": 1,
        "skipped": 1,
        "not-run": 1,
    }
    assert ledger.with_outcome("failed") == ["t.py::f1", "t.py::f2"]
    assert ledger.with_outcome("failed", "not-run") == ["t.py::f1", "t.py::gone", "t.py::f2"]
    assert ledger.with_outcome("passed", "skipped") == ["t.py::p1", "t.py::s1", "t.py::p2"]
    assert ledger.with_outcome("flaky") == []
    assert ledger.failure_count() == 3
    assert ledger.nodeids() == selected


def test_a_selection_naming_a_test_twice_still_knows_the_tests_beyond_it() -> None:
    # Counting alone cannot tell a repeated test from an extra one: the twice-selected "a" and
    # the unselected "extra" make as many reported tests as selected ones.
    ledger = _finished(["t.py::a", "t.py::a"], {"t.py::a": "passed", "t.py::extra": "failed"})
    assert ledger.nodeids() == ["t.py::a", "t.py::a", "t.py::extra"]
    assert ledger.with_outcome("failed") == ["t.py::extra"]


def test_collection_errors_are_recorded_with_their_line() -> None:
    ledger = Ledger()
    failed = pytest.CollectReport("t.py", "failed", "E   SyntaxError: bad", [])
    ledger.record_collect_report(failed)
    ledger.record_collect_report(pytest.CollectReport("u.py", "passed", None, []))
    assert ledger.collection_errors == [
        CollectionError(
            "t.py", "SyntaxError: bad", Failure(None, "", None, None, None, "E   SyntaxError: bad")
        )
    ]


@pytest.mark.parametrize(
    ("longrepr", "line"),
    [
        (_crashed("AssertionError: first\nsecond"), "AssertionError: first"),
        (("t.py", 1, "Skipped: why"), "Skipped: why"),
        ("E   assert 1 == 2\nE    +  where 1 = f()", "assert 1 == 2"),
        (
            'E     File "t.py", line 1\nE       def f(\nE   SyntaxError: never closed',
            "SyntaxError: never closed",
        ),
        ("no marker here\nlast line", "last line"),
        (None, ""),
        ("x" * 600, "x" * 500),
    ],
)
def test_crash_line(longrepr: object, line: str) -> None:
    made = report("t.py::a", "call", "failed")
    made.longrepr = longrepr  # type: ignore[assignment]
    assert _crash_line(made) == line


def test_exception_text() -> None:
    made = report("t.py::a", "call", "failed")
    made.longrepr = _crashed("  ValueError: x  ")  # type: ignore[assignment]
    assert exception_text(made) == "ValueError: x"
    made.longrepr = _crashed("")  # type: ignore[assignment]
    assert exception_text(made) is None
    made.longrepr = "plain"  # type: ignore[assignment]
    assert exception_text(made) is None


def test_outcomes_before_and_after_finish_and_a_rerun_starts_once() -> None:
    ledger = Ledger()
    ledger.set_selected(["t.py::flaky", "t.py::cut"])
    ledger.record(_made("t.py::flaky", "setup", "passed", 0.0), "gw3")
    ledger.record(_made("t.py::flaky", "call", RERUN, 0.0), "gw3")
    for when in ("setup", "call", "teardown"):
        ledger.record(_made("t.py::flaky", when, "passed", 0.0), "gw3")
    ledger.record(_made("t.py::cut", "setup", "passed", 0.5), "gw3")
    ledger.record(_made("t.py::cut", "call", "failed", 0.5), "gw3")
    assert dict(ledger.outcomes()) == {"t.py::flaky": "flaky", "t.py::cut": "not-run"}
    assert ledger.sequences == {"gw3": ["t.py::flaky", "t.py::cut"]}
    ledger.finish()
    assert dict(ledger.outcomes()) == {"t.py::flaky": "flaky", "t.py::cut": "failed"}
    assert ledger.attempts("t.py::cut") == [
        Attempt(
            "failed",
            1.0,
            "call",
            "AssertionError: t.py::cut broke",
            "gw3",
            Failure(None, "", None, None, None, "E   AssertionError: t.py::cut broke"),
        )
    ]
    assert ledger.durations["t.py::cut"] == 1.0
    assert ledger.unfinished() == []


def test_a_new_test_that_passes_then_fails_a_repetition_is_flaky() -> None:
    """Passed attempts followed by a repetition are logged as ``repeat``: each closes an
    attempt, none is the last; a failure after passes is as flaky as a pass after failures."""
    ledger = Ledger()
    ledger.set_selected(["t.py::new", "t.py::steady"])
    for nodeid, last in (("t.py::new", "failed"), ("t.py::steady", "passed")):
        for outcome in (REPEAT, REPEAT, last):
            ledger.record(_made(nodeid, "setup", "passed", 0.5))
            ledger.record(_made(nodeid, "call", outcome, 1.0, longrepr=_crashed("E: x")))
        ledger.record(_made(nodeid, "teardown", "passed", 0.25))
    ledger.finish()
    assert ledger.outcome("t.py::new") == "flaky"
    assert ledger.outcome("t.py::steady") == "passed"
    assert [(a.outcome, a.duration) for a in ledger.attempts("t.py::new")] == [
        ("passed", 1.5),
        ("passed", 1.5),
        ("failed", 1.75),
    ]
    assert ledger.durations["t.py::new"] == 4.75
    assert ledger.counts() == {"flaky": 1, "passed": 1}


def test_past_the_runs_limit_a_failure_keeps_only_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run keeps at most ``REPORT_LIMIT`` characters of failure detail in all; the
    attempts past it keep their one-line error, and the ledger counts them."""
    monkeypatch.setattr("pytest_atom_gates.ledger.REPORT_LIMIT", 60)
    ledger = Ledger()
    names = [f"t.py::test_{n}" for n in range(3)]
    ledger.set_selected(names)
    for nodeid in names:  # each failure's traceback is 38 characters long
        ledger.record(_made(nodeid, "setup", "passed", 0.0))
        ledger.record(_made(nodeid, "call", "failed", 0.0))
        ledger.record(_made(nodeid, "teardown", "passed", 0.0))
    ledger.finish()
    kept = [ledger.attempts(n)[0].failure for n in names]
    assert [f is not None for f in kept] == [True, True, False]
    assert [ledger.attempts(n)[0].error for n in names] == [
        f"AssertionError: {n} broke" for n in names
    ]
    assert ledger.failures_left_out == 1
