"""The rules that keep TQ-01 honest where features meet, as pure logic: confirmations of a set
found, flaky tests settled as order-dependent, the repetitions a check replays, the launcher a
check repeats, and TQ-01's and TQ-04's verdicts over replayed flaky tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from pytest_atom_gates.gates.base import GateVerdict, Verdict
from pytest_atom_gates.gates.determinism import DeterminismGate, RerunFacts
from pytest_atom_gates.gates.independence import (
    CHANCE,
    ORDER_DEPENDENT,
    IndependenceGate,
    OrderChecks,
)
from pytest_atom_gates.gates.order_findings import AloneCheck
from pytest_atom_gates.invocation import Launcher
from pytest_atom_gates.ledger import REPEAT, RERUN
from pytest_atom_gates.outcomes import FLAKY, PASSED
from pytest_atom_gates.pollution import (
    FLAKY_IN_ORDER,
    FOUND,
    INCONCLUSIVE,
    NOT_ANALYSED,
    PolluterSearch,
    Replays,
    StopSearch,
    confirm,
    confirm_alone,
    confirm_replayed,
)
from tests.unit.builders import attempt, facts_of, ledger_of

FOUND_A = PolluterSearch("t.py::victim", FOUND, ("t.py::a",), 3)


def answers(*values: bool | None) -> Iterator[bool | None]:
    return iter(values)


def replays(after: Iterator[bool | None], alone: Iterator[bool | None]) -> Replays:
    def fails_after(tests: Sequence[str]) -> bool | None:
        assert tuple(tests) == ("t.py::a",)
        return next(after)

    return Replays(fails_after, lambda: next(alone))


def test_a_set_that_replays_every_time_is_confirmed_by_six_more_runs() -> None:
    confirmed = confirm(FOUND_A, replays(answers(True, True, True), answers(True, True, True)))
    assert confirmed == PolluterSearch("t.py::victim", FOUND, ("t.py::a",), 3, "", 6)


def test_the_first_contradiction_makes_it_chance_with_the_counts() -> None:
    # Asked in turn: alone (passes), after (fails), alone (fails: contradicts).
    found = confirm(FOUND_A, replays(answers(True), answers(True, False)))
    assert found == PolluterSearch(
        "t.py::victim",
        FLAKY_IN_ORDER,
        (),
        6,
        "failed after t.py::a in 2 of 2 runs, passed alone in 2 of 3: chance, not order",
    )
    after = confirm(FOUND_A, replays(answers(False), answers(True)))
    assert after.detail == (
        "failed after t.py::a in 1 of 2 runs, passed alone in 2 of 2: chance, not order"
    )
    brittle = Replays(lambda tests: False, lambda: True, "passed after", "failed alone")
    assert confirm(FOUND_A, brittle).detail == (
        "passed after t.py::a in 1 of 2 runs, failed alone in 2 of 2: chance, not order"
    )


def test_a_budget_spent_while_confirming_keeps_the_set_once_both_replayed() -> None:
    def spent(tests: Sequence[str]) -> bool:
        raise StopSearch(NOT_ANALYSED, "limit of 9 questions")

    # Alone passed again, then the budget stopped the run after the set: neither side has
    # replayed both ways, so there is no verdict.
    assert confirm(FOUND_A, Replays(spent, lambda: True)) == PolluterSearch(
        "t.py::victim",
        INCONCLUSIVE,
        ("t.py::a",),
        3,
        "not confirmed: 1 of 6 runs agreed, then limit of 9 questions",
        1,
    )
    after = answers(True)

    def once_then_spent(tests: Sequence[str]) -> bool | None:
        answer = next(after, None)
        if answer is None:
            raise StopSearch(NOT_ANALYSED, "limit of 9 questions")
        return answer

    kept = confirm(FOUND_A, Replays(once_then_spent, lambda: True))
    assert (kept.result, kept.polluters, kept.confirmations) == (FOUND, ("t.py::a",), 3)
    assert kept.detail == "not confirmed: 3 of 6 runs agreed, then limit of 9 questions"
    silent = confirm(FOUND_A, replays(answers(None), answers(True)))
    assert silent.result == INCONCLUSIVE
    assert silent.detail == (
        "not confirmed: 1 of 6 runs agreed, then confirmation run 2 gave no result"
    )


def test_only_a_found_set_is_confirmed() -> None:
    for result in (FLAKY_IN_ORDER, INCONCLUSIVE, NOT_ANALYSED):
        search = PolluterSearch("t.py::victim", result, (), 2, "why")
        assert confirm(search, replays(answers(), answers())) is search


def test_a_victim_with_nothing_before_it_must_pass_alone_four_times() -> None:
    first = PolluterSearch("t.py::victim", FLAKY_IN_ORDER, (), 0, "nothing ran before it")
    three_passes = answers(True, True, True)  # a fourth question would be one too many
    assert confirm_alone(first, lambda: next(three_passes)).confirmations == 3
    passes = answers(True, False)
    assert confirm_alone(first, lambda: next(passes)) == PolluterSearch(
        "t.py::victim",
        FLAKY_IN_ORDER,
        (),
        2,
        "passed alone in 2 of 3 runs: chance, not order",
    )
    assert confirm_alone(first, lambda: None).confirmations == 0


def test_a_replay_with_nothing_before_it_must_fail_again_and_the_test_pass_alone() -> None:
    first = PolluterSearch("t.py::victim", FLAKY_IN_ORDER, (), 0, "nothing ran before it")

    def replayed(after: Iterator[bool | None], alone: Iterator[bool | None]) -> Replays:
        def fails_again(tests: Sequence[str]) -> bool | None:
            assert tuple(tests) == ()  # the replay is the set: no test is named
            return next(after)

        return Replays(fails_again, lambda: next(alone), "failed again in the replay")

    # Both sides replay three more times: it stays what it was, four times confirmed each.
    both = replayed(answers(True, True, True), answers(True, True, True))
    assert confirm_replayed(first, both) == PolluterSearch(
        "t.py::victim", FLAKY_IN_ORDER, (), 0, "nothing ran before it", 6
    )
    # Passing alone, then passing in the replay: one question, two answers, chance.
    assert confirm_replayed(first, replayed(answers(False), answers(True))) == PolluterSearch(
        "t.py::victim",
        FLAKY_IN_ORDER,
        (),
        2,
        "failed again in the replay in 1 of 2 runs, passed alone in 2 of 2: chance, not order",
    )
    # No answer before either side replayed once more: inconclusive, as a set found would be.
    assert confirm_replayed(first, replayed(answers(), answers(None))) == PolluterSearch(
        "t.py::victim",
        INCONCLUSIVE,
        (),
        0,
        "not confirmed: 0 of 6 runs agreed, then confirmation run 1 gave no result",
    )
    # Each side replayed once more, then no answer: it stays, saying how far it was confirmed.
    assert confirm_replayed(
        first, replayed(answers(True, None), answers(True, True))
    ) == PolluterSearch(
        "t.py::victim",
        FLAKY_IN_ORDER,
        (),
        0,
        "nothing ran before it; not confirmed: 3 of 6 runs agreed, then confirmation run 4 gave "
        "no result",
        3,
    )


def _flaky_ledger():  # type: ignore[no-untyped-def]
    return ledger_of(
        attempt("t.py::polluter"),
        [*attempt("t.py::victim", RERUN), *attempt("t.py::victim")],
        [*attempt("t.py::random", RERUN), *attempt("t.py::random")],
    )


def test_a_flaky_test_found_order_dependent_ends_passed_not_flaky() -> None:
    ledger = _flaky_ledger()
    ledger.settle_order_dependent(["t.py::victim", "t.py::polluter"])
    assert ledger.outcome("t.py::victim") == PASSED
    assert ledger.with_outcome(FLAKY) == ["t.py::random"]
    assert ledger.counts() == {PASSED: 2, FLAKY: 1}
    assert [a.outcome for a in ledger.attempts("t.py::victim")] == ["failed", "passed"]


def test_the_repetitions_a_check_replays() -> None:
    ledger = ledger_of(
        [
            *attempt("t.py::stable", REPEAT),
            *attempt("t.py::stable", REPEAT),
            *attempt("t.py::stable"),
        ],
        [*attempt("t.py::flaky", REPEAT), *attempt("t.py::flaky", "failed")],
        [*attempt("t.py::rerun", RERUN), *attempt("t.py::rerun")],
        attempt("t.py::once"),
    )
    assert ledger.repetitions() == {"t.py::stable": 2, "t.py::flaky": 1}


def test_a_check_starts_pytest_as_the_session_was_started(tmp_path: Path) -> None:
    elsewhere = str(tmp_path / "venv" / "bin")
    module = Launcher.of_session(tmp_path, [elsewhere, str(tmp_path)])
    script = Launcher.of_session(tmp_path, [elsewhere, str(tmp_path / "src")])
    assert module == Launcher(module=True)
    assert script == Launcher(module=False)
    assert module.child("py") == ["py", "-m", "pytest"]
    assert script.child("py")[:2] == ["py", "-c"]
    assert "del sys.path[0]" in script.child("py")[2]
    assert (module.shown, script.shown) == (["python", "-m", "pytest"], ["pytest"])


def test_tq01_counts_replayed_flaky_tests_and_warns_for_those_left_unchecked() -> None:
    facts = facts_of(_flaky_ledger())
    facts.extras["order_checks"] = OrderChecks(
        [
            AloneCheck("t.py::victim", ORDER_DEPENDENT, "passed when run alone", origin=FLAKY),
            AloneCheck("t.py::random", CHANCE, "passed again", origin=FLAKY),
        ],
    )
    assert IndependenceGate().evaluate(facts) == GateVerdict(
        "TQ-01",
        Verdict.FAIL,
        "1 order-dependent (0 of 0 failed tests rerun alone, 2 of 2 flaky tests replayed)",
        "no order-dependent tests",
        "failed in the shuffled run, passed alone: t.py::victim",
        data={
            "seed": 1,
            "failed": 0,
            "checked": 0,
            "order_dependent": ["t.py::victim"],
            "unchecked": [],
            "flaky_replayed": 2,
            "flaky_unchecked": [],
            "engine": None,
        },
    )
    facts.extras["order_checks"] = OrderChecks(
        flaky_unchecked=["t.py::victim", "t.py::random"], flaky_reason="the budget is spent"
    )
    verdict = IndependenceGate().evaluate(facts)
    assert (verdict.verdict, verdict.measured, verdict.reason) == (
        Verdict.WARN,
        "0 order-dependent (0 of 0 failed tests rerun alone, 0 of 2 flaky tests replayed)",
        "2 flaky tests, order not checked: the budget is spent",
    )


def test_a_new_test_settled_as_order_dependent_no_longer_fails_tq04() -> None:
    ledger = _flaky_ledger()
    facts = facts_of(ledger)
    facts.extras["reruns"] = RerunFacts(2, new_flaky=["t.py::victim", "t.py::random"])
    ledger.settle_order_dependent(["t.py::victim"])
    verdict = DeterminismGate().evaluate(facts)
    assert (verdict.verdict, verdict.reason) == (
        Verdict.FAIL,
        "new tests are flaky, and must pass every run before they land: t.py::random",
    )
    assert verdict.data["new_flaky"] == ["t.py::random"]
    assert verdict.data["flaky"] == ["t.py::random"]
