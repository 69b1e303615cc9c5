"""TQ-01, TQ-03, TQ-04 and gate modes, without a pytest run."""

from __future__ import annotations

from pytest_atom_gates.gates import evaluate
from pytest_atom_gates.gates.base import GateVerdict, Verdict, apply_mode
from pytest_atom_gates.gates.determinism import DeterminismGate, RerunFacts
from pytest_atom_gates.gates.duration import DurationGate, over_test_budget
from pytest_atom_gates.gates.independence import (
    FAILS_ALONE,
    INCONCLUSIVE,
    ORDER_DEPENDENT,
    IndependenceGate,
    OrderChecks,
)
from pytest_atom_gates.gates.order_findings import AloneCheck
from pytest_atom_gates.gates.pass_rate import PassRateGate
from pytest_atom_gates.ledger import RERUN
from pytest_atom_gates.settings import FlakyLimit, GateMode
from tests.unit.builders import attempt, facts_of, ledger_of, make_settings

# -- TQ-03 ------------------------------------------------------------------------------------


def test_duration_within_and_over_budget() -> None:
    ledger = ledger_of(attempt("t.py::a"))
    settings = make_settings(max_duration=10.0)
    assert (
        DurationGate().evaluate(facts_of(ledger, settings=settings, elapsed=10.0)).verdict
        is Verdict.PASS
    )
    over = DurationGate().evaluate(facts_of(ledger, settings=settings, elapsed=10.5))
    assert (over.verdict, over.measured, over.reason) == (
        Verdict.FAIL,
        "10.5 s",
        "the session took 10.5 s, over its budget of 10.0 s",
    )


def test_per_test_budget_is_per_attempt() -> None:
    slow_each = [
        *attempt("t.py::flaky", RERUN, duration=0.1),
        *attempt("t.py::flaky", duration=0.1),
    ]
    ledger = ledger_of(slow_each, attempt("t.py::slow", duration=0.2))
    facts = facts_of(ledger, settings=make_settings(max_test_duration=0.35))
    # flaky: two attempts of 0.2 s (0.1 s per phase), 0.4 s in all; slow: one attempt of 0.6 s
    assert [n for n, _ in over_test_budget(facts)] == ["t.py::slow"]
    verdict = DurationGate().evaluate(facts)
    assert verdict.verdict is Verdict.FAIL
    assert verdict.required == "<= 3600 s, each test <= 0.35 s"
    assert verdict.reason == "1 over the per-test budget: t.py::slow (0.60 s)"


def test_a_budget_stop_fails_tq03() -> None:
    verdict = DurationGate().evaluate(facts_of(ledger_of(attempt("t.py::a")), budget_stop=True))
    assert (verdict.verdict, verdict.reason) == (
        Verdict.FAIL,
        "the budget ran out and the run was stopped before every test ran",
    )


# -- TQ-04 ------------------------------------------------------------------------------------


def _flaky(name: str) -> list:
    return [*attempt(name, RERUN), *attempt(name)]


def test_flaky_tests_warn_and_fail_past_the_limit() -> None:
    ledger = ledger_of(_flaky("t.py::a"), _flaky("t.py::b"), attempt("t.py::ok"))
    warn = DeterminismGate().evaluate(facts_of(ledger))
    assert (warn.verdict, warn.measured, warn.reason) == (
        Verdict.WARN,
        "2 flaky",
        "flaky: t.py::a, t.py::b",
    )
    limited = make_settings(max_flaky=FlakyLimit(count=1))
    fail = DeterminismGate().evaluate(facts_of(ledger, settings=limited))
    assert (fail.verdict, fail.reason) == (Verdict.FAIL, "2 flaky tests, more than the 1 allowed")
    allowed = make_settings(max_flaky=FlakyLimit(count=2))
    assert DeterminismGate().evaluate(facts_of(ledger, settings=allowed)).verdict is Verdict.WARN


def test_a_percentage_limit_rounds_the_allowance_down() -> None:
    from decimal import Decimal

    ledger = ledger_of(_flaky("t.py::a"), *[attempt(f"t.py::p{n}") for n in range(48)])
    settings = make_settings(max_flaky=FlakyLimit(percent=Decimal(2)))
    verdict = DeterminismGate().evaluate(facts_of(ledger, settings=settings))
    assert verdict.required == "<= 2 % flaky (0 of 49)"
    assert verdict.verdict is Verdict.FAIL


