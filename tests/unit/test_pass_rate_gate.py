"""TQ-02 arithmetic and classification, without a pytest run."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from pytest_atom_gates.gates.base import Verdict
from pytest_atom_gates.gates.numbers import format_percent, meets_minimum
from pytest_atom_gates.gates.pass_rate import PassRateGate
from pytest_atom_gates.ledger import RERUN, CollectionError
from tests.unit.builders import attempt, facts_of, ledger_of, make_settings


def _passing(count: int) -> list[list[pytest.TestReport]]:
    return [attempt(f"t.py::p{n}") for n in range(count)]


def test_exact_minimum_passes_and_one_less_fails() -> None:
    ledger = ledger_of(*_passing(49), attempt("t.py::f", "failed"))
    verdict = PassRateGate().evaluate(
        facts_of(ledger, settings=make_settings(min_pass_rate=Decimal(98)))
    )
    assert (verdict.verdict, verdict.measured) == (Verdict.PASS, "98.00 % (49/50)")
    ledger = ledger_of(*_passing(48), attempt("t.py::f", "failed"), attempt("t.py::g", "failed"))
    verdict = PassRateGate().evaluate(facts_of(ledger))
    assert (verdict.verdict, verdict.measured, verdict.reason) == (
        Verdict.FAIL,
        "96.00 % (48/50)",
        "2 tests of 50 did not pass, below the minimum of 98 %",
    )


def test_skips_and_xfails_leave_the_denominator_flaky_counts_as_passed() -> None:
    flaky = [*attempt("t.py::flaky", RERUN), *attempt("t.py::flaky")]
    ledger = ledger_of(attempt("t.py::ok"), flaky, attempt("t.py::skip", "skipped", phase="setup"))
    verdict = PassRateGate().evaluate(
        facts_of(ledger, settings=make_settings(min_pass_rate=Decimal(100)))
    )
    assert (verdict.verdict, verdict.measured) == (Verdict.PASS, "100.00 % (2/2)")
    assert verdict.data["flaky"] == 1
    assert verdict.data["skipped"] == 1
    assert verdict.data["counted"] == 2


def test_tests_that_did_not_run_stay_in_the_denominator() -> None:
    ledger = ledger_of(*_passing(3), selected=["t.py::p0", "t.py::p1", "t.py::p2", "t.py::never"])
    verdict = PassRateGate().evaluate(facts_of(ledger))
    assert (verdict.verdict, verdict.measured) == (Verdict.FAIL, "75.00 % (3/4)")
    assert verdict.reason == (
        "1 test of 4 did not pass, below the minimum of 98 %; 1 selected test did not run"
    )


def test_nothing_selected_fails() -> None:
    verdict = PassRateGate().evaluate(facts_of(ledger_of(selected=[])))
    assert (verdict.verdict, verdict.measured, verdict.reason) == (
        Verdict.FAIL,
        "n/a (0 tests counted)",
        "nothing ran: no tests were selected",
    )


@pytest.mark.parametrize(
    ("partial", "strict", "expected"),
    [
        ("node id t.py::s", False, Verdict.WARN),
        ("node id t.py::s", True, Verdict.FAIL),
        (None, False, Verdict.FAIL),
    ],
)
def test_nothing_counted_warns_only_on_a_partial_run(
    partial: str | None, strict: bool, expected: Verdict
) -> None:
    ledger = ledger_of(attempt("t.py::s", "skipped", phase="setup"))
    facts = facts_of(ledger, settings=make_settings(strict=strict), partial_reason=partial)
    verdict = PassRateGate().evaluate(facts)
    assert verdict.verdict is expected
    assert verdict.reason is not None
    assert verdict.reason.startswith(
        "nothing ran: the 1 selected test was skipped, xfailed or xpassed"
    )


def test_a_collection_error_fails_a_partial_run_whose_only_test_was_skipped() -> None:
    """Only a lone skipped test is forgiven on a partial run: a broken module is not."""
    ledger = ledger_of(attempt("t.py::s", "skipped", phase="setup"))
    ledger.collection_errors.append(CollectionError("t_bad.py", "SyntaxError: invalid syntax"))
    facts = facts_of(ledger, partial_reason="node id t.py::s")
    verdict = PassRateGate().evaluate(facts)
    assert (verdict.verdict, verdict.measured, verdict.reason) == (
        Verdict.FAIL,
        "n/a (0 tests counted)",
        "collection failed: 1 error (first: t_bad.py: SyntaxError: invalid syntax); "
        "nothing ran: the 1 selected test was skipped, xfailed or xpassed",
    )


def test_an_interrupted_run_fails_even_at_100_percent() -> None:
    ledger = ledger_of(*_passing(2))
    verdict = PassRateGate().evaluate(facts_of(ledger, interrupted="SIGTERM"))
    assert (verdict.verdict, verdict.reason) == (Verdict.FAIL, "run interrupted (SIGTERM)")


def test_quarantined_tests_count_for_nothing() -> None:
    ledger = ledger_of(attempt("t.py::ok"), attempt("t.py::bad", "failed"))
    verdict = PassRateGate().evaluate(facts_of(ledger, quarantined={"t.py::bad": "known"}))
    assert (verdict.verdict, verdict.measured) == (Verdict.PASS, "100.00 % (1/1)")


@pytest.mark.parametrize(
    ("passed", "counted", "minimum", "meets", "shown"),
    [
        (98, 100, "98", True, "98.00 %"),
        (97, 100, "98", False, "97.00 %"),
        (2, 3, "66.67", False, "66.66 %"),
        (2, 3, "66.66", True, "66.66 %"),
        (1, 3, "33.333333333333333333334", False, "33.33 %"),
    ],
)
def test_comparison_is_exact_and_display_rounds_down(
    passed: int, counted: int, minimum: str, meets: bool, shown: str
) -> None:
    assert meets_minimum(passed, counted, Decimal(minimum)) is meets
    assert format_percent(passed, counted) == shown


@pytest.mark.parametrize("minimum", ["0", "50", "66.67", "98", "99.5", "100", "-5"])
@pytest.mark.parametrize(("numerator", "denominator"), [(1, 2), (2, 3), (-1, -2), (3, -4), (0, 7)])
def test_the_comparison_agrees_with_exact_fractions(
    numerator: int, denominator: int, minimum: str
) -> None:
    """Integer arithmetic gives what ``Fraction`` gives, signs included."""
    expected = Fraction(numerator * 100, denominator) >= Fraction(Decimal(minimum))
    assert meets_minimum(numerator, denominator, Decimal(minimum)) is expected


def test_a_comparison_over_no_tests_is_refused_as_by_fractions() -> None:
    with pytest.raises(ZeroDivisionError, match=r"^3 / 0$"):
        meets_minimum(3, 0, Decimal(98))
