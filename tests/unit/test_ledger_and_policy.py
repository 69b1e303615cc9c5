"""The ledger's outcome merging, the rerun policy and the outage cap, without a pytest run."""

from __future__ import annotations

from pytest_atom_gates.ledger import CRASH_PHASE, RERUN, Ledger
from pytest_atom_gates.outcomes import FAILED, FLAKY, NOT_RUN, PASSED, SKIPPED, XFAILED, XPASSED
from pytest_atom_gates.protocol import OutageCap, RerunPolicy
from tests.unit.builders import attempt, ledger_of, make_settings, report


def test_final_outcomes_after_reruns() -> None:
    ledger = ledger_of(
        attempt("t.py::ok"),
        [*attempt("t.py::flaky", RERUN), *attempt("t.py::flaky")],
        [*attempt("t.py::broken", RERUN), *attempt("t.py::broken", "failed")],
        attempt("t.py::skip", "skipped", phase="setup"),
        attempt("t.py::setup_error", "failed", phase="setup"),
        attempt("t.py::teardown_error", "failed", phase="teardown"),
        selected=[
            "t.py::ok",
            "t.py::flaky",
            "t.py::broken",
            "t.py::skip",
            "t.py::setup_error",
            "t.py::teardown_error",
            "t.py::never",
        ],
    )
    assert dict(ledger.outcomes()) == {
        "t.py::ok": PASSED,
        "t.py::flaky": FLAKY,
        "t.py::broken": FAILED,
        "t.py::skip": SKIPPED,
        "t.py::setup_error": FAILED,
        "t.py::teardown_error": FAILED,
        "t.py::never": NOT_RUN,
    }
    assert [a.outcome for a in ledger.attempts("t.py::broken")] == [FAILED, FAILED]
    assert ledger.last_error("t.py::broken") == "AssertionError: t.py::broken broke"
    assert ledger.failure_count() == 4


def test_xfail_and_xpass() -> None:
    ledger = ledger_of(
        [
            report("t.py::xf", "setup"),
            report("t.py::xf", "call", "skipped", wasxfail="bug"),
            report("t.py::xf", "teardown"),
        ],
        [
            report("t.py::xp", "setup"),
            report("t.py::xp", "call", wasxfail=""),
            report("t.py::xp", "teardown"),
        ],
    )
    assert dict(ledger.outcomes()) == {"t.py::xf": XFAILED, "t.py::xp": XPASSED}


def test_durations_sum_the_phases() -> None:
    ledger = Ledger()
    for when, own in (("setup", 0.1), ("call", 0.2), ("teardown", 0.3)):
        ledger.record(report("t.py::a", when, duration=own))
    assert round(ledger.durations["t.py::a"], 6) == 0.6


def test_a_failure_whose_teardown_never_came_is_failed() -> None:
    ledger = Ledger()
    ledger.set_selected(["t.py::a"])
    ledger.record(report("t.py::a", "setup"))
    ledger.record(report("t.py::a", "call", "failed"))
    ledger.finish()
    assert ledger.outcome("t.py::a") == FAILED


def test_a_test_that_started_and_passed_but_never_finished_did_not_run() -> None:
    ledger = Ledger()
    ledger.set_selected(["t.py::a"])
    ledger.record(report("t.py::a", "setup"))
    ledger.finish()
    assert ledger.outcome("t.py::a") == NOT_RUN
    assert ledger.unfinished() == ["t.py::a"]


def test_a_crashed_worker_report_fails_the_test_and_sequences_are_per_process() -> None:
    ledger = Ledger()
    ledger.set_selected(["t.py::a", "t.py::b", "t.py::c"])
    for made in attempt("t.py::a"):
        ledger.record(made, "gw0")
    ledger.record(report("t.py::b", "setup"), "gw0")
    ledger.record(report("t.py::b", CRASH_PHASE, "failed"), "gw0")
    for made in attempt("t.py::c"):
        ledger.record(made, "gw1")
    ledger.finish()
    assert ledger.outcome("t.py::b") == FAILED
    assert ledger.attempts("t.py::b")[0].phase == "crash"
    assert list(ledger.ran_before("t.py::b")) == ["t.py::a"]
    assert list(ledger.ran_before("t.py::c")) == []
    assert ledger.process_of("t.py::c") == "gw1"


def test_the_outage_cap_is_reached_at_the_minimum_and_above_the_share() -> None:
    cap = OutageCap(share=0.2, minimum=10)
    for _ in range(9):
        cap.started += 1
        cap.first_attempt_failed()
    assert cap.reached is None
    cap.started += 1
    cap.first_attempt_failed()
    assert cap.reached == (
        "reruns stopped: 10 of 10 tests failed their first attempt (cap 20%, at least 10)"
    )
    assert cap.announcement() == cap.reached
    assert cap.announcement() is None


def test_the_outage_cap_needs_more_than_the_share() -> None:
    cap = OutageCap(share=0.2, minimum=2)
    cap.started = 10
    cap.first_attempt_failed()
    cap.first_attempt_failed()  # 2 of 10 is the share itself, not more
    assert cap.reached is None
    cap.first_attempt_failed()
    assert cap.reached is not None


def test_rerun_budget_from_settings_and_markers() -> None:
    import pytest

    policy = RerunPolicy(make_settings(reruns=2, rerun_delay=1.0))
    assert policy.budget({}) == (2, 1.0)
    marker = pytest.Mark("atom_gates_reruns", (5,), {"delay": 0.5}, _ispytest=True)
    assert policy.budget({"atom_gates_reruns": marker}) == (5, 0.5)
    legacy = pytest.Mark("flaky", (), {"reruns": 3, "reruns_delay": 2}, _ispytest=True)
    assert policy.budget({"flaky": legacy}) == (2, 1.0)
    honoured = RerunPolicy(make_settings(), honour_rerunfailures_marker=True)
    assert honoured.budget({"flaky": legacy}) == (3, 2.0)


def test_rerun_filters() -> None:
    import re
    from types import SimpleNamespace

    def failure(message: str) -> object:
        made = report("t.py::a", "call", "failed")
        made.longrepr = SimpleNamespace(reprcrash=SimpleNamespace(message=message))  # type: ignore[assignment]
        return made

    network, logic = failure("ConnectionError: reset"), failure("AssertionError: 1 != 2")
    only = RerunPolicy(make_settings(rerun_only=(re.compile("Connection"),)))
    assert (only.excludes(network), only.excludes(logic)) == (False, True)  # type: ignore[arg-type]
    excepting = RerunPolicy(make_settings(rerun_except=(re.compile("Assertion"),)))
    assert (excepting.excludes(network), excepting.excludes(logic)) == (False, True)  # type: ignore[arg-type]
    assert RerunPolicy(make_settings()).excludes(logic) is False  # type: ignore[arg-type]