def test_the_flaky_share_counts_only_what_tq02_counts() -> None:
    """xfailed and xpassed tests are not counted by TQ-02, nor in TQ-04's percentage."""
    from decimal import Decimal

    passed = [attempt(f"t.py::p{n}") for n in range(48)]
    xfailed = [attempt(f"t.py::x{n}", "skipped", wasxfail="known") for n in range(50)]
    ledger = ledger_of(_flaky("t.py::a"), _flaky("t.py::b"), *passed, *xfailed)
    settings = make_settings(max_flaky=FlakyLimit(percent=Decimal(2)))
    verdict = DeterminismGate().evaluate(facts_of(ledger, settings=settings))
    assert (verdict.verdict, verdict.required, verdict.reason) == (
        Verdict.FAIL,
        "<= 2 % flaky (1 of 50)",
        "2 flaky tests, more than the 1 allowed",
    )


def test_no_flaky_tests_pass_and_reruns_off_warns() -> None:
    ledger = ledger_of(attempt("t.py::ok"))
    assert DeterminismGate().evaluate(facts_of(ledger)).verdict is Verdict.PASS
    off = facts_of(ledger, settings=make_settings(reruns=0, reruns_off_by="--pdb"))
    off.extras["reruns"] = RerunFacts(0)
    verdict = DeterminismGate().evaluate(off)
    assert (verdict.verdict, verdict.measured, verdict.reason) == (
        Verdict.WARN,
        "reruns off",
        "reruns are off (--pdb): flakiness was not measured",
    )


# -- TQ-01 ------------------------------------------------------------------------------------


def _checks(*results: str) -> OrderChecks:
    return OrderChecks([AloneCheck(f"t.py::f{n}", r, "detail") for n, r in enumerate(results)])


def test_order_dependent_fails_inconclusive_warns_fails_alone_passes() -> None:
    ledger = ledger_of(attempt("t.py::f0", "failed"))
    for results, expected in (
        ((ORDER_DEPENDENT,), Verdict.FAIL),
        ((INCONCLUSIVE,), Verdict.WARN),
        ((FAILS_ALONE,), Verdict.PASS),
    ):
        facts = facts_of(ledger)
        facts.extras["order_checks"] = _checks(*results)
        assert IndependenceGate().evaluate(facts).verdict is expected, results


def test_unchecked_failures_warn_with_the_reason() -> None:
    facts = facts_of(ledger_of(attempt("t.py::f0", "failed")))
    facts.extras["order_checks"] = OrderChecks(unchecked=["t.py::f0"], skipped_reason="budget")
    verdict = IndependenceGate().evaluate(facts)
    assert (verdict.verdict, verdict.measured, verdict.reason) == (
        Verdict.WARN,
        "0 order-dependent (0 of 1 failed tests rerun alone)",
        "1 failed tests not rerun alone: budget",
    )


def test_victims_and_brittle_tests_fail_with_each_direction_named() -> None:
    facts = facts_of(ledger_of(*[attempt(f"t.py::f{n}", "failed") for n in range(6)]))
    victim = AloneCheck("t.py::f0", ORDER_DEPENDENT, "passed when run alone")
    brittle = [AloneCheck(f"t.py::f{n}", ORDER_DEPENDENT, "", brittle=True) for n in range(1, 6)]
    facts.extras["order_checks"] = OrderChecks([victim, *brittle])
    assert IndependenceGate().evaluate(facts).reason == (
        "failed in the shuffled run, passed alone: t.py::f0; failed alone too, passed after "
        "earlier tests in file order: t.py::f1, t.py::f2, t.py::f3 and 2 more"
    )


def test_a_failed_test_not_rerun_in_file_order_warns_with_the_reason() -> None:
    facts = facts_of(ledger_of(attempt("t.py::f0", "failed")))
    check = AloneCheck("t.py::f0", FAILS_ALONE, "", search="not-analysed", search_detail="budget")
    facts.extras["order_checks"] = OrderChecks([check])
    verdict = IndependenceGate().evaluate(facts)
    assert (verdict.verdict, verdict.reason) == (
        Verdict.WARN,
        "1 test that failed alone too was not rerun in file order (budget)",
    )


def test_a_run_in_file_order_cannot_pass_independence() -> None:
    facts = facts_of(ledger_of(attempt("t.py::f0", "passed")), settings=make_settings(order="file"))
    verdict = IndependenceGate().evaluate(facts)
    assert (verdict.verdict, verdict.reason) == (
        Verdict.WARN,
        "the tests ran in file order (--atom-gates-order=file): nothing was shuffled, so their "
        "independence was not tested",
    )
    facts.extras["order_checks"] = _checks(ORDER_DEPENDENT)
    assert IndependenceGate().evaluate(facts).verdict is Verdict.FAIL


# -- modes ------------------------------------------------------------------------------------


def test_warn_mode_turns_a_fail_into_a_warning_and_off_skips_the_gate() -> None:
    failed = GateVerdict("TQ-02", Verdict.FAIL, "m", "r", "why")
    warned = apply_mode(failed, GateMode.WARN)
    assert (warned.verdict, warned.reason, warned.fails_run) == (
        Verdict.WARN,
        "why (not enforced: mode warn)",
        False,
    )
    assert apply_mode(failed, GateMode.ENFORCE).fails_run is True
    ledger = ledger_of(attempt("t.py::bad", "failed"))
    settings = make_settings(modes={"TQ-02": GateMode.OFF})
    (verdict,) = evaluate([PassRateGate()], facts_of(ledger, settings=settings))
    assert (verdict.verdict, verdict.reason) == (Verdict.OFF, "switched off")


class _ExtensionLike:
    """A gate outside TQ-01..05, with a default mode and a title, as an extension's is."""

    id = "SK-01"
    title = "skipped tests"

    def __init__(self, default_mode: GateMode) -> None:
        self.default_mode = default_mode

    def evaluate(self, facts: object) -> GateVerdict:
        return GateVerdict("SK-01", Verdict.FAIL, "3 %", "<= 2 %", "3 of 100", title=self.title)


def test_a_gate_of_its_own_takes_its_default_mode_unless_the_settings_name_one() -> None:
    facts = facts_of(ledger_of(attempt("t.py::a", "passed")))
    (verdict,) = evaluate([_ExtensionLike(GateMode.WARN)], facts)
    assert (verdict.verdict, verdict.mode, verdict.reason) == (
        Verdict.WARN,
        GateMode.WARN,
        "3 of 100 (not enforced: mode warn)",
    )
    assert verdict.name == "skipped tests"
    enforced = facts_of(
        ledger_of(attempt("t.py::a", "passed")),
        settings=make_settings(modes={"SK-01": GateMode.ENFORCE}),
    )
    (verdict,) = evaluate([_ExtensionLike(GateMode.WARN)], enforced)
    assert (verdict.verdict, verdict.fails_run) == (Verdict.FAIL, True)
    off = facts_of(
        ledger_of(attempt("t.py::a", "passed")),
        settings=make_settings(modes={"SK-01": GateMode.OFF}),
    )
    (verdict,) = evaluate([_ExtensionLike(GateMode.ENFORCE)], off)
    assert (verdict.verdict, verdict.name, verdict.reason) == (
        Verdict.OFF,
        "skipped tests",
        "switched off",
    )


def test_a_verdict_is_named_by_its_title_else_by_its_gate() -> None:
    assert GateVerdict("TQ-02", Verdict.PASS, "-", "-").name == "pass rate"
    assert GateVerdict("SK-01", Verdict.PASS, "-", "-").name == "SK-01"
    assert GateVerdict("SK-01", Verdict.PASS, "-", "-", title="skipped").name == "skipped"


def test_every_process_that_stopped_its_reruns_is_in_the_reason_once() -> None:
    facts = facts_of(ledger_of(attempt("t.py::ok")))
    capped = ["gw0: reruns stopped: 10 of 12", "gw1: reruns stopped: 10 of 11"]
    facts.extras["reruns"] = RerunFacts(2, capped)
    verdict = DeterminismGate().evaluate(facts)
    assert verdict.reason == "gw0: reruns stopped: 10 of 12; gw1: reruns stopped: 10 of 11"


def test_the_slowest_list_ranks_a_test_by_its_longest_run() -> None:
    from pytest_atom_gates.attempts import Attempt
    from pytest_atom_gates.ledger import Ledger
    from pytest_atom_gates.outcomes import FAILED, PASSED
    from pytest_atom_gates.reporting.terminal import _slowest

    ledger = Ledger()
    runs = [Attempt(FAILED, 0.3), Attempt(FAILED, 0.3), Attempt(PASSED, 0.4)]
    ledger.restore("t.py::repeated", runs, "main")
    ledger.restore("t.py::slow", [Attempt(PASSED, 0.5)], "main")
    ledger.restore("t.py::quick", [Attempt(PASSED, 0.1)], "main")
    lines: list[str] = []
    _slowest(lambda text, **markup: lines.append(text), ledger, 2)
    # By the sum of its runs (1.00 s) the repeated test would come first.
    assert lines == [
        "",
        "slowest 2 tests:",
        "     0.50 s  t.py::slow",
        "     0.40 s  t.py::repeated (3 runs, 1.00 s in all)",
    ]
